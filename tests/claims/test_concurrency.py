"""Caps hold under concurrency: two reviewers approving claims of one member at the same
moment never pay past the member's yearly cap (PostgreSQL, real threads)."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from decimal import Decimal

import pytest
from django.db import connections
from django.db.models import Sum

from huzhu.claims.models import Claim
from huzhu.claims.workflow import ClaimRefused, apply
from huzhu.members.idcard import make_id_number
from huzhu.members.models import Member

RACES = int(os.environ.get("HUZHU_CAP_RACES", "1000"))
CAP = Decimal("50000.00")


def _members(units, n: int) -> list[Member]:
    rows = []
    for i in range(n):
        m = Member(name=f"竞{i}", unit=units["a1"], union=units["a1"].union,
                   birth_date=dt.date(1980, 1, 1), gender="M", status="active")
        m.set_id_number(make_id_number("220102", dt.date(1980, 1, 1) + dt.timedelta(days=i // 900),
                                       (i % 900) * 1 + 1))
        rows.append(m)
    return Member.objects.bulk_create(rows, batch_size=1000)


def _ready_claims(members, scheme, period, filer, first) -> list[tuple[int, int]]:
    """Two claims per member, each worth 40,000 alone, both waiting for the second review."""
    claims = []
    for m in members:
        for day in (10, 20):
            claims.append(Claim(
                number=f"R{m.pk}-{day}", member=m, scheme=scheme, period=period,
                benefit="hospital", benefit_name="住院医疗补贴", state="second_review",
                event_date=dt.date(2026, 4, day), admit_date=dt.date(2026, 4, day - 5),
                out_of_pocket=Decimal("400000.00"), diagnosis="I21.9",
                computed=Decimal("40000.00"), filed_by=filer, first_reviewed_by=first))
    made = Claim.objects.bulk_create(claims, batch_size=1000)
    return [(made[i].pk, made[i + 1].pk) for i in range(0, len(made), 2)]


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_never_exceed_a_cap(users, units, changchun, today, monkeypatch):
    from huzhu.claims import computation

    # Widen the window between reading what was already approved and writing this
    # approval, so that without the member lock the two reviewers would both see nothing.
    read_prior = computation.prior_rows

    def slow_prior(claim, *args):
        rows = read_prior(claim, *args)
        time.sleep(0.005)
        return rows

    monkeypatch.setattr(computation, "prior_rows", slow_prior)
    period = changchun.periods.get()
    members = _members(units, RACES)
    pairs = _ready_claims(members, changchun, period, users["clerk_a1"],
                          users["reviewer_da"])
    reviewers = [users["admin_city"], users["auditor_city"]]
    reviewers[1].role = "reviewer"
    reviewers[1].save()
    outcomes: list[str] = []
    barrier = threading.Barrier(2)  # both reviewers start each race together

    def reviewer(user, side: int) -> None:
        # One long-lived thread per reviewer: its database connection and the engine's
        # per-thread plan stay warm across the races.
        try:
            for pair in pairs:
                barrier.wait()
                try:
                    apply(user, pair[side], "approve")
                    outcomes.append("approved")
                except ClaimRefused:
                    outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=reviewer, args=(reviewers[i], i)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    totals = (Claim.objects.filter(state="approved").values("member_id")
              .annotate(total=Sum("final")).values_list("total", flat=True))
    overruns = [t for t in totals if t > CAP]
    assert len(outcomes) == 2 * RACES
    assert overruns == []
    # every member got exactly the cap: one 40,000 and one capped to 10,000
    assert sorted(set(totals)) == [CAP]
    assert Claim.objects.filter(state="approved", final=Decimal("10000.00")).count() == RACES
