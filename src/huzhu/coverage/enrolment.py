"""Enrolment (参保): a unit's members for a period, renewals, withdrawals.

One call enrols one unit (a whole unit, or a selection of its members): the notice, the
share a scheme requires and the ledger are all per unit. A city-wide enrolment is a
loop over units with bulk inserts, not a save per member
(:mod:`huzhu.coverage.bulk_enrolment`); the rules both share are in
:mod:`huzhu.coverage.joining`. Every refusal raises
:class:`~huzhu.coverage.refusals.CoverageRefused` with a Chinese message, is written to
the audit log and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.coverage import ledger
from huzhu.coverage.bulk_enrolment import BulkOutcome, enrol_units
from huzhu.coverage.joining import (
    check_period,
    eligible_statuses,
    joining_premium,
    notice_due_date,
    notice_number,
    notice_state,
    previous_enrolments,
    unit_problem,
)
from huzhu.coverage.models import Account, Enrolment, LedgerEntry, Period, PremiumNotice, Scheme
from huzhu.coverage.refusals import refusals_audited, refuse
from huzhu.lib.money import MoneySum
from huzhu.members.models import Member
from huzhu.orgs.models import Unit, User
from huzhu.rules import premiums as rules
from huzhu.rules.money import yuan

BATCH = 2000


@dataclass
class EnrolOutcome:
    unit: Unit
    enrolled: int = 0
    already: int = 0  # members of the unit enrolled before
    ineligible: int = 0  # retired / left members the scheme does not take
    premium: Decimal = Decimal("0.00")
    mid_period: bool = False

    def summary(self) -> str:
        text = (f"单位“{self.unit.name}”新登记参保 {self.enrolled} 人，"
                f"应缴 {yuan(self.premium)} 元")
        if self.already:
            text += f"；{self.already} 人此前已参保"
        if self.ineligible:
            text += f"；{self.ineligible} 人因会员状态不能参保"
        if self.mid_period:
            text += "（期中加入）"
        return text


@refusals_audited
def enrol_unit(user: User, period: Period, unit: Unit, *, member_ids: list[int] | None = None,
               on: dt.date | None = None) -> EnrolOutcome:
    """Enrol ``unit``'s members (all eligible ones, or ``member_ids``) in ``period``."""
    day = on or timezone.localdate()
    scheme = period.scheme
    mid_period = _check_period(user, period, unit, day)
    candidates = _candidates(user, scheme, period, unit, member_ids)
    outcome = EnrolOutcome(unit, already=candidates.already, ineligible=candidates.ineligible,
                           mid_period=mid_period)
    if not candidates.members:
        return outcome
    _check_share(user, scheme, period, unit, candidates.members)
    rows = _rows(user, period, unit, candidates.members, day)
    try:
        with transaction.atomic():
            notice = _notice_for(period, unit, day)
            for row in rows:
                row.notice = notice
            Enrolment.objects.bulk_create(rows, batch_size=BATCH)
            outcome.enrolled = len(rows)
            outcome.premium = sum((r.premium for r in rows), Decimal("0.00"))
            _grow_notice(user, notice, len(rows), outcome.premium)
            log.record(user, AuditEntry.Action.ENROLLED, unit,
                       summary=f"{period}：{outcome.summary()}",
                       changes={"period": str(period), "members": len(rows),
                                "premium": str(outcome.premium)})
    except IntegrityError:
        raise refuse(user, "部分会员刚刚已由他人登记参保，请刷新页面后重试", unit) from None
    return outcome


def _check_period(user: User, period: Period, unit: Unit, day: dt.date) -> bool:
    """Refuse what the period or the unit does not allow; True for a mid-period join."""
    mid_period = check_period(user, period, day, unit)
    problem = unit_problem(user, period.scheme, unit)
    if problem:
        raise refuse(user, problem, unit if "管辖范围" not in problem else None)
    return mid_period


@dataclass
class _Candidates:
    members: list[Member]
    already: int
    ineligible: int


