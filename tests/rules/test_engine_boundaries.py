"""Boundaries of the shipped policies, one claim at a time (evaluate_claim)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pyarrow as pa
import pytest

from huzhu.rules import InputError, evaluate, evaluate_claim, load_policy

CC = load_policy("changchun-2023")
GD = load_policy("guangdong-covid-2020")
NS = load_policy("ningshan-2024")
YD = load_policy("yongding-2020")

MEMBER = {"member_id": "m1", "birth_date": "1980-05-01", "gender": "M", "status": "active"}


def hospital(amount: str, date: str = "2023-06-01", eid: str = "e1") -> dict:
    return {"event_id": eid, "member_id": "m1", "benefit": "hospital", "event_date": date,
            "out_of_pocket": amount}


@pytest.mark.parametrize(("amount", "status", "payable", "band"), [
    ("5000.00", "ineligible", "0.00", None),
    ("5000.01", "payable", "75.00", "(5000,10000]"),
    ("5000.30", "payable", "75.00", "(5000,10000]"),     # 75.0045 → 75.00
    ("10000.00", "payable", "150.00", "(5000,10000]"),
    ("10000.01", "payable", "200.00", "(10000,20000]"),  # 200.0002 → 200.00
    ("10000.25", "payable", "200.01", "(10000,20000]"),  # 200.005 → 200.01 (float: 200.0)
    ("152000.00", "payable", "12160.00", "(150000,300000]"),  # the seed's 1.2万
    ("340000.00", "payable", "34000.00", "(300000,+∞)"),      # the seed's 3.4万
])
def test_hospital_threshold_bands_and_rounding(amount, status, payable, band):
    row = evaluate_claim(CC, MEMBER, hospital(amount))
    assert row["status"] == status
    assert row["payable"] == D(payable)
    assert row["band"] == band
    if status == "ineligible":
        assert row["reason"] == "below_threshold"


@pytest.mark.parametrize(("birth", "ok"), [
    ("2007-06-01", True),    # 16th birthday on the event date
    ("2007-06-02", False),   # still 15
    ("1962-06-02", True),    # 60, 61st birthday tomorrow
    ("1962-06-01", False),   # 61 today
    ("1963-06-01", True),    # 60th birthday today
])
def test_age_16_and_60_inclusive(birth, ok):
    row = evaluate_claim(CC, {**MEMBER, "birth_date": birth}, hospital("8000"))
    assert (row["status"] == "payable") is ok
    if not ok:
        assert row["reason"] == "age_out_of_range"


def test_retired_member_is_not_eligible():
    row = evaluate_claim(CC, {**MEMBER, "status": "retired"}, hospital("8000"))
    assert (row["status"], row["reason"]) == ("ineligible", "status_not_eligible")


def _batch(policy, members, events, prior=None, enrolments=None):
    def table(rows):
        return pa.Table.from_pylist(rows) if rows else None
    out = evaluate(policy, table(members), table(events), table(enrolments) if enrolments
                   else None, table(prior) if prior else None)
    return {r["event_id"]: r for r in out.to_pylist()}


def test_yearly_cap_and_year_boundary():
    events = [hospital("400000", "2023-03-01", "a"),      # 40,000
              hospital("200000", "2023-12-31", "b"),      # 16,000 → 10,000 left
              hospital("200000", "2024-01-01", "c")]      # new year: 16,000
    rows = _batch(CC, [MEMBER], events)
    assert rows["a"]["payable"] == D("40000.00")
    assert (rows["b"]["status"], rows["b"]["payable"], rows["b"]["cap_room"]) == (
        "capped", D("10000.00"), D("10000.00"))
    assert rows["b"]["reason"] == "cap_per_year"
    assert (rows["c"]["status"], rows["c"]["payable"]) == ("payable", D("16000.00"))


def test_prior_payouts_consume_the_cap():
    prior = [{**hospital("0", "2023-01-10", "p1"), "paid": "49000.00"}]
    row = evaluate_claim(CC, MEMBER, hospital("100000", "2023-05-01"), prior=prior)
    assert (row["status"], row["payable"], row["raw_amount"]) == (
        "capped", D("1000.00"), D("5000.00"))


def test_batch_equals_one_at_a_time_with_prior():
    events = [hospital("400000", "2023-03-01", "a"), hospital("200000", "2023-04-01", "b")]
    batch = _batch(CC, [MEMBER], events)
    prior = [{**events[0], "paid": str(batch["a"]["payable"])}]
    single = evaluate_claim(CC, MEMBER, events[1], prior=prior)
    assert single["payable"] == batch["b"]["payable"]


def accident(eid="x", **kw):
    return {"event_id": eid, "member_id": "m1", "benefit": "accident",
            "event_date": "2023-06-01", **kw}


@pytest.mark.parametrize(("facts", "status", "payable", "reason"), [
    ({"outcome": "death"}, "payable", "20000.00", ""),            # death is not capped
    ({"outcome": "disability", "disability_grade": 1}, "payable", "5000.00", ""),
    ({"outcome": "disability", "disability_grade": 10}, "payable", "500.00", ""),
    ({"outcome": "disability", "disability_grade": 4}, "payable", "3500.00", ""),
    ({"outcome": "fracture", "fracture_site": "major"}, "payable", "2000.00", ""),
    ({"outcome": "fracture", "fracture_site": "other"}, "payable", "1000.00", ""),
    ({"outcome": "fracture", "disability_grade": 8}, "payable", "1500.00", ""),
    ({"outcome": "none"}, "ineligible", "0.00", "no_covered_outcome"),
    ({"outcome": "disability"}, "ineligible", "0.00", "missing_field"),
    ({"outcome": "death", "work_related": True}, "ineligible", "0.00", "work_related"),
])
def test_accident_grades_and_fracture_sites(facts, status, payable, reason):
    row = evaluate_claim(CC, MEMBER, accident(**facts))
    assert (row["status"], row["payable"], row["reason"]) == (status, D(payable), reason)


def fire(**kw):
    return {"event_id": "f", "member_id": "m1", "benefit": "fire", "event_date": "2023-07-01",
            **kw}


def test_fire_needs_certificate_and_caps_per_event():
    row = evaluate_claim(CC, MEMBER, fire(loss_amount="50000"))
    assert (row["status"], row["reason"]) == ("ineligible", "missing_field")
    assert "火灾事故认定书" in row["reason_message"]
    row = evaluate_claim(CC, MEMBER, fire(loss_amount="50000", certificate_no="HZ-1"))
    assert (row["status"], row["payable"]) == ("payable", D("5000.00"))
    row = evaluate_claim(CC, MEMBER, fire(loss_amount="150000.05", certificate_no="HZ-1"))
    assert (row["status"], row["payable"], row["raw_amount"], row["cap"]) == (
        "capped", D("10000.00"), D("15000.01"), "cap_per_event")


DOCTOR = {**MEMBER, "occupation": "medical"}


def covid(date, eid="s", **kw):
    return {"event_id": eid, "member_id": "m1", "benefit": "covid_staff", "event_date": date,
            "on_duty": True, **kw}


@pytest.mark.parametrize(("date", "ok"), [
    ("2020-01-01", True), ("2020-12-30", True), ("2020-12-31", False), ("2019-12-31", False)])
def test_covid_window_end_inclusive(date, ok):
    row = evaluate_claim(GD, DOCTOR, covid(date))
    assert (row["payable"] == D("30000.00")) is ok
    if not ok:
        assert row["reason"] == "outside_window"


def test_covid_staff_conditions_and_once_per_person():
    assert evaluate_claim(GD, MEMBER, covid("2020-03-01"))["reason"] == "occupation_not_eligible"
    assert evaluate_claim(GD, DOCTOR, covid("2020-03-01", on_duty=False))["reason"] == \
        "not_on_duty"
    rows = _batch(GD, [DOCTOR], [covid("2020-02-01", "a"), covid("2020-05-01", "b")])
    assert rows["a"]["payable"] == D("30000.00")
    assert (rows["b"]["status"], rows["b"]["payable"], rows["b"]["reason"]) == (
        "capped", D("0.00"), "once_per_person")


def relative(eid, rid, relation="parent", co_resident=True, date="2020-03-01"):
    return {"event_id": eid, "member_id": "m1", "benefit": "covid_relative",
            "event_date": date, "relative_id": rid, "relation": relation,
            "co_resident": co_resident}


def test_fifth_relative_hits_family_cap():
    events = [relative(f"r{i}", f"rel{i}", "child", date=f"2020-03-0{i}") for i in range(1, 6)]
    rows = _batch(GD, [DOCTOR], events)
    for i in range(1, 5):
        assert rows[f"r{i}"]["payable"] == D("5000.00")
    assert (rows["r5"]["status"], rows["r5"]["payable"], rows["r5"]["reason"]) == (
        "capped", D("0.00"), "cap_per_family")


def test_relative_once_relation_and_co_residence():
    events = [relative("a", "p1"), relative("b", "p1", date="2020-04-01"),
              relative("c", "x", "other"), relative("d", "y", co_resident=False)]
    rows = _batch(GD, [DOCTOR], events)
    assert rows["a"]["payable"] == D("5000.00")
    assert rows["b"]["reason"] == "once_per_relative"
    assert rows["c"]["reason"] == "relation_not_covered"
    assert rows["d"]["reason"] == "not_co_resident"


ENROL = [{"member_id": "m1", "period_start": "2020-01-01", "period_end": "2020-12-31",
          "first_enrolled": "2019-01-01"}]


@pytest.mark.parametrize(("date", "ok"), [("2020-01-22", False), ("2020-01-23", True)])
def test_covid_joins_critical_illness_list_on_2020_01_23(date, ok):
    event = {"event_id": "c", "member_id": "m1", "benefit": "critical_illness",
             "event_date": date, "diagnosis": "J18.9; u07.1"}
    row = evaluate_claim(YD, MEMBER, event, enrolments=ENROL)
    assert (row["payable"] == D("8000.00")) is ok
    if not ok:
        assert row["reason"] == "diagnosis_not_covered"


def test_enrolment_and_waiting_period():
    event = {"event_id": "c", "member_id": "m1", "benefit": "critical_illness",
             "event_date": "2020-02-15", "diagnosis": "C34.1"}
    assert evaluate_claim(YD, MEMBER, event)["reason"] == "not_enrolled"
    fresh = [{**ENROL[0], "first_enrolled": "2020-01-01"}]
    assert evaluate_claim(YD, MEMBER, event, enrolments=fresh)["reason"] == "waiting_period"
    later = {**event, "event_date": "2020-03-01"}   # first_enrolled + 60 days
    assert evaluate_claim(YD, MEMBER, later, enrolments=fresh)["payable"] == D("8000.00")


def test_reduced_waiting_phase_and_progressive_deductible():
    enrol = [{"member_id": "m1", "period_start": "2024-01-01", "period_end": "2024-12-31",
              "first_enrolled": "2024-01-01"}]
    event = {"event_id": "h", "member_id": "m1", "benefit": "hospital_aid",
             "event_date": "2024-05-01", "out_of_pocket": "21000"}  # day 121: 50% phase
    row = evaluate_claim(NS, MEMBER, event, enrolments=enrol)
    # 20,000 after deductible: 10,000 × 50% + 10,000 × 60% = 11,000; halved
    assert (row["payable"], row["reason"]) == (D("5500.00"), "waiting_period_reduced")
    late = {**event, "event_date": "2024-07-01"}
    assert evaluate_claim(NS, MEMBER, late, enrolments=enrol)["payable"] == D("11000.00")


def test_accident_has_no_waiting_and_allowance_from_fourth_day():
    enrol = [{"member_id": "m1", "period_start": "2024-01-01", "period_end": "2024-12-31",
              "first_enrolled": "2024-01-01"}]
    acc = {"event_id": "a", "member_id": "m1", "benefit": "accident",
           "event_date": "2024-01-02", "outcome": "death"}
    assert evaluate_claim(NS, MEMBER, acc, enrolments=enrol)["payable"] == D("30000.00")
    stay = {"event_id": "d", "member_id": "m1", "benefit": "hospital_allowance",
            "event_date": "2024-06-01", "days": 3}
    assert evaluate_claim(NS, MEMBER, stay, enrolments=enrol)["reason"] == "below_min_days"
    row = evaluate_claim(NS, MEMBER, {**stay, "days": 10}, enrolments=enrol)
    assert row["payable"] == D("280.00")


def test_female_special_needs_gender():
    enrol = [{"member_id": "m1", "period_start": "2024-01-01", "period_end": "2024-12-31",
              "first_enrolled": "2023-01-01"}]
    event = {"event_id": "f", "member_id": "m1", "benefit": "female_special",
             "event_date": "2024-06-01", "diagnosis": "C50.9"}
    assert evaluate_claim(NS, MEMBER, event, enrolments=enrol)["reason"] == "gender_not_eligible"
    woman = {**MEMBER, "gender": "F"}
    assert evaluate_claim(NS, woman, event, enrolments=enrol)["payable"] == D("15000.00")


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
