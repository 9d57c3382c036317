"""The member's cover in words: each scheme over them today, its period, and for each
benefit what it pays (the scheme page's own sentences, :mod:`huzhu.rules.summary`) with
how much of each of the member's own caps their given claims have used and what is left.

Used is the exact sum (``MoneySum``) of the member's given claims (approved, in a payout
batch or paid: ``Claim.GIVEN``) under the benefit within the cap's span: the period for
a per-period cap, the calendar year for a yearly one, all time for a lifetime one; a cap
on the number of payments counts them instead. Caps per event, family or relative are
stated in words only: what a family or relative has used is not the member's to see.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q

from huzhu.claims.models import Claim
from huzhu.coverage.lookup import Cover, member_coverage
from huzhu.lib.money import MoneySum
from huzhu.members.models import Member
from huzhu.rules.money import to_fen
from huzhu.rules.schema import Benefit, Cap
from huzhu.rules.summary import BenefitText, cap_text, describe_benefit


@dataclass
class CapUse:
    text: str  # the cap in words (每人每个互助期最多 50,000.00 元)
    amount: Decimal | None = None  # a money cap's limit
    used: Decimal | None = None
    left: Decimal | None = None
    times: int | None = None  # a count cap's limit
    times_used: int | None = None
    times_left: int | None = None


@dataclass
class BenefitCover:
    text: BenefitText
    caps: list[CapUse] = field(default_factory=list)


@dataclass
class SchemeCover:
    cover: Cover
    benefits: list[BenefitCover] = field(default_factory=list)


def _span(cap: Cap, cover: Cover, today: dt.date) -> Q | None:
    """The claims a member cap counts, by its span; None: not the member's own cap."""
    if cap.per != "member":
        return None
    if cap.period == "period":
        return Q(period=cover.period) if cover.period is not None else Q(pk__in=[])
    if cap.period == "year":
        return Q(event_date__year=today.year)
    return Q()  # lifetime


def _cap_use(member: Member, cover: Cover, benefit: Benefit, cap: Cap,
             today: dt.date) -> CapUse:
    use = CapUse(cap_text(cap))
    span = _span(cap, cover, today)
    if span is None or (cap.amount is None and cap.times is None):
        return use
    given = Claim.objects.filter(span, member=member, scheme=cover.scheme,
                                 benefit=benefit.code, state__in=Claim.GIVEN)
    totals = given.aggregate(total=MoneySum("final"), n=Count("pk"))
    if cap.amount is not None:
        use.amount = to_fen(cap.amount)
        use.used = to_fen(totals["total"] or 0)
        use.left = max(use.amount - use.used, Decimal("0.00"))
    else:
        use.times, use.times_used = cap.times, totals["n"]
        use.times_left = max(cap.times - totals["n"], 0) if cap.times is not None else None
    return use


def member_cover(member: Member, today: dt.date) -> list[SchemeCover]:
    """Each scheme over the member today, with its benefits for a covered one."""
    found = []
    for cover in member_coverage(member, today):
        entry = SchemeCover(cover)
        if cover.covered:
            policy = cover.scheme.policy()
            names = {b.code: b.name for b in policy.benefits}
            for benefit in policy.benefits:
                entry.benefits.append(BenefitCover(
                    describe_benefit(benefit, names),
                    [_cap_use(member, cover, benefit, c, today) for c in benefit.caps]))
        found.append(entry)
    return found
