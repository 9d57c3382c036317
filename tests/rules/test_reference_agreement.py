"""Hypothesis draws policies and event sets; engine and reference agree to the fen.

Policies are built through ``policy_from_dict`` (so they are valid by the schema's own
rules): random rate bands (bracket and progressive, thresholds, deductibles), per-day
formulas, lump sums, grade tables, percentages, accident outcomes, dated formula
versions and dated diagnosis lists, every eligibility rule, and caps of every kind.
Event sets are small on purpose — few members, few dates — so caps, ties on the event
date, year and period boundaries and prior payouts collide often.

Caps are drawn as an optional per-event cap first, then group caps. With one group cap
the engine's staged windows and the reference's ledger ("room = cap minus what was
actually paid before") must agree on every column. With a chain of nested group caps
(member-year → member-lifetime → family-lifetime, …) they must agree on every column too,
including which cap bit and the room it had left; explicit examples of written cap orders
are in ``test_reference_caps.py``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huzhu.rules import evaluate, policy_from_dict
from tests.rules import reference

D = dt.date
MEMBER_IDS = ["M1", "M2", "M3", "M4", "M5"]
EVENT_DAYS = (D(2019, 12, 20), D(2022, 1, 10))
DIAGNOSES = ["C34.9", "I21.0;J18.9", "u07.1", "K35.8", " c50.1 ", "J18.9;U07.1", "N18.5", ""]

# Chains of cap groups, each group contained in the next.
CHAINS = [
    [("member", "year"), ("member", "lifetime"), ("family", "lifetime")],
    [("member", "year"), ("family", "year"), ("family", "lifetime")],
    [("member", "period"), ("member", "lifetime"), ("family", "lifetime")],
    [("member", "period"), ("family", "period"), ("family", "lifetime")],
    [("relative", "year"), ("relative", "lifetime"), ("family", "lifetime")],
    [("relative", "year"), ("family", "year"), ("family", "lifetime")],
    [("relative", "lifetime"), ("family", "lifetime")],
]


def cents(lo: int, hi: int) -> st.SearchStrategy[Decimal]:
    return st.integers(lo, hi).map(lambda c: Decimal(c).scaleb(-2))


def whole(lo: int, hi: int) -> st.SearchStrategy[Decimal]:
    """Round yuan amounts, or with fen, as a real table would have them."""
    return st.one_of(st.integers(lo, hi).map(Decimal), cents(lo * 100, hi * 100))


rates = st.integers(0, 10_000).map(lambda r: f"{Decimal(r) / 100}%")
dates = st.dates(*EVENT_DAYS)


@st.composite
def bands_formula(draw: st.DrawFn) -> dict[str, Any]:
    mode = draw(st.sampled_from(["bracket", "progressive"]))
    edges = sorted(draw(st.sets(st.integers(1, 60_000), min_size=0, max_size=4)))
    start = 0 if mode == "progressive" else draw(st.integers(0, 3_000))
    edges = [e for e in edges if e > start]
    points = [start, *edges]
    bands = []
    for i, above in enumerate(points):
        upto = points[i + 1] if i + 1 < len(points) else None
        bands.append({"above": above, "upto": upto, "rate": draw(rates)})
    if mode == "progressive" and draw(st.booleans()):
        bands[-1]["upto"] = bands[-1]["above"] + draw(st.integers(1, 50_000))
    formula: dict[str, Any] = {"kind": "bands", "mode": mode, "bands": bands}
    if draw(st.booleans()):
        formula["threshold"] = draw(whole(0, 8_000))
    if draw(st.booleans()):
        formula["deductible"] = draw(whole(0, 3_000))
    return formula


@st.composite
def grade_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    lo = draw(st.integers(1, 10))
    hi = draw(st.integers(lo, 10))
    return [{"grade": g, "amount": draw(whole(0, 30_000))} for g in range(lo, hi + 1)]


@st.composite
def formula_and_base(draw: st.DrawFn, kind: str) -> tuple[dict[str, Any], str | None]:
    choices = ["bands", "per_day", "lump_sum", "grade_table", "percent"]
    if kind == "accident":
        choices.append("outcome")
    which = draw(st.sampled_from(choices))
    money_base = draw(st.sampled_from(["out_of_pocket", "total_cost", "loss_amount"]))
    if which == "bands":
        return draw(bands_formula()), money_base
    if which == "per_day":
        f = {"kind": "per_day", "amount": draw(whole(0, 300)), "from_day": draw(st.integers(1, 5))}
        if draw(st.booleans()):
            f["max_days"] = draw(st.integers(1, 30))
        return f, None
    if which == "lump_sum":
        return {"kind": "lump_sum", "amount": draw(whole(0, 30_000))}, None
    if which == "grade_table":
        return {"kind": "grade_table", "grades": draw(grade_rows())}, None
    if which == "percent":
        return {"kind": "percent", "rate": draw(rates)}, money_base
    f = {"kind": "outcome"}
    parts = draw(st.sets(st.sampled_from(["death", "disability", "fracture"]), min_size=1))
    if "death" in parts:
        f["death"] = draw(whole(0, 50_000))
    if "disability" in parts:
        f["disability"] = draw(grade_rows())
    if "fracture" in parts:
        f["fracture"] = {"major": draw(whole(0, 5_000)), "other": draw(whole(0, 5_000))}
    return f, None


@st.composite
def eligibility(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    e: dict[str, Any] = {}

    def maybe(key: str, strategy: st.SearchStrategy) -> None:
        if draw(st.integers(0, 3)) == 0:
            e[key] = draw(strategy)

    subset = lambda *xs: st.lists(st.sampled_from(xs), min_size=1, unique=True)  # noqa: E731
    maybe("status", subset("active", "retired", "left"))
    if draw(st.integers(0, 3)) == 0:
        lo = draw(st.integers(16, 45))
        e["age"] = {"min": lo, "max": draw(st.integers(lo, 66))}
    maybe("gender", subset("M", "F"))
    maybe("occupation", subset("medical", "cdc", "other"))
    if draw(st.integers(0, 4)) == 0:
        start = draw(dates)
        e["window"] = {"start": start, "end": start + dt.timedelta(days=draw(st.integers(0, 500)))}
    e["enrolment"] = draw(st.booleans())
    if e["enrolment"] and kind == "illness" and draw(st.booleans()):
        no_pay = draw(st.integers(0, 200))
        waiting: dict[str, Any] = {"no_pay_days": no_pay}
        if draw(st.booleans()):
            waiting["reduced_days"] = no_pay + draw(st.integers(1, 200))
            waiting["reduced_rate"] = draw(rates)
        e["waiting"] = waiting
    maybe("relation", subset("self", "parent", "spouse", "child", "other"))
    maybe("co_resident", st.just(True))
    maybe("work_related", st.just(False))
    maybe("on_duty", st.just(True))
    which = draw(st.integers(0, 5))
    prefixes = st.lists(st.sampled_from(["C", "C50", "I21", "U07.1", "N18.5", "J"]),
                        min_size=1, unique=True)  # fmt: skip
    if which == 0:
        e["diagnosis"] = draw(prefixes)
    elif which == 1:
        first = draw(dates)
        e["diagnosis_versions"] = [
            {"effective_from": first, "codes": draw(prefixes)},
            {"effective_from": first + dt.timedelta(days=draw(st.integers(1, 400))),
             "codes": draw(prefixes)},
        ]  # fmt: skip
    maybe("required", subset("certificate_no", "admit_date", "diagnosis"))
    return e


@st.composite
def day_caps(draw: st.DrawFn, enrolment: bool, chained: bool) -> list[dict[str, Any]]:
    """Group caps counted in days (a per_day benefit): one, or a nested chain of up to
    three, written in any order. Small limits, so the days run out within a few stays."""
    chains = [c for c in CHAINS if enrolment or all(p != "period" for _w, p in c)]
    chain = draw(st.sampled_from(chains))
    most = 3 if chained else 1
    picked = sorted(draw(st.sets(st.integers(0, len(chain) - 1), min_size=1, max_size=most)))
    out = [{"per": chain[i][0], "period": chain[i][1], "days": draw(st.integers(1, 60))}
           for i in picked]
    return draw(st.permutations(out)) if chained else out


@st.composite
def caps(draw: st.DrawFn, enrolment: bool, chained: bool) -> list[dict[str, Any]]:
    """An optional per-event cap, then group caps: one (``chained`` false) or a chain of
    up to three nested ones written in any order."""
    out: list[dict[str, Any]] = []
    if draw(st.booleans()):
        cap: dict[str, Any] = {"per": "event", "amount": draw(whole(0, 20_000))}
        if draw(st.booleans()):
            cap["unless_outcome"] = ["death"]
        out.append(cap)
    chains = [c for c in CHAINS if enrolment or all(p != "period" for _w, p in c)]
    chain = draw(st.sampled_from(chains))
    most = 3 if chained else 1
    picked = sorted(draw(st.sets(st.integers(0, len(chain) - 1), max_size=most)))
    for i in picked:
        per, period = chain[i]
        cap = {"per": per, "period": period}
        if draw(st.integers(0, 2)) == 0:
            cap["times"] = draw(st.integers(1, 3))
        else:
            cap["amount"] = draw(whole(0, 60_000))
        out.append(cap)
    # The written order must not matter: the engine applies caps by nesting, not by line.
    return draw(st.permutations(out)) if chained else out


@st.composite
def benefit(draw: st.DrawFn, code: str, chained: bool) -> dict[str, Any]:
    kind = draw(st.sampled_from(["illness", "accident", "property", "relief"]))
    b: dict[str, Any] = {"code": code, "name": f"项目{code}", "kind": kind}
    b["eligibility"] = draw(eligibility(kind))
    formula, base = draw(formula_and_base(kind))
    if base:
        b["base"] = base
    if draw(st.integers(0, 3)) == 0:
        # Dated versions of the same kind: a first one (maybe not yet in force for early
        # events) and a later change.
        later, _ = draw(formula_and_base(kind).filter(lambda fb: fb[0]["kind"] == formula["kind"]))
        first_day = draw(st.one_of(st.none(), dates))
        if first_day is not None:
            formula["effective_from"] = first_day
        start = first_day or EVENT_DAYS[0]
        later["effective_from"] = start + dt.timedelta(days=draw(st.integers(1, 600)))
        b["formulas"] = [formula, later]
    else:
        b["formula"] = formula
    per_day = formula["kind"] == "per_day"
    if per_day and draw(st.booleans()):
        b["caps"] = draw(day_caps(b["eligibility"]["enrolment"], chained))
    else:
        b["caps"] = draw(caps(b["eligibility"]["enrolment"], chained))
    return b


@st.composite
def policies(draw: st.DrawFn, chained: bool):
    n = draw(st.integers(1, 2))
    benefits = [draw(benefit(f"b{i}", chained)) for i in range(n)]
    if n == 2:
        # Prerequisites: b1 needs an event of b0 first, or b0 of b1, or each the other.
        for i in draw(st.sampled_from([(), (1,), (0,), (0, 1)])):
            benefits[i]["eligibility"]["requires"] = {"benefit": f"b{1 - i}"}
    data = {"code": "drawn", "name": "随机政策", "benefits": benefits}
    return policy_from_dict(data, source="<hypothesis>")


@st.composite
def members(draw: st.DrawFn) -> list[dict[str, Any]]:
    ids = draw(st.lists(st.sampled_from(MEMBER_IDS), min_size=1, unique=True))
    return [
        {
            "member_id": m,
            "birth_date": draw(st.sampled_from([D(1956, 2, 29), D(1960, 1, 1), D(2004, 6, 30)])
                               | st.dates(D(1950, 1, 1), D(2006, 12, 31))),
            "gender": draw(st.sampled_from(["M", "F"])),
            "status": draw(st.sampled_from(["active", "active", "retired", "left"])),
            "occupation": draw(st.sampled_from(["medical", "cdc", "other", None])),
            "family_id": draw(st.sampled_from(["F1", "F2", None])),
        }
        for m in ids
    ]  # fmt: skip


@st.composite
def enrolments(draw: st.DrawFn, member_ids: list[str]) -> list[dict[str, Any]]:
    rows = []
    for m in member_ids:
        for year in sorted(draw(st.sets(st.sampled_from([2019, 2020, 2021, 2022]), max_size=3))):
            first = draw(st.dates(D(2018, 6, 1), D(year, 12, 31)))
            start = max(D(year, 1, 1), first) if draw(st.booleans()) else D(year, 1, 1)
            rows.append({"member_id": m, "period_start": start, "period_end": D(year, 12, 31),
                         "first_enrolled": first})  # fmt: skip
    return rows


@st.composite
def event_facts(draw: st.DrawFn) -> dict[str, Any]:
    def opt(strategy: st.SearchStrategy, p_null: int = 5) -> Any:
        return None if draw(st.integers(0, p_null)) == 0 else draw(strategy)

    day = draw(dates)
    days = opt(st.integers(0, 40))
    return {
        "event_date": day,
        "out_of_pocket": opt(cents(0, 12_000_000) | whole(4_990, 5_010)),
        "total_cost": opt(cents(0, 12_000_000)),
        "loss_amount": opt(cents(0, 20_000_000)),
        "days": days,
        "admit_date": None if days is None else day - dt.timedelta(days=days),
        "diagnosis": opt(st.sampled_from(DIAGNOSES)),
        "outcome": opt(st.sampled_from(["death", "disability", "fracture", "none"])),
        "disability_grade": opt(st.integers(1, 10), 1),
        "fracture_site": opt(st.sampled_from(["major", "other"]), 2),
        "work_related": opt(st.booleans()),
        "certificate_no": opt(st.just("长公消火认字〔2021〕第0001号")),
        "on_duty": opt(st.booleans()),
        "relation": opt(st.sampled_from(["self", "parent", "spouse", "child", "other"])),
        "relative_id": opt(st.sampled_from(["R1", "R2", "R3"])),
        "co_resident": opt(st.booleans()),
    }


@st.composite
def scenario(draw: st.DrawFn, chained: bool = False):
    policy = draw(policies(chained))
    people = draw(members())
    ids = [m["member_id"] for m in people]
    known_or_not = st.sampled_from([*ids, *ids, "M9"])
    codes = policy.benefit_codes
    event_ids = draw(st.lists(st.integers(1, 999), max_size=25, unique=True))
    events = [
        {"event_id": f"E{n}", "member_id": draw(known_or_not),
         "benefit": draw(st.sampled_from(codes)), **draw(event_facts())}
        for n in event_ids
    ]  # fmt: skip
    prior = [
        {"event_id": f"P{i}", "member_id": draw(st.sampled_from(ids)),
         "benefit": draw(st.sampled_from(codes)), **draw(event_facts()),
         "paid": draw(whole(0, 20_000)), "days_paid": draw(st.integers(0, 30))}
        for i in range(draw(st.integers(0, 4)))
    ]  # fmt: skip
    for row in prior:
        # A payout of nothing may leave its days blank (the input contract allows it).
        if row["paid"] == 0 and draw(st.booleans()):
            row["days_paid"] = None
    return policy, people, draw(enrolments(ids)), events, prior


# ------------------------------------------------- prerequisites and day caps, focused

FOCUS_DAYS = (D(2020, 11, 1), D(2021, 2, 28))
"""Four months around a new year: year caps reset, rate changes and prerequisites
dated the same day collide often."""
FOCUS_DATES = [D(2020, 11, 2), D(2020, 12, 1), D(2020, 12, 30), D(2020, 12, 31),
               D(2021, 1, 1), D(2021, 1, 15), D(2021, 2, 1)]
focus_dates = st.one_of(*[st.sampled_from(FOCUS_DATES)] * 3, st.dates(*FOCUS_DAYS))


@st.composite
def light_eligibility(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    """Few conditions, so most rows reach the rules under test."""
    e: dict[str, Any] = {"enrolment": draw(st.booleans())}
    if draw(st.integers(0, 3)) == 0:
        e["status"] = ["active"]
    if e["enrolment"] and kind == "illness" and draw(st.booleans()):
        no_pay = draw(st.integers(0, 60))
        e["waiting"] = {"no_pay_days": no_pay}
        if draw(st.booleans()):
            e["waiting"].update(reduced_days=no_pay + draw(st.integers(1, 200)),
                                reduced_rate=draw(rates))
    if draw(st.integers(0, 4)) == 0:
        start = draw(focus_dates)
        e["window"] = {"start": start, "end": start + dt.timedelta(days=draw(st.integers(0, 90)))}
    return e


@st.composite
def per_day_versions(draw: st.DrawFn) -> dict[str, Any]:
    """One daily rate, or a rate that changes on a drawn date (what a money cap of
    days × rate gets wrong and a day cap gets right)."""
    def version() -> dict[str, Any]:
        f = {"kind": "per_day", "amount": draw(whole(0, 300)), "from_day": draw(st.integers(1, 4))}
        if draw(st.integers(0, 2)) == 0:
            f["max_days"] = draw(st.integers(1, 30))
        return f

    first = version()
    if draw(st.booleans()):
        return {"formula": first}
    later = {**version(), "effective_from": draw(focus_dates)}
    if draw(st.booleans()):
        first["effective_from"] = draw(st.dates(FOCUS_DAYS[0], later["effective_from"]))
        if first["effective_from"] == later["effective_from"]:
            del first["effective_from"]
    return {"formulas": [first, later]}


@st.composite
def focused_policies(draw: st.DrawFn):
    """b0 any simple benefit; b1 a per_day benefit with day caps (a chain in any written
    order), which may require b0; b2 may require b1 (a chain of prerequisites)."""
    kind0 = draw(st.sampled_from(["illness", "relief"]))
    b0: dict[str, Any] = {"code": "b0", "name": "前置项目", "kind": kind0,
                          "eligibility": draw(light_eligibility(kind0))}
    if draw(st.booleans()):
        b0["formula"] = {"kind": "lump_sum", "amount": draw(whole(0, 30_000))}
        if draw(st.booleans()):
            b0["caps"] = [{"per": "member", "period": "lifetime", "times": 1}]
    else:
        b0.update(draw(per_day_versions()))
    b1: dict[str, Any] = {"code": "b1", "name": "住院津贴", "kind": "illness",
                          "eligibility": draw(light_eligibility("illness"))}
    b1.update(draw(per_day_versions()))
    b1["caps"] = draw(day_caps(b1["eligibility"]["enrolment"], chained=True))
    benefits = [b0, b1]
    if draw(st.booleans()):
        b1["eligibility"]["requires"] = {"benefit": "b0"}
    if draw(st.booleans()):
        benefits.append({"code": "b2", "name": "亲属救助", "kind": "relief",
                         "eligibility": {"requires": {"benefit": "b1"}},
                         "formula": {"kind": "lump_sum", "amount": draw(whole(0, 5_000))}})
    return policy_from_dict({"code": "focus", "name": "前置与天数", "benefits": benefits},
                            source="<hypothesis>")


@st.composite
def focused_scenario(draw: st.DrawFn):
    policy = draw(focused_policies())
    ids = ["M1", "M2", "M3"][: draw(st.integers(1, 3))]
    people = [{"member_id": m, "birth_date": D(1980, 1, 1), "gender": "F",
               "status": draw(st.sampled_from(["active", "active", "active", "retired"])),
               "occupation": "medical", "family_id": draw(st.sampled_from(["F1", None]))}
              for m in ids]  # fmt: skip
    enrolled = [{"member_id": m, "period_start": D(y, 1, 1), "period_end": D(y, 12, 31),
                 "first_enrolled": draw(st.dates(D(2020, 6, 1), D(2020, 12, 1)))}
                for m in ids for y in (2020, 2021) if draw(st.integers(0, 4))]  # fmt: skip
    codes = policy.benefit_codes

    def facts() -> dict[str, Any]:
        return {"event_date": draw(focus_dates),
                "days": None if draw(st.integers(0, 7)) == 0 else draw(st.integers(0, 45)),
                "relative_id": draw(st.sampled_from(["R1", "R2"]))}

    events = [{"event_id": f"E{n}", "member_id": draw(st.sampled_from([*ids, *ids, "M9"])),
               "benefit": draw(st.sampled_from(codes)), **facts()}
              for n in draw(st.lists(st.integers(1, 99), min_size=3, max_size=24, unique=True))]
    prior = []
    for i in range(draw(st.integers(0, 4))):
        paid = draw(whole(0, 5_000))
        prior.append({"event_id": f"P{i}", "member_id": draw(st.sampled_from(ids)),
                      "benefit": draw(st.sampled_from(codes)), **facts(), "paid": paid,
                      "days_paid": draw(st.integers(0, 40)) if paid or draw(st.booleans())
                      else None})  # fmt: skip
    return policy, people, enrolled, events, prior


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(focused_scenario())
def test_prerequisites_and_day_caps_agree_with_the_reference(case) -> None:
    """Issue 8's two rules against the reference, on every compared column: a benefit
    due only after an event of another (also in a chain of two), and day caps of a
    per_day benefit whose daily rate may change mid-year, after prior payouts' days."""
    policy, people, enrolled, events, prior = case
    got = run_engine(policy, people, events, enrolled, prior)
    want = reference.evaluate(policy, people, events, enrolled, prior)
    assert reference.disagreements(got, want) == []


