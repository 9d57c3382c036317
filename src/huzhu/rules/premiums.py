"""Premium arithmetic, with no database: premiums for a mid-period join, the
first-enrolment date across renewals, the unit share a scheme requires, and how a
payment is allocated over a notice's enrolments.

The coverage app asks these functions and stores what they answer, so that only
:mod:`huzhu.rules` computes money (Decimal to the fen, half-up, as :mod:`huzhu.rules.money`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable
from decimal import ROUND_CEILING, Decimal
from typing import TypeVar

from huzhu.rules.money import percent as percent_of
from huzhu.rules.money import to_fen

# A renewal within this many days of the last period's end keeps the first-enrolment
# date, so the waiting period is not served again (a lapse longer than this restarts it).
RENEWAL_GRACE_DAYS = 30
K = TypeVar("K", bound=Hashable)


def months_left(period_start: dt.date, period_end: dt.date, joined: dt.date) -> int:
    """Whole months of the period from the month of ``joined`` on (the month counts)."""
    if joined <= period_start:
        return months_between(period_start, period_end)
    return months_between(joined.replace(day=1), period_end)


def months_between(start: dt.date, end: dt.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


def premium_for(full: Decimal, *, period_start: dt.date, period_end: dt.date,
                joined: dt.date, pro_rata: bool) -> Decimal:
    """The premium owed for joining on ``joined``: the full amount, or by months left."""
    if not pro_rata or joined <= period_start:
        return full
    total = months_between(period_start, period_end)
    left = months_left(period_start, period_end, joined)
    return to_fen(full * left / total)


def first_enrolled(coverage_start: dt.date, previous_end: dt.date | None,
                   previous_first: dt.date | None) -> dt.date:
    """Continuous membership keeps its start; a gap over the grace period restarts it."""
    if previous_end is None or previous_first is None:
        return coverage_start
    if (coverage_start - previous_end).days <= RENEWAL_GRACE_DAYS + 1:
        return previous_first
    return coverage_start


def share_problem(*, enrolled: int, staff: int, min_share: Decimal | None,
                  whom: str) -> str | None:
    """The Chinese refusal when a unit's enrolled share would stay below the minimum."""
    if min_share is None or staff == 0:
        return None
    if Decimal(enrolled) >= (min_share * staff):
        return None
    needed = int((min_share * staff).to_integral_value(rounding=ROUND_CEILING))
    have = percent_of(enrolled, staff)  # half-up, as every percent people read
    return (f"本单位{whom} {staff} 人，参保后为 {enrolled} 人（{have}%），"
            f"低于本项目要求的 {percent(min_share)}；至少需要 {needed} 人参保")


def percent(share: Decimal) -> str:
    """0.5 → "50%", 0.875 → "87.5%" (no exponent notation)."""
    return f"{format((share * 100).normalize(), 'f')}%"


def allocate(room: Decimal, unpaid: Iterable[tuple[K, Decimal, dt.date]], *,
             paid_on: dt.date, period_start: dt.date) -> dict[K, dt.date]:
    """How a payment is allocated over a notice's unpaid enrolments.

    ``room`` is the money paid on the notice not yet spent on paid enrolments; ``unpaid``
    is (key, premium, enrolled on) in enrolment order. The money pays them in that order,
    whole premiums only, and stops at the first it cannot cover (a later, smaller premium
    does not jump the queue). Returns each paid key with the day its coverage starts:
    the payment day, but not before the enrolment or the period.
    """
    starts: dict[K, dt.date] = {}
    for key, premium, enrolled_on in unpaid:
        if premium > room:
            break
        room -= premium
        starts[key] = max(paid_on, enrolled_on, period_start)
    return starts


def notice_state(amount_due: Decimal, amount_paid: Decimal) -> str:
    """A premium notice's state by its amounts: ``paid`` (in full), ``partial`` or
    ``unpaid`` (the values of ``PremiumNotice.State``)."""
    if amount_paid >= amount_due:
        return "paid"
    return "partial" if amount_paid > 0 else "unpaid"
