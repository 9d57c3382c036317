"""Caps consumed in order by what was actually paid: explicit cases, engine vs reference.

DESIGN.md section 4: "Caps are applied in event order (event date, then event id) and
count payouts made before the run (prior payouts), so the same events give the same
money in a batch of ten million or one at a time." Each case below runs the engine on
the batch, the engine one event at a time (earlier payouts passed as prior), and the
reference; all three must agree.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from huzhu.rules import evaluate, policy_from_dict
from tests.rules import reference

MEMBERS = [
    {"member_id": "M1", "birth_date": dt.date(1980, 1, 1), "gender": "F",
     "status": "active", "family_id": "F1"},
    {"member_id": "M2", "birth_date": dt.date(1982, 5, 5), "gender": "M",
     "status": "active", "family_id": "F1"},
]  # fmt: skip


def lump_sum_policy(amount: int, caps: list[dict[str, Any]]):
    benefit = {"code": "b", "name": "补助", "formula": {"kind": "lump_sum", "amount": amount},
               "caps": caps}  # fmt: skip
    return policy_from_dict({"code": "caps", "name": "上限", "benefits": [benefit]})


def events(*specs: tuple[str, str, dt.date]) -> list[dict[str, Any]]:
    return [{"event_id": e, "member_id": m, "benefit": "b", "event_date": d} for e, m, d in specs]


def engine(policy, batch, prior=()) -> list[dict[str, Any]]:
    return evaluate(
        policy,
        reference.arrow_table(MEMBERS, reference.MEMBER_TYPES),
        reference.arrow_table(batch, reference.EVENT_TYPES),
        prior=reference.arrow_table(list(prior), reference.PRIOR_TYPES),
    ).to_pylist()


def one_at_a_time(policy, batch) -> list[dict[str, Any]]:
    paid: list[dict[str, Any]] = []
    out = []
    for event in sorted(batch, key=lambda e: (e["event_date"], e["event_id"])):
        (row,) = engine(policy, [event], paid)
        out.append(row)
        paid.append({**event, "paid": row["payable"]})
    return out


def summary(rows) -> list[tuple]:
    return [(r["event_id"], r["payable"], r["status"], r["reason"] or "", r["cap_room"])
            for r in rows]  # fmt: skip


def test_single_year_cap_batch_alone_and_reference_agree() -> None:
    policy = lump_sum_policy(800, [{"per": "member", "period": "year", "amount": 2000}])
    days = [dt.date(2021, 3, 1), dt.date(2021, 3, 2), dt.date(2021, 3, 3), dt.date(2022, 1, 1)]
    batch = events(*[(f"E{i}", "M1", d) for i, d in enumerate(days, start=1)])
    want = summary(reference.evaluate(policy, MEMBERS, batch))
    assert want == [
        ("E1", Decimal("800.00"), "payable", "", Decimal("2000.00")),
        ("E2", Decimal("800.00"), "payable", "", Decimal("1200.00")),
        ("E3", Decimal("400.00"), "capped", "cap_per_year", Decimal("400.00")),
        ("E4", Decimal("800.00"), "payable", "", Decimal("2000.00")),
    ]
    assert summary(engine(policy, batch)) == want
    assert summary(one_at_a_time(policy, batch)) == want


def test_per_event_cap_written_after_the_year_cap_counts_only_what_was_paid() -> None:
    """800 per event, at most 300 an event and 1,000 a year: the member is paid 300, 300,
    300, then the last 100 of the year. Counting the 800s that were never paid against
    the year cap (200 for the second event, nothing after) under-pays by 500."""
    policy = lump_sum_policy(
        800,
        [{"per": "member", "period": "year", "amount": 1000}, {"per": "event", "amount": 300}],
    )
    batch = events(*[(f"E{i}", "M1", dt.date(2021, 3, i)) for i in (1, 2, 3, 4)])
    want = summary(reference.evaluate(policy, MEMBERS, batch))
    assert [w[1] for w in want] == [Decimal("300.00")] * 3 + [Decimal("100.00")]
    assert [w[3] for w in want] == ["cap_per_event"] * 3 + ["cap_per_year"]
    assert summary(one_at_a_time(policy, batch)) == want
    assert summary(engine(policy, batch)) == want


def test_the_cap_named_is_the_one_that_really_bit() -> None:
    """Year cap 500 per member, then 600 per family for life; 500 per event. M1 is paid
    500, M2 is paid the family's last 100; M2's next claim is stopped by the family cap
    (M2 was paid 100 that year, 400 of the year cap is left), not by the year cap."""
    policy = lump_sum_policy(
        500,
        [{"per": "member", "period": "year", "amount": 500},
         {"per": "family", "period": "lifetime", "amount": 600}],
    )  # fmt: skip
    batch = events(("E1", "M1", dt.date(2021, 1, 1)), ("E2", "M2", dt.date(2021, 1, 2)),
                   ("E3", "M2", dt.date(2021, 1, 3)))  # fmt: skip
    want = summary(reference.evaluate(policy, MEMBERS, batch))
    assert want == [
        ("E1", Decimal("500.00"), "payable", "", Decimal("500.00")),
        ("E2", Decimal("100.00"), "capped", "cap_per_family", Decimal("100.00")),
        ("E3", Decimal("0.00"), "capped", "cap_per_family", Decimal("0.00")),
    ]
    assert summary(one_at_a_time(policy, batch)) == want
    assert summary(engine(policy, batch)) == want
