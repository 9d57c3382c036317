"""Compile a :class:`~huzhu.rules.schema.Policy` to ONE Ibis expression.

The expression reads the typed tables named in :data:`huzhu.rules.columns.TABLE_NAMES`
(events, members, enrolments, prior payouts) and yields :data:`OUTPUT_COLUMNS`. It is
built over unbound tables, so the same plan compiles to DuckDB SQL or Spark SQL; the
semantics it implements are written down in :mod:`huzhu.rules.schema`.

Plan shape: events (+ prior payouts, flagged ``_prior``) ⟕ members ⟕ covering
enrolment → per-row eligibility reason, base, band, rate, raw amount (CASE over the
benefit code) → one projection per cap stage, each a window ordered by
(prior first, event_date, event_id) → explanation columns → events only, sorted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir

from huzhu.rules.columns import EVENT_COLUMNS, TABLE_NAMES, ibis_schema
from huzhu.rules.output import (
    OUTPUT_COLUMNS,
    OUTPUT_TYPES,
    REASON_MESSAGES,
    cap_message,
    missing_message,
)
from huzhu.rules.schema import (
    BandsFormula,
    Benefit,
    Cap,
    GradeTableFormula,
    LumpSumFormula,
    OutcomeFormula,
    PercentFormula,
    PerDayFormula,
    Policy,
    nesting_order,
)

D2 = "decimal(18,2)"
D4 = "decimal(9,4)"


def _money(value: Decimal | int) -> ir.Value:
    return ibis.literal(Decimal(value).quantize(Decimal("0.01")), type=D2)


def _rate(value: Decimal) -> ir.Value:
    return ibis.literal(Decimal(value).quantize(Decimal("0.0001")), type=D4)


def _ok(cond: ir.BooleanValue) -> ir.BooleanValue:
    """A condition that counts null as false."""
    return ibis.coalesce(cond, ibis.literal(False))


def _times(amount: ir.Value, rate: ir.Value) -> ir.Value:
    """amount × rate, rounded half-up to the fen (cast first: Ibis/DuckDB decimal scales)."""
    return (amount.cast("decimal(18,2)") * rate.cast("decimal(18,4)")).round(2).cast(D2)


def _cases(pairs: list[tuple[Any, Any]], else_: Any) -> Any:
    if not pairs:
        return else_
    return ibis.cases(*pairs, else_=else_)


@dataclass
class _FormulaParts:
    fails: list[tuple[ir.BooleanValue, str]] = field(default_factory=list)
    missing: list[tuple[ir.BooleanValue, str]] = field(default_factory=list)
    base: ir.Value | None = None
    band: ir.Value | None = None
    rate: ir.Value | None = None
    grade: ir.Value | None = None
    raw: ir.Value | None = None


def _grade_amount(grades: list, grade: ir.Value) -> ir.Value:
    return _cases([(grade == row.grade, _money(row.amount)) for row in grades], ibis.null(D2))


def _formula_parts(benefit: Benefit, formula: Any, t: ir.Table) -> _FormulaParts:
    parts = _FormulaParts()
    base_name = benefit.effective_base(formula)
    if isinstance(formula, BandsFormula):
        base = t[base_name]
        parts.missing.append((base.isnull(), base_name))
        parts.base = base
        amount = base
        if formula.threshold is not None:
            parts.fails.append((base <= _money(formula.threshold), "below_threshold"))
        if formula.deductible is not None:
            amount = (base - _money(formula.deductible)).cast(D2)
            parts.fails.append((amount <= _money(0), "below_deductible"))
        first = formula.bands[0]
        parts.fails.append((amount <= _money(first.above), "below_threshold"))

        def in_band(band):
            cond = amount > _money(band.above)
            return cond if band.upto is None else cond & (amount <= _money(band.upto))

        parts.band = _cases([(in_band(b), ibis.literal(b.label)) for b in formula.bands],
                            ibis.null("string"))
        parts.rate = _cases([(in_band(b), _rate(b.rate)) for b in formula.bands],
                            ibis.null(D4))
        if formula.mode == "bracket":
            parts.raw = _times(amount, parts.rate)
        else:
            total = None
            for b in formula.bands:
                top = amount if b.upto is None else ibis.least(amount, _money(b.upto))
                slice_ = ibis.greatest(top - _money(b.above), _money(0)).cast(D2)
                term = slice_ * _rate(b.rate).cast("decimal(18,4)")
                total = term if total is None else total + term
            parts.raw = total.round(2).cast(D2)
    elif isinstance(formula, PercentFormula):
        base = t[base_name]
        parts.missing.append((base.isnull(), base_name))
        parts.base = base
        parts.rate = _rate(formula.rate)
        parts.raw = _times(base, parts.rate)
    elif isinstance(formula, PerDayFormula):
        days = t.days
        parts.missing.append((days.isnull(), "days"))
        parts.base = days.cast(D2)
        counted = days - (formula.from_day - 1)
        parts.fails.append((counted < 1, "below_min_days"))
        if formula.max_days is not None:
            counted = ibis.least(counted, formula.max_days)
        parts.raw = (counted.cast(D2) * _money(formula.amount)).cast(D2)
    elif isinstance(formula, LumpSumFormula):
        parts.raw = _money(formula.amount)
    elif isinstance(formula, GradeTableFormula):
        grade = t.disability_grade
        parts.missing.append((grade.isnull(), "disability_grade"))
        parts.grade = grade
        parts.raw = _grade_amount(formula.grades, grade)
        parts.fails.append((parts.raw.isnull(), "grade_not_covered"))
    elif isinstance(formula, OutcomeFormula):
        _outcome_parts(formula, t, parts)
    else:  # pragma: no cover - the schema admits no other kind
        raise TypeError(formula)
    return parts


def _outcome_parts(formula: OutcomeFormula, t: ir.Table, parts: _FormulaParts) -> None:
    outcome, grade, site = t.outcome, t.disability_grade, t.fracture_site
    parts.missing.append((outcome.isnull(), "outcome"))
    parts.missing.append(((outcome == "disability") & grade.isnull(), "disability_grade"))
    if formula.fracture is not None:
        parts.missing.append(
            ((outcome == "fracture") & grade.isnull() & site.isnull(), "fracture_site")
        )
    is_death = outcome == "death"
    graded = outcome.isin(["disability", "fracture"]) & grade.notnull()
    fracture = (outcome == "fracture") & grade.isnull()
    amount_pairs, band_pairs = [], []
    if formula.death is not None:
        amount_pairs.append((is_death, _money(formula.death)))
        band_pairs.append((is_death, ibis.literal("death")))
    if formula.disability is not None:
        amount_pairs.append((graded, _grade_amount(formula.disability, grade)))
        band_pairs.append((graded, ibis.literal("disability")))
        parts.fails.append((graded & _grade_amount(formula.disability, grade).isnull(),
                            "grade_not_covered"))
    if formula.fracture is not None:
        major = site == "major"
        amount_pairs.append((fracture & major, _money(formula.fracture.major)))
        amount_pairs.append((fracture, _money(formula.fracture.other)))
        band_pairs.append((fracture & major, ibis.literal("fracture:major")))
        band_pairs.append((fracture, ibis.literal("fracture:other")))
    parts.raw = _cases(amount_pairs, ibis.null(D2))
    parts.band = _cases(band_pairs, ibis.null("string"))
    parts.grade = _cases([(graded, grade)], ibis.null("int32"))
    covered = _cases([(cond, ibis.literal(True)) for cond, _ in band_pairs],
                     ibis.literal(False))
    parts.fails.append((~covered, "no_covered_outcome"))


def _eligibility_fails(benefit: Benefit, t: ir.Table) -> list[tuple[ir.BooleanValue, str]]:
    e = benefit.eligibility
    fails: list[tuple[ir.BooleanValue, str]] = [(t._m_id.isnull(), "unknown_member")]
    if e.status is not None:
        fails.append((~_ok(t.m_status.isin(list(e.status))), "status_not_eligible"))
    if e.age is not None:
        ok = ibis.literal(True)
        if e.age.min is not None:
            ok = ok & (t._age >= e.age.min)
        if e.age.max is not None:
            ok = ok & (t._age <= e.age.max)
        fails.append((~_ok(ok), "age_out_of_range"))
    if e.gender is not None:
        fails.append((~_ok(t.gender.isin(list(e.gender))), "gender_not_eligible"))
    if e.occupation is not None:
        fails.append((~_ok(t.occupation.isin(list(e.occupation))), "occupation_not_eligible"))
    if e.window is not None:
        ok = ibis.literal(True)
        if e.window.start is not None:
            ok = ok & (t.event_date >= ibis.literal(e.window.start))
        if e.window.end is not None:
            ok = ok & (t.event_date <= ibis.literal(e.window.end))
        fails.append((~_ok(ok), "outside_window"))
    if e.enrolment:
        fails.append((t._cov_start.isnull(), "not_enrolled"))
    if e.waiting is not None:
        ends = t._cov_first + ibis.interval(days=e.waiting.no_pay_days)
        fails.append((_ok(t.event_date < ends), "waiting_period"))
    if e.relation is not None:
        fails.append((~_ok(t.relation.isin(list(e.relation))), "relation_not_covered"))
    if e.co_resident:
        fails.append((~_ok(t.co_resident), "not_co_resident"))
    for flag in ("work_related", "on_duty"):
        wanted = getattr(e, flag)
        value = _ok(t[flag])
        if wanted is False:
            fails.append((value, flag))
        elif wanted is True:
            fails.append((~value, f"not_{flag}"))
    if e.has_diagnosis_rule:
        fails.append((~_diagnosis_ok(benefit, t), "diagnosis_not_covered"))
    return fails


def _codes_match(codes: list[str], dx: ir.StringValue) -> ir.BooleanValue:
    if not codes:
        return ibis.literal(False)
    cond = None
    for code in codes:
        hit = dx.contains(";" + code)
        cond = hit if cond is None else cond | hit
    return _ok(cond)


def _diagnosis_ok(benefit: Benefit, t: ir.Table) -> ir.BooleanValue:
    e = benefit.eligibility
    if e.diagnosis is not None:
        return _codes_match(e.diagnosis, t._dx)
    pairs = [
        (t.event_date >= ibis.literal(v.effective_from), _codes_match(v.codes, t._dx))
        for v in reversed(e.diagnosis_versions or [])
    ]
    return _cases(pairs, ibis.literal(False))


@dataclass
class _BenefitPlan:
    reason: ir.Value
    missing: ir.Value
    base: ir.Value
    band: ir.Value
    rate: ir.Value
    grade: ir.Value
    raw: ir.Value
    reduced: ir.Value


def _benefit_plan(benefit: Benefit, t: ir.Table) -> _BenefitPlan:
    versions = benefit.versions
    parts = [_formula_parts(benefit, f, t) for f in versions]
    if len(versions) == 1:
        in_force = [ibis.literal(True)]
    else:
        # version i is in force from its date until the next one's
        in_force = []
        for i, f in enumerate(versions):
            cond = ibis.literal(True)
            if f.effective_from is not None:
                cond = t.event_date >= ibis.literal(f.effective_from)
            if i + 1 < len(versions):
                cond = cond & (t.event_date < ibis.literal(versions[i + 1].effective_from))
            in_force.append(cond)

    def pick(attr: str, null_type: str) -> ir.Value:
        pairs = [
            (cond, getattr(p, attr))
            for cond, p in zip(in_force, parts, strict=True)
            if getattr(p, attr) is not None
        ]
        if len(versions) == 1 and pairs:
            return pairs[0][1]
        return _cases(pairs, ibis.null(null_type))

    fails = _eligibility_fails(benefit, t)
    first = versions[0].effective_from
    if first is not None:
        fails.append((t.event_date < ibis.literal(first), "not_in_force"))
    missing_pairs = [(t[name].isnull(), name) for name in benefit.eligibility.required]
    for cond, p in zip(in_force, parts, strict=True):
        missing_pairs += [(cond & m, name) for m, name in p.missing]
    if any(c.per == "relative" for c in benefit.caps):
        missing_pairs.append((t.relative_id.isnull(), "relative_id"))
    missing = _cases([(_ok(c), ibis.literal(n)) for c, n in missing_pairs],
                     ibis.null("string"))
    fails.append((missing.notnull(), "missing_field"))
    for cond, p in zip(in_force, parts, strict=True):
        fails += [(cond & f, code) for f, code in p.fails]
    reason = _cases([(_ok(c), ibis.literal(code)) for c, code in fails], ibis.null("string"))

    raw = pick("raw", D2)
    reduced = ibis.literal(False)
    waiting = benefit.eligibility.waiting
    if waiting is not None and waiting.reduced_days is not None:
        reduced = _ok(t.event_date < t._cov_first + ibis.interval(days=waiting.reduced_days))
        raw = ibis.cases((reduced, _times(raw, _rate(waiting.reduced_rate))), else_=raw)
    return _BenefitPlan(
        reason=reason,
        missing=missing,
        base=pick("base", D2),
        band=pick("band", "string"),
        rate=pick("rate", D4),
        grade=pick("grade", "int32"),
        raw=raw,
        reduced=reduced,
    )


def _by_benefit(t: ir.Table, values: dict[str, ir.Value], null_type: str) -> ir.Value:
    return _cases([(t.benefit == code, v) for code, v in values.items()], ibis.null(null_type))


def _cap_keys(cap: Cap, t: ir.Table) -> list[ir.Value]:
    if cap.per == "member":
        keys = [t.member_id]
    elif cap.per == "family":
        keys = [t._fam]
    else:
        keys = [t._fam, t.relative_id]
    if cap.period == "year":
        keys.append(t._year)
    elif cap.period == "period":
        keys.append(t._cov_start)
    return [t.benefit, *keys]


def needs_enrolment(policy: Policy) -> bool:
    return any(
        b.eligibility.enrolment or any(c.period == "period" for c in b.caps)
        for b in policy.benefits
    )


def unbound_tables() -> dict[str, ir.Table]:
    return {name: ibis.table(ibis_schema(name), name=TABLE_NAMES[name])
            for name in TABLE_NAMES}


def build(policy: Policy, tables: dict[str, ir.Table] | None = None,
          *, with_prior: bool = True) -> ir.Table:
    """The whole policy as one Ibis expression over ``tables`` (default: unbound)."""
    tables = tables or unbound_tables()
    event_cols = [c.name for c in EVENT_COLUMNS]
    ev = tables["events"]
    rows = ev.select(*event_cols, paid=ibis.null(D2), _prior=ibis.literal(0, type="int32"))
    if with_prior:
        pr = tables["prior"]
        rows = rows.union(
            pr.select(*event_cols, paid=pr.paid, _prior=ibis.literal(1, type="int32")),
            distinct=False,
        )
    m = tables["members"]
    members = m.select(_m_id=m.member_id, birth_date=m.birth_date, gender=m.gender,
                       m_status=m.status, occupation=m.occupation, family_id=m.family_id)
    t = rows.left_join(members, rows.member_id == members._m_id).select(
        *event_cols, "paid", "_prior", "_m_id", "birth_date", "gender", "m_status",
        "occupation", "family_id",
    )
    if needs_enrolment(policy):
        e = tables["enrolments"]
        keys = t.select("event_id", "_prior", "member_id", "event_date")
        joined = keys.join(e, [keys.member_id == e.member_id,
                               e.period_start <= keys.event_date,
                               e.period_end >= keys.event_date])
        cover = joined.group_by(["event_id", "_prior"]).aggregate(
            _cov_start=joined.period_start.max(), _cov_first=joined.first_enrolled.min()
        ).rename(_c_event_id="event_id", _c_prior="_prior")
        t = t.left_join(cover, [t.event_id == cover._c_event_id,
                                t._prior == cover._c_prior]).drop("_c_event_id", "_c_prior")
    else:
        t = t.mutate(_cov_start=ibis.null("date"), _cov_first=ibis.null("date"))

    birthday_passed = (t.event_date.month() * 100 + t.event_date.day()) >= (
        t.birth_date.month() * 100 + t.birth_date.day()
    )
    t = t.mutate(
        _age=t.event_date.year() - t.birth_date.year()
        - ibis.cases((birthday_passed, 0), else_=1),
        _year=t.event_date.year(),
        _fam=ibis.coalesce(t.family_id, t.member_id),
        _dx=ibis.literal(";").concat(t.diagnosis.upper().replace(" ", ""), ";"),
    )

    plans = {b.code: _benefit_plan(b, t) for b in policy.benefits}

    def combine(attr: str, null_type: str) -> ir.Value:
        return _by_benefit(t, {c: getattr(p, attr) for c, p in plans.items()}, null_type)

    t = t.mutate(
        _reason=combine("reason", "string"),
        _missing=combine("missing", "string"),
        _base=combine("base", D2),
        _band=combine("band", "string"),
        _rate=combine("rate", D4),
        _grade=combine("grade", "int32"),
        _raw=combine("raw", D2),
        _reduced=combine("reduced", "boolean"),
    )
    t = t.mutate(_a0=ibis.cases(
        (t._prior == 1, t.paid),
        (t._reason.isnull(), ibis.coalesce(t._raw, _money(0))),
        else_=_money(0),
    ).cast(D2))
    # Windows sort their whole input: keep only what the caps and the output need.
    t = t.select("event_id", "member_id", "benefit", "event_date", "outcome", "relative_id",
                 "_prior", "_year", "_fam", "_cov_start", "_reason", "_missing", "_base",
                 "_band", "_rate", "_grade", "_raw", "_reduced", "_a0")
    t, stages = _apply_caps(policy, t)
    return _finish(policy, t, stages)


@dataclass
class _Stage:
    benefit: str
    cap: Cap
    written: int
    """Index of the cap in the benefit's ``caps`` as written (the naming tie-break)."""
    before: str
    after: str
    room: str
    """Room column: money left (null where a per-event cap does not apply); for a
    ``times`` cap 0 once used up, else null (no limit)."""