def _candidates(user: User, scheme: Scheme, period: Period, unit: Unit,
                member_ids: list[int] | None) -> _Candidates:
    qs = Member.objects.filter(unit=unit)  # the unit is in scope: checked before
    enrolled = set(Enrolment.objects.filter(period=period, member__unit=unit)
                   .values_list("member_id", flat=True))
    allowed = set(eligible_statuses(scheme))
    if member_ids is None:
        members = list(qs.only("id", "status", "gender", "name").order_by("id"))
        fresh = [m for m in members if m.id not in enrolled]
        ok = [m for m in fresh if m.status in allowed]
        return _Candidates(ok, len(members) - len(fresh), len(fresh) - len(ok))
    wanted = set(member_ids)
    members = list(qs.filter(pk__in=wanted).only("id", "status", "gender", "name"))
    if len(members) != len(wanted):
        raise refuse(user, "所选会员中有不属于该单位的人员", unit)
    twice = [m.name for m in members if m.id in enrolled]
    if twice:
        raise refuse(user, f"{'、'.join(twice[:10])}{'等' if len(twice) > 10 else ''}"
                           f" {len(twice)} 人已参加{period}，不能重复参保", unit)
    barred = [m for m in members if m.status not in allowed]
    if barred:
        labels = "、".join(f"{m.name}（{m.get_status_display()}）" for m in barred[:10])
        raise refuse(user, f"{labels} 的会员状态不能参加“{scheme.name}”", unit)
    return _Candidates(sorted(members, key=lambda m: m.id), 0, 0)


def _check_share(user: User, scheme: Scheme, period: Period, unit: Unit,
                 new: list[Member]) -> None:
    if scheme.min_share is None:
        return
    female = scheme.share_of == Scheme.ShareOf.FEMALE
    staff = Member.objects.filter(unit=unit, status=Member.Status.ACTIVE)
    enrolled = Enrolment.objects.filter(period=period, unit=unit,
                                        state=Enrolment.State.ACTIVE,
                                        member__status=Member.Status.ACTIVE)
    if female:
        staff = staff.filter(gender=Member.Gender.FEMALE)
        enrolled = enrolled.filter(member__gender=Member.Gender.FEMALE)
    adding = [m for m in new if m.status == Member.Status.ACTIVE
              and (not female or m.gender == Member.Gender.FEMALE)]
    problem = rules.share_problem(enrolled=enrolled.count() + len(adding), staff=staff.count(),
                                  min_share=scheme.min_share,
                                  whom=Scheme.ShareOf(scheme.share_of).label)
    if problem:
        raise refuse(user, problem, unit)


def _rows(user: User, period: Period, unit: Unit, members: list[Member],
          day: dt.date) -> list[Enrolment]:
    scheme = period.scheme
    joined, premium = joining_premium(period, day)
    free = premium == 0
    starts_now = free or scheme.coverage_start == Scheme.CoverageStart.ON_ENROLMENT
    history = previous_enrolments(scheme, period, [m.id for m in members])
    rows = []
    for m in members:
        previous_end, previous_first = history.get(m.id, (None, None))
        rows.append(Enrolment(
            member_id=m.id, period=period, unit=unit, enrolled_on=day,
            first_enrolled=rules.first_enrolled(joined, previous_end, previous_first),
            coverage_from=joined if starts_now else None, coverage_to=period.end,
            premium=premium, paid_on=day if free else None, created_by=user))
    return rows


def _notice_for(period: Period, unit: Unit, day: dt.date) -> PremiumNotice:
    """The unit's notice for ``period``; a new one is issued on the enrolment ``day``."""
    notice, _ = PremiumNotice.objects.get_or_create(
        period=period, unit=unit,
        defaults={"number": notice_number(period, unit),
                  "due_date": notice_due_date(period, day)})
    return PremiumNotice.objects.select_for_update().get(pk=notice.pk)


def _grow_notice(user: User, notice: PremiumNotice, members: int, amount: Decimal) -> None:
    notice.members += members
    notice.amount_due += amount
    notice.state = notice_state(notice)
    notice.save(update_fields=["members", "amount_due", "state", "updated_at"])
    if amount > 0:
        ledger.post(scheme=notice.period.scheme, period=notice.period,
                    kind=LedgerEntry.Kind.PREMIUM_DUE, debit=Account.RECEIVABLE,
                    credit=Account.PREMIUM_INCOME, amount=amount,
                    reference=f"notice:{notice.pk}:{uuid.uuid4().hex[:16]}",
                    memo=f"{notice.unit.name} {members} 人参保", user=user)


# ---------------------------------------------------------------- renewal and withdrawal

