"""An independent, plain-Python reference evaluator of benefit policies (tests only).

Written from DESIGN.md section 4 and the documented meaning of the policy schema
(``huzhu.rules.schema`` docstring, ``huzhu.rules.output`` docstring), never from the
compiler: one event at a time, ``Decimal`` throughout, rounding half-up to the fen.

Caps are consumed the way a clerk with a ledger would: events in (event_date, event_id)
order after all prior payouts; each cap's room is its amount minus what was actually
*paid* earlier in its group (prior ``paid`` plus earlier payables of the batch), and a
``times`` cap counts earlier events of its group that were actually paid (> 0). So
evaluating a batch gives the same money as evaluating its events one at a time with
the earlier ones passed as prior payouts — the invariant DESIGN.md asks for.

Two rules of issue 8, from its text:

- A prerequisite (``eligibility.requires: {benefit: X}``): "the same member has an event
  of another benefit (X) dated on or before this event, among the events of the run or
  the prior payouts; otherwise the row is ineligible" (``prerequisite_missing``; checked
  after the diagnosis and before the formula's date). Whether X's event pays does not
  matter.
- Day caps (``{per: member, period: year, days: 180}``) "limit the paid days of per_day
  benefits, consumed in event order like money caps": the ledger keeps the days paid
  per group (prior payouts count their ``days_paid``); the days paid are the formula's
  days cut to the room left, and the money is those days times the daily amount in
  force at the event date (reduced in a waiting period's reduced phase).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from huzhu.rules.schema import Benefit, Cap, Policy

FEN = Decimal("0.01")
ZERO = Decimal("0.00")

Row = dict[str, Any]


class Ineligible(Exception):
    def __init__(self, reason: str):
        self.reason = reason


def money(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def age_on(birth: dt.date, day: dt.date) -> int:
    # A 29 February birthday is reached on 1 March in common years: (2, 28) < (2, 29).
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def evaluate(
    policy: Policy,
    members: Iterable[Row],
    events: Iterable[Row],
    enrolments: Iterable[Row] = (),
    prior: Iterable[Row] = (),
) -> list[Row]:
    """One output row per event, in (event_date, event_id) order."""
    by_id = {m["member_id"]: m for m in members}
    enrol: dict[str, list[Row]] = defaultdict(list)
    for e in enrolments:
        enrol[e["member_id"]].append(e)
    codes = set(policy.benefit_codes)
    events, prior = list(events), list(prior)
    ledger = _Ledger()
    # Every dated event of every member and benefit, paid or not: what a prerequisite
    # looks for.
    for row in [*events, *prior]:
        ledger.seen[(row["member_id"], row["benefit"])].append(row["event_date"])
    for p in prior:
        if p.get("benefit") not in codes:
            continue
        benefit = policy.benefit(p["benefit"])
        paid = Decimal(p.get("paid") or 0)
        days = int(p.get("days_paid") or 0)
        member = by_id.get(p["member_id"])
        period = _covering(enrol.get(p["member_id"], []), p["event_date"])
        for cap in benefit.caps:
            key = _group(cap, benefit, p, member, period)
            if key is not None:
                ledger.add(key, days if cap.days is not None else paid)
    out = []
    for event in sorted(events, key=lambda e: (e["event_date"], e["event_id"])):
        if event["benefit"] not in codes:
            raise ValueError(f"unknown benefit {event['benefit']!r}")
        out.append(_one(policy.benefit(event["benefit"]), event, by_id, enrol, ledger))
    return out


class _Ledger:
    """Paid money (or days, for day caps) and the number of paid events per cap group;
    and the dates of every event per (member, benefit)."""

    def __init__(self) -> None:
        self.paid: dict[tuple, Decimal] = defaultdict(lambda: ZERO)
        self.count: dict[tuple, int] = defaultdict(int)
        self.seen: dict[tuple[str, str], list[dt.date]] = defaultdict(list)

    def add(self, key: tuple, amount: Decimal | int) -> None:
        self.paid[key] += amount
        if amount > 0:
            self.count[key] += 1


def _covering(rows: list[Row], day: dt.date) -> tuple[dt.date, dt.date] | None:
    """(period_start, first_enrolled) of the enrolment covering ``day``: the latest
    period_start and the earliest first_enrolled among the covering rows."""
    cover = [r for r in rows if r["period_start"] <= day <= r["period_end"]]
    if not cover:
        return None
    return max(r["period_start"] for r in cover), min(r["first_enrolled"] for r in cover)


def _group(cap: Cap, benefit: Benefit, event: Row, member: Row | None, period) -> tuple | None:
    if cap.per == "event":
        return None
    fam = (member or {}).get("family_id") or event["member_id"]
    who = {
        "member": ("m", event["member_id"]),
        "family": ("f", fam),
        "relative": ("r", fam, event.get("relative_id")),
    }[cap.per]
    if cap.period == "year":
        when: Any = event["event_date"].year
    elif cap.period == "period":
        if period is None:
            return None
        when = period[0]
    else:
        when = "life"
    return (benefit.code, cap.cap_code, *who, when)


def _one(benefit: Benefit, event: Row, members: dict, enrol: dict, ledger: _Ledger) -> Row:
    row: Row = {
        "event_id": event["event_id"],
        "member_id": event["member_id"],
        "benefit": event["benefit"],
        "event_date": event["event_date"],
        "payable": ZERO,
        "status": "ineligible",
        "reason": "",
        "band": None,
        "rate": None,
        "grade": None,
        "raw_amount": None,
        "cap": None,
        "cap_room": None,
        "days_paid": None,
        "days_left": None,
    }
    member = members.get(event["member_id"])
    period = _covering(enrol.get(event["member_id"], []), event["event_date"])
    reduced_rate = None
    try:
        _check_eligible(benefit, event, member, period, ledger)
        raw, band, rate, grade = _formula(benefit, event)
        reason = ""
        waiting = benefit.eligibility.waiting
        if waiting and waiting.reduced_days is not None:
            first = period[1]
            start = first + dt.timedelta(days=waiting.no_pay_days)
            end = first + dt.timedelta(days=waiting.reduced_days)
            if start <= event["event_date"] < end:
                raw = money(raw * waiting.reduced_rate)
                reason = "waiting_period_reduced"
                reduced_rate = waiting.reduced_rate
    except Ineligible as exc:
        row["reason"] = exc.reason
        return row
    row.update(band=band, rate=rate, grade=grade, raw_amount=raw)
    if benefit.day_capped:
        return _by_days(benefit, event, member, period, ledger, row, reason, reduced_rate)
    amount, bit, bit_room, rooms = raw, None, None, []
    keys = []
    for cap in benefit.caps:
        key = _group(cap, benefit, event, member, period)
        keys.append(key)
        if cap.per == "event":
            if event.get("outcome") in cap.unless_outcome:
                continue
            room = cap.amount
        elif cap.times is not None:
            paid_before = ledger.count[key] if key is not None else 0
            if paid_before >= cap.times and amount > 0:
                amount, bit, bit_room = ZERO, cap.cap_code, ZERO
            continue
        else:
            used = ledger.paid[key] if key is not None else ZERO
            room = max(ZERO, cap.amount - used)
        rooms.append(room)
        if amount > room:
            amount, bit, bit_room = room, cap.cap_code, room
    for key in keys:
        if key is not None:
            ledger.add(key, amount)
    row["payable"] = amount
    if bit is not None:
        row.update(status="capped", reason=bit, cap=bit, cap_room=bit_room)
    else:
        row.update(status="payable", reason=reason, cap_room=min(rooms) if rooms else None)
    return row


def _by_days(benefit: Benefit, event: Row, member: Row | None, period, ledger: _Ledger,
             row: Row, reason: str, reduced_rate: Decimal | None) -> Row:
    """A benefit with day caps: the caps cut the days, and the days make the money."""
    f = benefit.formula_at(event["event_date"])
    days = _per_day_days(f, event)
    paid_days, bit, rooms = days, None, []
    keys = [_group(cap, benefit, event, member, period) for cap in benefit.caps]
    for cap, key in zip(benefit.caps, keys, strict=True):
        room = max(0, cap.days - int(ledger.paid[key])) if key is not None else cap.days
        rooms.append(room)
        if paid_days > room:
            paid_days, bit = room, cap.cap_code
    for key in keys:
        if key is not None:
            ledger.add(key, paid_days)
    amount = money(f.amount * paid_days)
    if reduced_rate is not None:
        amount = money(amount * reduced_rate)
    row.update(payable=amount, days_paid=paid_days, days_left=min(rooms) - paid_days)
    if bit is not None:
        row.update(status="capped", reason=bit, cap=bit)
    else:
        row.update(status="payable", reason=reason)
    return row


def _per_day_days(f, event: Row) -> int:
    paid_days = int(event["days"]) - (f.from_day - 1)
    if f.max_days is not None:
        paid_days = min(paid_days, f.max_days)
    return paid_days


def _check_eligible(benefit: Benefit, event: Row, member: Row | None, period,
                    ledger: _Ledger) -> None:
    el = benefit.eligibility
    day: dt.date = event["event_date"]
    if member is None:
        raise Ineligible("unknown_member")
    if el.status is not None and member.get("status") not in el.status:
        raise Ineligible("status_not_eligible")
    if el.age is not None:
        age = age_on(member["birth_date"], day)
        if (el.age.min is not None and age < el.age.min) or (
            el.age.max is not None and age > el.age.max
        ):
            raise Ineligible("age_out_of_range")
    if el.gender is not None and member.get("gender") not in el.gender:
        raise Ineligible("gender_not_eligible")
    if el.occupation is not None and member.get("occupation") not in el.occupation:
        raise Ineligible("occupation_not_eligible")
    if el.window is not None and (
        (el.window.start is not None and day < el.window.start)
        or (el.window.end is not None and day > el.window.end)
    ):
        raise Ineligible("outside_window")
    if el.enrolment and period is None:
        raise Ineligible("not_enrolled")
    if el.waiting is not None and day < period[1] + dt.timedelta(days=el.waiting.no_pay_days):
        raise Ineligible("waiting_period")
    if el.relation is not None and event.get("relation") not in el.relation:
        raise Ineligible("relation_not_covered")
    if el.co_resident and event.get("co_resident") is not True:
        raise Ineligible("not_co_resident")
    if el.work_related is False and event.get("work_related") is True:
        raise Ineligible("work_related")
    if el.work_related is True and event.get("work_related") is not True:
        raise Ineligible("not_work_related")
    if el.on_duty is True and event.get("on_duty") is not True:
        raise Ineligible("not_on_duty")
    covered = el.diagnosis_at(day)
    if covered is not None and not _diagnosis_covered(event.get("diagnosis"), covered):
        raise Ineligible("diagnosis_not_covered")
    if el.requires is not None:
        dates = ledger.seen.get((event["member_id"], el.requires.benefit), [])
        if not any(d <= day for d in dates):
            raise Ineligible("prerequisite_missing")
    formula = benefit.formula_at(day)
    if formula is None:
        raise Ineligible("not_in_force")
    needed = list(el.required)
    base = benefit.effective_base(formula)
    if base is not None:
        needed.append(base)
    if formula.kind == "outcome" and event.get("disability_grade") is None:
        needed.append("outcome")  # a grade without an outcome is a disability
    for field in needed:
        # The input contract reads a blank text cell as missing, like an empty CSV cell.
        value = event.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise Ineligible("missing_field")
    if formula.kind == "outcome":
        outcome = event.get("outcome")
        grade = event.get("disability_grade")
        if outcome == "disability" and grade is None:
            raise Ineligible("missing_field")
        if outcome == "fracture" and grade is None and event.get("fracture_site") is None:
            raise Ineligible("missing_field")
    if any(c.per == "relative" for c in benefit.caps) and event.get("relative_id") is None:
        raise Ineligible("missing_field")


def _diagnosis_covered(diagnosis: str | None, prefixes: list[str]) -> bool:
    if not diagnosis:
        return False
    codes = ["".join(c.split()).upper() for c in diagnosis.split(";")]
    return any(code and code.startswith(p) for code in codes for p in prefixes)


def _formula(benefit: Benefit, event: Row):
    """(raw, band, rate, grade) of the formula in force, or raise Ineligible."""
    f = benefit.formula_at(event["event_date"])
    if f.kind == "bands":
        return _bands(f, Decimal(event[benefit.effective_base(f)]))
    if f.kind == "per_day":
        paid_days = _per_day_days(f, event)
        if paid_days < 1:
            raise Ineligible("below_min_days")
        return money(f.amount * paid_days), None, None, None
    if f.kind == "lump_sum":
        return money(f.amount), None, None, None
    if f.kind == "grade_table":
        grade = int(event["disability_grade"])
        return _grade(f.grades, grade), None, None, grade
    if f.kind == "percent":
        return money(Decimal(event[benefit.effective_base(f)]) * f.rate), None, f.rate, None
    return _outcome(f, event)


def _bands(f, base: Decimal):
    amount = base
    if f.threshold is not None and not amount > f.threshold:
        raise Ineligible("below_threshold")
    if f.deductible is not None:
        amount = amount - f.deductible
        if not amount > 0:
            raise Ineligible("below_deductible")
    band = next((b for b in f.bands if b.contains(amount)), None)
    if f.mode == "bracket":
        if band is None:
            raise Ineligible("below_threshold")
        return money(amount * band.rate), band.label, band.rate, None
    total = ZERO
    for b in f.bands:
        top = amount if b.upto is None else min(amount, b.upto)
        if top > b.above:
            total += (top - b.above) * b.rate
    return money(total), band.label if band else None, band.rate if band else None, None


def _grade(rows, grade: int) -> Decimal:
    for r in rows:
        if r.grade == grade:
            return money(r.amount)
    raise Ineligible("grade_not_covered")


def _outcome(f, event: Row):
    outcome = event.get("outcome")
    grade = event.get("disability_grade")
    if outcome == "death":
        if f.death is None:
            raise Ineligible("no_covered_outcome")
        return money(f.death), "death", None, None
    if grade is not None and outcome in (None, "disability", "fracture"):
        if f.disability is None:
            raise Ineligible("no_covered_outcome")
        return _grade(f.disability, int(grade)), "disability", None, int(grade)
    if outcome == "fracture" and f.fracture is not None:
        site = event["fracture_site"]
        amount = f.fracture.major if site == "major" else f.fracture.other
        return money(amount), f"fracture:{site}", None, None
    raise Ineligible("no_covered_outcome")


# --------------------------------------------------------------- plumbing for the tests

MEMBER_TYPES = {
    "member_id": "string", "birth_date": "date32", "gender": "string", "status": "string",
    "occupation": "string", "family_id": "string",
}  # fmt: skip
EVENT_TYPES = {
    "event_id": "string", "member_id": "string", "benefit": "string", "event_date": "date32",
    "out_of_pocket": "money", "total_cost": "money", "admit_date": "date32", "days": "int32",
    "diagnosis": "string", "outcome": "string", "disability_grade": "int32",
    "fracture_site": "string", "work_related": "bool", "loss_amount": "money",
    "certificate_no": "string", "on_duty": "bool", "relation": "string",
    "relative_id": "string", "co_resident": "bool",
}  # fmt: skip
ENROLMENT_TYPES = {
    "member_id": "string", "period_start": "date32", "period_end": "date32",
    "first_enrolled": "date32",
}  # fmt: skip
PRIOR_TYPES = {**EVENT_TYPES, "paid": "money", "days_paid": "int32"}


def arrow_table(rows: list[Row], types: dict[str, str]):
    """Rows as a pyarrow table with the engine's input types (missing keys → null)."""
    import pyarrow as pa

    kinds = {
        "string": pa.string(), "date32": pa.date32(), "int32": pa.int32(),
        "bool": pa.bool_(), "money": pa.decimal128(18, 2),
    }  # fmt: skip
    schema = pa.schema([(name, kinds[t]) for name, t in types.items()])
    columns = {name: [r.get(name) for r in rows] for name in types}
    return pa.table(columns, schema=schema)


# Columns both evaluators must agree on, row by row. ``rate`` is compared only where the
# schema defines it unambiguously (bracket bands and percent formulas).
AGREE = ("event_id", "payable", "status", "reason", "raw_amount", "cap", "cap_room", "grade",
         "days_paid", "days_left")


def disagreements(engine_rows: list[Row], reference_rows: list[Row], limit: int = 5) -> list:
    """Differences as (event_id, column, engine value, reference value), at most ``limit``."""
    found = []
    if [r["event_id"] for r in engine_rows] != [r["event_id"] for r in reference_rows]:
        return [("<order>", "event_id", len(engine_rows), len(reference_rows))]
    for got, want in zip(engine_rows, reference_rows, strict=True):
        for column in AGREE:
            a, b = got.get(column), want.get(column)
            if column == "reason":
                a, b = a or "", b or ""
            if want["status"] == "ineligible" and column in ("raw_amount", "cap_room"):
                continue
            if a != b:
                found.append((want["event_id"], column, a, b))
                if len(found) >= limit:
                    return found
    return found
