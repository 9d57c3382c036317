"""The engine's Python API at its edges: evaluate / evaluate_claim, prior payouts, column
sets, input refusals. Per-policy hand-worked cases live in src/huzhu/policies/cases/."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pyarrow as pa
import pytest

from huzhu.rules import InputError, evaluate, evaluate_claim, load_policy

CC = load_policy("changchun-2023")
MEMBER = {"member_id": "m1", "birth_date": "1980-05-01", "gender": "M", "status": "active"}


def hospital(amount: str, date: str = "2023-06-01", eid: str = "e1") -> dict:
    return {"event_id": eid, "member_id": "m1", "benefit": "hospital", "event_date": date,
            "out_of_pocket": amount}


def _batch(policy, members, events, prior=None, enrolments=None):
    def table(rows):
        return pa.Table.from_pylist(rows) if rows else None
    out = evaluate(policy, table(members), table(events), table(enrolments) if enrolments
                   else None, table(prior) if prior else None)
    return {r["event_id"]: r for r in out.to_pylist()}


def test_batch_equals_one_at_a_time_with_prior():
    events = [hospital("400000", "2023-03-01", "a"), hospital("200000", "2023-04-01", "b")]
    batch = _batch(CC, [MEMBER], events)
    prior = [{**events[0], "paid": str(batch["a"]["payable"])}]
    single = evaluate_claim(CC, MEMBER, events[1], prior=prior)
    assert single["payable"] == batch["b"]["payable"]


def test_unknown_benefit_and_float_money_are_refused():
    with pytest.raises(InputError):
        evaluate_claim(CC, MEMBER, {**hospital("8000"), "benefit": "dental"})
    with pytest.raises(InputError):
        evaluate_claim(CC, MEMBER, {**hospital("8000"), "out_of_pocket": 8000.5})


def test_output_is_sorted_and_unknown_member_reported():
    events = [hospital("8000", "2023-06-02", "b"), hospital("8000", "2023-06-01", "z"),
              {**hospital("8000", "2023-06-01", "a"), "member_id": "ghost"}]
    out = evaluate(CC, pa.Table.from_pylist([MEMBER]), pa.Table.from_pylist(events))
    assert out.column("event_id").to_pylist() == ["a", "z", "b"]
    assert out.column("reason").to_pylist()[0] == "unknown_member"
    assert str(out.schema.field("payable").type) == "decimal128(18, 2)"


def test_dates_given_as_date_objects():
    row = evaluate_claim(CC, {**MEMBER, "birth_date": dt.date(1980, 5, 1)},
                         {**hospital("8000"), "event_date": dt.date(2023, 6, 1)})
    assert row["payable"] == D("120.00")


def _caps_policy(caps: list[dict]):
    from huzhu.rules import policy_from_dict

    return policy_from_dict({"code": "order", "name": "上限顺序", "benefits": [
        {"code": "b", "name": "补助", "formula": {"kind": "lump_sum", "amount": 800},
         "caps": caps}]})


def test_caps_apply_in_nesting_order_not_written_order():
    """Per event first, then member-year, then family for life, whatever the file says;
    the named cap is the first written one whose room is the smallest."""
    caps = [
        {"per": "family", "period": "lifetime", "amount": 1500},
        {"per": "member", "period": "year", "amount": 1000},
        {"per": "event", "amount": 300},
    ]
    people = [{"member_id": m, "birth_date": "1980-01-01", "gender": "M",
               "status": "active", "family_id": "f"} for m in ("m1", "m2")]
    events = [{"event_id": f"e{i}", "member_id": m, "benefit": "b",
               "event_date": f"2021-03-0{i}"}
              for i, m in enumerate(["m1", "m1", "m1", "m1", "m2", "m2", "m2"], start=1)]
    results = []
    for order in (caps, caps[::-1], [caps[1], caps[2], caps[0]]):
        rows = _batch(_caps_policy(order), people, events)
        results.append([(rows[e]["payable"], rows[e]["reason"], rows[e]["cap_room"])
                        for e in sorted(rows)])
    money = [[p for p, _, _ in r] for r in results]
    assert money[0] == money[1] == money[2] == [
        D("300.00"), D("300.00"), D("300.00"), D("100.00"), D("300.00"), D("200.00"),
        D("0.00")]
    # e4: the member's year has 100 left (family 600); e6: the family has 200 left;
    # e7: the family is used up while m2 still has 500 of the year.
    assert results[0][3] == (D("100.00"), "cap_per_year", D("100.00"))
    assert results[0][5] == (D("200.00"), "cap_per_family", D("200.00"))
    assert results[0][6] == (D("0.00"), "cap_per_family", D("0.00"))


GD = load_policy("guangdong-covid-2020")
NS = load_policy("ningshan-2024")
DOCTOR = {**MEMBER, "occupation": "medical"}
RELATIVE = {"event_id": "r", "member_id": "m1", "benefit": "covid_relative",
            "event_date": "2020-03-01", "relative_id": "p1", "relation": "parent",
            "co_resident": True}


def test_one_claim_sees_its_prerequisite_among_prior_payouts():
    """The claim path compiles a plan of one benefit; a benefit that requires another
    still finds that one's event among the prior rows, whatever it paid."""
    assert evaluate_claim(GD, DOCTOR, RELATIVE)["reason"] == "prerequisite_missing"
    staff = {"event_id": "s", "member_id": "m1", "benefit": "covid_staff",
             "event_date": "2020-03-01", "on_duty": False, "paid": "0.00"}
    row = evaluate_claim(GD, DOCTOR, RELATIVE, prior=[staff])
    assert (row["status"], row["payable"]) == ("payable", D("5000.00"))
    late = {**staff, "event_date": "2020-03-02"}
    assert evaluate_claim(GD, DOCTOR, RELATIVE, prior=[late])["reason"] == "prerequisite_missing"


