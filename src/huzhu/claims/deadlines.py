"""Filing deadlines: a benefit's policy says how many days after the event a claim may
be filed; a later claim goes to review only with a reviewer's recorded exception."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from huzhu.claims.models import Claim


def filing_deadline(claim: Claim) -> dt.date | None:
    days = claim.scheme.policy().benefit(claim.benefit).claiming.filing_days
    return claim.event_date + dt.timedelta(days=days) if days else None


def is_late(claim: Claim, day: dt.date) -> bool:
    if claim.settlement_id is not None:
        return False  # found by the union in the bureau's data (免申即享): nobody filed late
    deadline = filing_deadline(claim)
    return deadline is not None and day > deadline


def filed_on(claim: Claim, today: dt.date) -> dt.date:
    """The day the claim counts as filed (申请日期): its first submission for review —
    a claim returned for materials and submitted again was still filed that day — or,
    not yet submitted, ``today`` (it would be filed now). Lateness is judged on this
    day, never on today: a claim filed in time is not "已逾期" a year later."""
    first = (claim.history.filter(action="submit").order_by("at", "pk")
             .values_list("at", flat=True).first())
    return timezone.localtime(first).date() if first is not None else today