def _cap_window(cap: Cap, t: ir.Table) -> Any:
    order = [t._prior.desc(), t.event_date, t.event_id]
    return ibis.window(group_by=_cap_keys(cap, t), order_by=order, rows=(None, 0))


def _apply_caps(policy: Policy, t: ir.Table) -> tuple[ir.Table, list[_Stage]]:
    """Caps in the canonical nesting order (schema docstring, section 3): each stage a
    running sum over the previous stage's amounts, exact because the groups nest."""
    stages: list[_Stage] = []
    n = 0
    for benefit in policy.benefits:
        for cap in nesting_order(benefit.caps):
            written = next(i for i, c in enumerate(benefit.caps) if c is cap)
            a = t[f"_a{n}"]
            mine = (t.benefit == benefit.code) & (t._prior == 0)
            if cap.per == "event":
                applies = mine
                if cap.unless_outcome:
                    applies = applies & ~_ok(t.outcome.isin(list(cap.unless_outcome)))
                room = ibis.cases((applies, _money(cap.amount)), else_=ibis.null(D2))
                new = ibis.cases((applies, ibis.least(a, _money(cap.amount))), else_=a)
            else:
                # the running sum gets its own projection so DuckDB computes one window
                t = t.mutate(_cum=_used(cap, a).sum().over(_cap_window(cap, t)))
                a = t[f"_a{n}"]
                mine = (t.benefit == benefit.code) & (t._prior == 0)
                room = ibis.cases((mine, _room(cap, t._cum - _used(cap, a))),
                                  else_=ibis.null(D2))
                new = ibis.cases((mine, ibis.least(a, room)), else_=a)
            t = t.mutate(**{f"_a{n + 1}": new.cast(D2), f"_r{n + 1}": room.cast(D2)})
            if "_cum" in t.columns:
                t = t.drop("_cum")
            stages.append(_Stage(benefit.code, cap, written, f"_a{n}", f"_a{n + 1}",
                                 f"_r{n + 1}"))
            n += 1
    t = t.mutate(_pay=t[f"_a{n}"])
    return _final_rooms(t, stages)


