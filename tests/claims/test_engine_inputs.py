"""huzhu export engine with claims: events and prior payouts that huzhu calc reads back,
giving the same money the claims were approved for."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow.parquet as pq

from huzhu.claims.models import Claim
from huzhu.claims.workflow import apply
from huzhu.cli import main

D = dt.date


def test_calc_on_the_exported_history_gives_the_approved_amounts(users, staff, file_hospital,
                                                                 tmp_path, today):
    first = file_hospital(staff["m1"], out_of_pocket="400000.00", day=D(2026, 4, 1))
    second = file_hospital(staff["m1"], out_of_pocket="12000.00", day=D(2026, 4, 10))
    for c in (first, second):
        apply(users["clerk_a1"], c.pk, "submit")
        apply(users["reviewer_da"], c.pk, "first_pass")
        apply(users["admin_city"], c.pk, "approve")
    Claim.objects.filter(pk=first.pk).update(state="paid")
    assert main(["export", "engine", "--scheme", "changchun-2023", "--out",
                 str(tmp_path)]) == 0
    events = pq.read_table(tmp_path / "events.parquet").to_pylist()
    prior = pq.read_table(tmp_path / "prior.parquet").to_pylist()
    assert {e["claim_id"] for e in events} == {first.pk, second.pk}
    assert [p["paid"] for p in prior] == [Decimal("40000.00")]
    # calc over both events from scratch: the same money as the two approvals
    only_events = tmp_path / "events-only.parquet"
    table = pq.read_table(tmp_path / "events.parquet").drop_columns(
        ["claim_id", "state", "computed", "final"])
    pq.write_table(table, only_events)
    out = tmp_path / "out.parquet"
    assert main(["calc", "--policy", "changchun-2023", "--members",
                 str(tmp_path / "members.parquet"), "--events", str(only_events),
                 "--out", str(out)]) == 0
    payable = {r["event_id"]: r["payable"] for r in pq.read_table(out).to_pylist()}
    finals = dict(Claim.objects.values_list("number", "final"))
    assert payable == finals
