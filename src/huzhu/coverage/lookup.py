"""Which schemes cover a member on a day, paid or not, and when their waiting ends."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from huzhu.coverage.models import Enrolment, Period, Scheme
from huzhu.members.models import Member
from huzhu.members.registration import age_on


@dataclass
class Waiting:
    benefit: str
    ends: dt.date
    reduced_until: dt.date | None = None


@dataclass
class Cover:
    scheme: Scheme
    period: Period | None
    enrolment: Enrolment | None
    covered: bool
    note: str
    waiting: list[Waiting] = field(default_factory=list)


def schemes_over(member: Member) -> list[Scheme]:
    """Schemes run by the member's union or one above it."""
    ids = [int(p) for p in member.union.path.strip("/").split("/") if p]
    return list(Scheme.objects.filter(union_id__in=ids).select_related("union")
                .order_by("union__path", "code"))


def member_coverage(member: Member, day: dt.date) -> list[Cover]:
    covers = []
    for scheme in schemes_over(member):
        period = scheme.periods.filter(start__lte=day, end__gte=day).first()
        if scheme.needs_enrolment:
            covers.append(_premium_cover(member, scheme, period, day))
        else:
            covers.append(_free_cover(member, scheme, period, day))
    return covers


def _premium_cover(member: Member, scheme: Scheme, period: Period | None,
                   day: dt.date) -> Cover:
    if period is None:
        return Cover(scheme, None, None, False, "当前没有进行中的互助期")
    e = Enrolment.objects.filter(member=member, period=period).first()
    if e is None:
        return Cover(scheme, period, None, False, f"未参加{period.name}")
    if e.state == Enrolment.State.WITHDRAWN and (e.coverage_from is None
                                                  or e.coverage_to < day):
        return Cover(scheme, period, e, False, f"已于 {e.withdrawn_on} 退保")
    if e.coverage_from is None:
        return Cover(scheme, period, e, False, "已参保，待单位缴费后生效")
    if e.coverage_from > day:
        return Cover(scheme, period, e, False, f"{e.coverage_from} 起生效")
    return Cover(scheme, period, e, True, f"保障中（{e.coverage_from} 至 {e.coverage_to}）",
                 waiting_ends(scheme, e.first_enrolled))


def waiting_ends(scheme: Scheme, first: dt.date) -> list[Waiting]:
    """Each benefit's waiting period from the first-enrolment date (policy's numbers)."""
    out = []
    for b in scheme.policy().benefits:
        w = b.eligibility.waiting
        if w is None:
            continue
        reduced = first + dt.timedelta(days=w.reduced_days) if w.reduced_days else None
        out.append(Waiting(b.name, first + dt.timedelta(days=w.no_pay_days), reduced))
    return out


def _free_cover(member: Member, scheme: Scheme, period: Period | None, day: dt.date) -> Cover:
    reasons = []
    for b in scheme.policy().benefits:
        e = b.eligibility
        ok = (not e.status or member.status in e.status) and (
            e.age is None or ((e.age.min is None or age_on(member.birth_date, day) >= e.age.min)
            and (e.age.max is None or age_on(member.birth_date, day) <= e.age.max)))
        if ok:
            return Cover(scheme, period, None, True, "免费补贴：无需参保，符合条件即享有")
        reasons.append(b.name)
    return Cover(scheme, period, None, False,
                 "免费补贴：按会员状态或年龄，目前不符合各项补贴的条件")