def _used(cap: Cap, amount: ir.Value) -> ir.Value:
    """What a row uses of ``cap``: its money, or 1 if it is paid at all (times caps)."""
    if cap.amount is not None:
        return amount
    return ibis.cases((amount > _money(0), 1), else_=0)


def _room(cap: Cap, used_before: ir.Value) -> ir.Value:
    if cap.amount is not None:
        return ibis.greatest(_money(cap.amount) - used_before, _money(0)).cast(D2)
    return ibis.cases((used_before >= cap.times, _money(0)), else_=ibis.null(D2))


def _final_rooms(t: ir.Table, stages: list[_Stage]) -> tuple[ir.Table, list[_Stage]]:
    """Point each group cap's room at what was left of it given the FINAL payables.

    A stage's own room was computed from its input amounts; for the widest group cap of
    a benefit that is the same thing (its output is final, and once it binds both are
    0), and per-event rooms are pointwise. The narrower group caps are recomputed with a
    running sum of ``_pay`` (cumulative sum minus the current row).
    """
    redo = []
    for code in dict.fromkeys(s.benefit for s in stages):
        grouped = [s for s in stages if s.benefit == code and s.cap.per != "event"]
        redo += grouped[:-1]
    if not redo:
        return t, stages
    t = t.mutate(**{f"_u{s.room}": _used(s.cap, t._pay).sum().over(_cap_window(s.cap, t))
                    for s in redo})
    mine = {s.room: (t.benefit == s.benefit) & (t._prior == 0) for s in redo}
    t = t.mutate(**{
        s.room: ibis.cases(
            (mine[s.room], _room(s.cap, t[f"_u{s.room}"] - _used(s.cap, t._pay))),
            else_=ibis.null(D2),
        ).cast(D2)
        for s in redo
    })
    return t.drop(*[f"_u{s.room}" for s in redo]), stages


