"""Helpers for the batch tests: a feed written, imported and run under a scheme."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from huzhu.coverage.models import Enrolment, Period
from huzhu.feeds.importing import import_feed
from huzhu.feeds.models.proactive import StayOutcome
from huzhu.feeds.proactive import run as batch
from tests.feeds.conftest import stay, write_csv

D = dt.date


def money(oop: str, **kw) -> dict:
    """Amounts that add up around an out-of-pocket amount."""
    cash = Decimal(oop)
    total = cash * 2 + Decimal("1000.00")
    return {"total_cost": f"{total:.2f}", "fund_paid": f"{total - cash - 1000:.2f}",
            "account_paid": "1000.00", "out_of_pocket": f"{cash:.2f}", "self_pay": "",
            "self_expense": "", **kw}


def member_stay(member, oop: str = "7000.00", **kw) -> dict:
    return stay(member.id_number, name=member.name, **money(oop), **kw)


def run_feed(path: Path, scheme, *, user=None, engine: str = "duckdb", **kw):
    # The batch tests' feeds keep one bad row on purpose: it must come out as 'invalid'.
    outcome = import_feed(path, user=user, valid_only=True)
    assert outcome.imported, outcome.summary()
    run = batch.start_run(outcome.feed, scheme, user=user, engine=engine)
    return batch.execute(run, **kw)


def feed_file(feed_dir: Path, rows: list[dict], name: str = "feed.csv") -> Path:
    return write_csv(feed_dir / name, rows)


def outcomes(run) -> list[tuple]:
    return list(StayOutcome.objects.filter(run=run).order_by("row", "benefit").values_list(
        "row", "benefit", "outcome", "amount", "reason"))


FIRST_ENROLLED = D(2025, 1, 1)


def enrol(member, period: Period, first: dt.date = FIRST_ENROLLED) -> Enrolment:
    return Enrolment.objects.create(
        member=member, period=period, unit=member.unit, enrolled_on=first,
        first_enrolled=first, coverage_from=period.start, coverage_to=period.end,
        premium=period.premium, paid_on=first, state="active")