@refusals_audited
def renew(user: User, previous: Period, period: Period, units: list[Unit] | None = None,
          on: dt.date | None = None) -> BulkOutcome:
    """Enrol last period's members again (those still eligible), all units at once;
    returns the bulk outcome, whose ``refused`` lists units with the reason."""
    if previous.scheme_id != period.scheme_id or previous.start >= period.start:
        raise refuse(user, "只能从同一项目的上一个互助期续保")
    kept = (Enrolment.objects.filter(period=previous, state=Enrolment.State.ACTIVE)
            .exclude(member__enrolments__period=period))
    by_unit: dict[int, list[int]] = {}
    for unit_id, member_id in kept.values_list("member__unit_id", "member_id"):
        by_unit.setdefault(unit_id, []).append(member_id)
    wanted = {u.pk for u in units} if units is not None else set(by_unit)
    targets = Unit.objects.select_related("union").filter(pk__in=wanted & set(by_unit))
    return enrol_units(user, period, targets.order_by("id").iterator(chunk_size=500), on=on,
                       member_ids=by_unit)


@refusals_audited
def withdraw(user: User, enrolment: Enrolment, *, on: dt.date | None = None,
             reason: str = "") -> Enrolment:
    """End an enrolment. Unpaid: the premium comes off the unit's notice. Paid: coverage
    ends on ``on`` and the premium stays (mutual-aid premiums are not refunded)."""
    day = on or timezone.localdate()
    with transaction.atomic():
        e = (Enrolment.objects.select_for_update().select_related("period__scheme", "member",
                                                                  "unit")
             .get(pk=enrolment.pk))
        if not user.has_perm("orgs.write"):
            raise refuse(user, "您的角色只能查看，不能办理退保", e.member)
        if e.state == Enrolment.State.WITHDRAWN:
            return e
        if e.period.closed:
            raise refuse(user, f"{e.period}已结束，不能再办理退保", e.member)
        if not e.period.start <= day <= e.period.end:
            raise refuse(user, f"退保日期 {day:%Y-%m-%d} 不在{e.period}内"
                               f"（{e.period.start:%Y-%m-%d} 至 {e.period.end:%Y-%m-%d}）",
                         e.member)
        if day > timezone.localdate():
            raise refuse(user, f"退保日期 {day:%Y-%m-%d} 晚于今天：退保只能登记已发生的日期",
                         e.member)
        e.state, e.withdrawn_on = Enrolment.State.WITHDRAWN, day
        if not e.paid:
            _shrink_notice(user, e)
        # Cover ends on the withdrawal day (never before it began), and a withdrawal
        # never lengthens it: paid or not, the end can only come earlier.
        e.coverage_to = min(e.coverage_to, max(day, e.coverage_from or e.period.start))
        e.save(update_fields=["state", "withdrawn_on", "coverage_to"])
        log.record(user, AuditEntry.Action.WITHDRAWN, e.member,
                   summary=f"{e.member.name}退出{e.period}" + (f"：{reason}" if reason else ""),
                   changes={"period": str(e.period), "paid": e.paid, "reason": reason})
    return e


def _shrink_notice(user: User, e: Enrolment) -> None:
    notice = PremiumNotice.objects.select_for_update().get(pk=e.notice_id)
    if notice.amount_due - e.premium < notice.amount_paid:
        raise refuse(user, f"单位“{e.unit.name}”已缴金额超过退保后的应缴金额，"
                           "请由财务先核对缴费后再办理退保", e.member)
    notice.members -= 1
    notice.amount_due -= e.premium
    notice.state = notice_state(notice)
    notice.save(update_fields=["members", "amount_due", "state", "updated_at"])
    if e.premium > 0:
        ledger.post(scheme=e.period.scheme, period=e.period, kind=LedgerEntry.Kind.PREMIUM_DUE,
                    debit=Account.PREMIUM_INCOME, credit=Account.RECEIVABLE,
                    amount=e.premium, reference=f"withdraw:{e.pk}",
                    memo=f"{e.member.name}退保（未缴费）", user=user)


def unit_counts(period: Period, unit_ids: list[int]) -> dict[int, dict]:
    """Enrolled (active) members per unit, for the period's unit list."""
    rows = (Enrolment.objects.filter(period=period, unit_id__in=unit_ids)
            .values("unit_id").annotate(
                enrolled=Count("id", filter=Q(state=Enrolment.State.ACTIVE)),
                paid=Count("id", filter=Q(state=Enrolment.State.ACTIVE, paid_on__isnull=False)),
                premium=MoneySum("premium", filter=Q(state=Enrolment.State.ACTIVE))))
    return {r["unit_id"]: r for r in rows}