def _named_cap(mine: list[_Stage], t: ir.Table) -> list[tuple[ir.BooleanValue, _Stage]]:
    """(condition, stage) for each cap: it is the one named on the row.

    The reference scan (caps in written order, a cap whose room is below the running
    amount lowers it and is named) names the first written cap whose room equals the
    smallest room, when that room is below raw. Null rooms do not limit.
    """
    by_written = sorted(mine, key=lambda s: s.written)
    out = []
    for k, s in enumerate(by_written):
        room = t[s.room]
        cond = room.notnull() & (room < t._a0)
        for j, other in enumerate(by_written):
            if j == k:
                continue
            r = t[other.room]
            cond = cond & (r.isnull() | ((r > room) if j < k else (r >= room)))
        out.append((_ok(cond), s))
    return out


def _finish(policy: Policy, t: ir.Table, stages: list[_Stage]) -> ir.Table:
    cap_codes: dict[str, ir.Value] = {}
    cap_rooms: dict[str, ir.Value] = {}
    cap_list: list[tuple[str, Cap]] = []
    for benefit in policy.benefits:
        mine = [s for s in stages if s.benefit == benefit.code]
        if not mine:
            continue
        named = _named_cap(mine, t)
        cap_codes[benefit.code] = _cases(
            [(cond, ibis.literal(s.cap.cap_code)) for cond, s in named], ibis.null("string")
        )
        money_rooms = [t[s.room] for s in mine if s.cap.amount is not None]
        tightest = (ibis.least(*money_rooms) if len(money_rooms) > 1
                    else money_rooms[0] if money_rooms else ibis.null(D2))
        cap_rooms[benefit.code] = _cases([(cond, t[s.room]) for cond, s in named], tightest)
        cap_list += [(benefit.code, s.cap) for s in mine]
    t = t.mutate(
        _cap=_by_benefit(t, cap_codes, "string"),
        _room=_by_benefit(t, cap_rooms, D2),
    )
    cap_msgs = [
        ((t.benefit == code) & (t._cap == cap.cap_code),
         ibis.literal(cap_message(cap.cap_code, cap.amount, cap.times)))
        for code, cap in cap_list
    ]
    inel = t._reason.notnull()
    capped = t._cap.notnull()
    reduced = _ok(t._reduced)
    missing_msgs = [
        (t._missing == name, ibis.literal(missing_message(name)))
        for name in sorted({*_all_fields(policy)})
    ]
    reason_msgs = [(t._reason == code, ibis.literal(msg)) for code, msg in REASON_MESSAGES.items()
                   if code not in ("missing_field", "waiting_period_reduced")]
    message = _cases(
        [
            *[(inel & (t._reason == "missing_field") & c, m) for c, m in missing_msgs],
            *[(inel & c, m) for c, m in reason_msgs],
            *[(~inel & c, m) for c, m in cap_msgs],
            (~inel & reduced, ibis.literal(REASON_MESSAGES["waiting_period_reduced"])),
        ],
        ibis.literal(""),
    )
    null = ibis.null
    out = t.filter(t._prior == 0).select(
        event_id=t.event_id,
        member_id=t.member_id,
        benefit=t.benefit,
        event_date=t.event_date,
        payable=ibis.cases((inel, _money(0)), else_=t._pay),
        status=ibis.cases((inel, "ineligible"), (capped, "capped"), else_="payable"),
        reason=ibis.cases((inel, t._reason), (capped, t._cap),
                          (reduced, "waiting_period_reduced"), else_=""),
        reason_message=message,
        base=t._base,
        band=ibis.cases((inel, null("string")), else_=t._band),
        rate=ibis.cases((inel, null(D4)), else_=t._rate),
        grade=ibis.cases((inel, null("int32")), else_=t._grade),
        raw_amount=ibis.cases((inel, null(D2)), else_=t._raw),
        cap=ibis.cases((inel, null("string")), else_=t._cap),
        cap_room=ibis.cases((inel, null(D2)), else_=t._room),
    )
    out = out.select(*[out[c].cast(OUTPUT_TYPES[c]) for c in OUTPUT_COLUMNS])
    return out.order_by(["event_date", "event_id"])


def _all_fields(policy: Policy) -> set[str]:
    names = {"out_of_pocket", "total_cost", "loss_amount", "days", "outcome",
             "disability_grade", "fracture_site", "relative_id"}
    for b in policy.benefits:
        names.update(b.eligibility.required)
    return names
