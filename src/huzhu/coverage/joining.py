"""The rules of joining a period, shared by one unit's enrolment
(:func:`huzhu.coverage.enrolment.enrol_unit`) and many units' at once
(:func:`huzhu.coverage.bulk_enrolment.enrol_units`): who may enrol whom and when, what
joining costs, the earlier coverage a renewal carries over, and the unit's notice.

Both enrolment modules import this one and not each other's helpers, so the one-unit
path and the set-based path cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from huzhu.coverage.models import Enrolment, Period, PremiumNotice, Scheme
from huzhu.coverage.refusals import refuse
from huzhu.members.models import Member
from huzhu.orgs.models import Unit, User
from huzhu.orgs.scope import union_path
from huzhu.rules import premiums as rules

BATCH_IDS = 900  # ids per IN list: SQLite bounds the parameters of one statement


def eligible_statuses(scheme: Scheme) -> list[str]:
    """The member statuses the scheme takes: active, and retired if it allows them."""
    statuses: list[str] = [Member.Status.ACTIVE]
    if scheme.allow_retired:
        statuses.append(Member.Status.RETIRED)
    return statuses


def covers_unit(scheme: Scheme, unit: Unit) -> bool:
    """The unit lies in the subtree of the scheme's union."""
    return unit.union.path.startswith(scheme.union.path)


def check_period(user: User, period: Period, day: dt.date, obj: object = None) -> bool:
    """The period-level rules of enrolment (role, scheme kind, state, window); True for a
    mid-period join. Raises :class:`~huzhu.coverage.refusals.CoverageRefused`."""
    scheme = period.scheme
    if not user.has_perm("orgs.write"):
        raise refuse(user, "您的角色只能查看，不能办理参保", obj)
    if not scheme.needs_enrolment:
        raise refuse(user, f"“{scheme.name}”是免费补贴项目，无需参保：主办工会范围内符合条件的"
                           "会员自动享有保障", obj)
    if period.closed:
        raise refuse(user, f"{period}已结束，不能再办理参保", obj)
    if period.enrol_from <= day <= period.enrol_until:
        return False
    window = f"{period.enrol_from:%Y-%m-%d} 至 {period.enrol_until:%Y-%m-%d}"
    if period.start <= day <= period.end and day > period.enrol_until:
        if scheme.mid_period == Scheme.MidPeriod.REFUSE:
            raise refuse(user, f"{period}的参保时间为 {window}，本项目不接受期中加入", obj)
        return True
    raise refuse(user, f"现在不在{period}的参保时间内（{window}）", obj)


def unit_problem(user: User, scheme: Scheme, unit: Unit) -> str | None:
    """Why ``user`` may not enrol ``unit``'s members in ``scheme`` (None: they may).
    Decided on the unit's union path, with no query."""
    prefix = union_path(user)
    if prefix is not None and not unit.union.path.startswith(prefix):
        return "该单位不在您的管辖范围内"
    if not covers_unit(scheme, unit):
        return (f"单位“{unit.name}”不在“{scheme.name}”的保障范围内"
                f"（{scheme.union.name}及其下级工会）")
    return None


def joining_premium(period: Period, day: dt.date) -> tuple[dt.date, Decimal]:
    """The coverage start and the premium of a member joining on ``day``."""
    joined = max(day, period.start)
    scheme = period.scheme
    return joined, rules.premium_for(
        period.premium, period_start=period.start, period_end=period.end, joined=joined,
        pro_rata=scheme.mid_period == Scheme.MidPeriod.PRO_RATA and day > period.enrol_until)


def previous_enrolments(scheme: Scheme, period: Period,
                        member_ids: list[int]) -> dict[int, tuple[dt.date, dt.date]]:
    """Each member's latest earlier enrolment in the scheme: (coverage end, first date)."""
    found: dict[int, tuple[dt.date, dt.date]] = {}
    for i in range(0, len(member_ids), BATCH_IDS):
        rows = (Enrolment.objects.filter(member_id__in=member_ids[i:i + BATCH_IDS],
                                         period__scheme=scheme, period__start__lt=period.start)
                .exclude(coverage_from__isnull=True)
                .order_by("member_id", "period__start")
                .values_list("member_id", "coverage_to", "first_enrolled"))
        for member_id, end, first in rows:
            found[member_id] = (end, first)  # ordered by start: the latest wins
    return found


def notice_number(period: Period, unit: Unit) -> str:
    """The premium notice's number: year, scheme and unit (one notice per unit and period)."""
    return f"{period.start:%Y}{period.scheme_id:03d}{unit.pk:07d}"


# A notice gives the unit at least this many days to pay: the period's enrolment deadline,
# or, for a notice issued (or a reminder sent) later than that allows, 15 days from then.
# A notice or an SMS never asks for payment by a date already past.
PAYMENT_DAYS = 15


def notice_due_date(period: Period, issued: dt.date) -> dt.date:
    """缴费截止 of a notice issued on ``issued``: the enrolment deadline, but never
    sooner than :data:`PAYMENT_DAYS` days after issue."""
    return max(period.enrol_until, issued + dt.timedelta(days=PAYMENT_DAYS))


def notice_state(notice: PremiumNotice) -> str:
    """The notice's state by what it owes and what was paid."""
    return PremiumNotice.State(rules.notice_state(notice.amount_due, notice.amount_paid))