def run_engine(policy, people, events, enrolled, prior) -> list[dict[str, Any]]:
    return evaluate(
        policy,
        reference.arrow_table(people, reference.MEMBER_TYPES),
        reference.arrow_table(events, reference.EVENT_TYPES),
        reference.arrow_table(enrolled, reference.ENROLMENT_TYPES),
        reference.arrow_table(prior, reference.PRIOR_TYPES),
    ).to_pylist()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_engine_and_reference_agree_to_the_fen(case) -> None:
    """Every compared column, every row; at most one group cap per benefit."""
    policy, people, enrolled, events, prior = case
    got = run_engine(policy, people, events, enrolled, prior)
    want = reference.evaluate(policy, people, events, enrolled, prior)
    assert reference.disagreements(got, want) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario(chained=True))
def test_nested_cap_chains_agree_on_every_column(case) -> None:
    """Up to three nested group caps, in any written order: every compared column agrees,
    the cap named and its room included."""
    policy, people, enrolled, events, prior = case
    got = run_engine(policy, people, events, enrolled, prior)
    want = reference.evaluate(policy, people, events, enrolled, prior)
    assert reference.disagreements(got, want) == []


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario(chained=True))
def test_batch_equals_one_event_at_a_time(case) -> None:
    """DESIGN.md: the same events give the same money in a batch or one at a time (each
    event alone, with every earlier payout passed as a prior payout, days included).

    A prerequisite looks at every event dated on or before, so the events later in the
    batch on the same date go along as prior rows that paid nothing (they change no cap).
    """
    policy, people, enrolled, events, prior = case
    batch = run_engine(policy, people, events, enrolled, prior)
    by_id = {e["event_id"]: e for e in events}
    paid = list(prior)
    for k, row in enumerate(batch):
        event = by_id[row["event_id"]]
        same_day = [{**by_id[later["event_id"]], "paid": Decimal("0.00"), "days_paid": 0}
                    for later in batch[k + 1:] if later["event_date"] == row["event_date"]]
        (one,) = run_engine(policy, people, [event], enrolled, paid + same_day)
        assert (one["payable"], one["status"]) == (row["payable"], row["status"]), row
        paid.append({**event, "paid": row["payable"], "days_paid": row["days_paid"]})