def test_minimal_columns_are_the_full_values():
    events = [hospital("400000", "2023-03-01", "a"), hospital("200000", "2023-04-01", "b"),
              {**hospital("8000", "2023-02-01", "c"), "member_id": "ghost"}]
    full = evaluate(CC, pa.Table.from_pylist([MEMBER]), pa.Table.from_pylist(events))
    minimal = evaluate(CC, pa.Table.from_pylist([MEMBER]), pa.Table.from_pylist(events),
                       columns="minimal")
    assert minimal.column_names == ["event_id", "member_id", "benefit", "payable", "status",
                                    "reason"]
    assert minimal.to_pylist() == full.select(minimal.column_names).to_pylist()
    with pytest.raises(ValueError):
        evaluate(CC, pa.Table.from_pylist([MEMBER]), pa.Table.from_pylist(events),
                 columns="some")


def test_a_paid_prior_day_capped_payout_must_say_its_days():
    enrol = [{"member_id": "m1", "period_start": "2024-01-01", "period_end": "2024-12-31",
              "first_enrolled": "2023-01-01"}]
    stay = {"event_id": "d", "member_id": "m1", "benefit": "hospital_allowance",
            "event_date": "2024-09-01", "days": 33}
    prior = {**stay, "event_id": "p", "event_date": "2024-04-01", "paid": "6800.00"}
    with pytest.raises(InputError) as info:
        evaluate_claim(NS, MEMBER, stay, enrolments=enrol, prior=[prior])
    assert "days_paid" in str(info.value)
    row = evaluate_claim(NS, MEMBER, stay, enrolments=enrol, prior=[{**prior, "days_paid": 170}])
    assert (row["payable"], row["days_paid"], row["days_left"]) == (D("400.00"), 10, 0)
    # A payout of nothing needs no days.
    row = evaluate_claim(NS, MEMBER, stay, enrolments=enrol, prior=[{**prior, "paid": "0"}])
    assert row["days_paid"] == 30


@pytest.mark.parametrize(("kind", "rows", "row", "column"), [
    ("members", [MEMBER, {**MEMBER, "member_id": "m2", "gender": "X"}], 2, "gender"),
    ("members", [MEMBER, MEMBER], 2, "member_id"),
    ("events", [hospital("8000"), hospital("-1", eid="e2")], 2, "out_of_pocket"),
    ("events", [hospital("8000"), hospital("9000")], 2, "event_id"),
    ("enrolments", [{"member_id": "m1", "period_start": "2023-12-31",
                     "period_end": "2023-01-01", "first_enrolled": "2023-01-01"}], 1,
     "period_end"),
])
def test_bad_rows_are_refused_even_where_no_event_reads_them(kind, rows, row, column):
    """The checks run inside the computing scan; a bad member nobody claims through, or
    an enrolment a policy without enrolment rules never reads, is refused all the same."""
    tables = {"members": [MEMBER], "events": [hospital("8000")], "enrolments": None}
    tables[kind] = rows
    arrow = {k: pa.Table.from_pylist(v) if v else None for k, v in tables.items()}
    with pytest.raises(InputError) as info:
        evaluate(CC, arrow["members"], arrow["events"], arrow["enrolments"])
    [(_, got_row, got_column, _)] = info.value.errors[:1]
    assert (got_row, got_column) == (row, column)
