"""Compile a :class:`~huzhu.rules.schema.Policy` to ONE Ibis expression.

The expression reads the typed tables named in :data:`huzhu.rules.columns.TABLE_NAMES`
(events, members, enrolments, prior payouts) and yields the columns of
:data:`~huzhu.rules.output.COLUMN_SETS` (``full`` or ``minimal``). It is built over
unbound tables, so the same plan compiles to DuckDB SQL or Spark SQL; the semantics it
implements are written down in :mod:`huzhu.rules.schema`.

Plan shape: events (+ prior payouts, flagged ``_prior``) ⟕ members ⟕ covering
enrolment ⟕ first dates of prerequisite benefits → per-row eligibility reason, base,
band, rate, raw amount (CASE over the benefit) → one projection per cap stage, each a
window ordered by (prior first, event_date, event_id) → explanation columns → events
only, sorted → text.

Why the plan carries small integers: every column that reaches a window is sorted with
it, and sorting text is what made the first engine five times slower than hand-written
SQL. Reasons, missing fields, band labels and named caps travel as integer codes into
tables built here at compile time, and become text in the last projection, after the
final sort.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir

from huzhu.rules.columns import EVENT_COLUMNS, TABLE_NAMES, ibis_schema
from huzhu.rules.output import (
    COLUMN_SETS,
    FIELD_LABELS,
    INELIGIBLE_REASONS,
    OUTPUT_TYPES,
    REASON_MESSAGES,
)
from huzhu.rules.reasons import (
    WAIT_MARK,
    benefit_message,
    cap_message,
    formula_messages,
    missing_message,
    prerequisite_message,
)
from huzhu.rules.schema import (
    Band,
    BandsFormula,
    Benefit,
    Cap,
    GradeRow,
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
D38 = "decimal(38,2)"
R38 = "decimal(38,4)"
"""Money and rates as they enter a product (see :func:`_wide`)."""
CODE = "int16"
"""Type of the integer codes (reason, missing field, band, cap) carried through windows."""

WAIT_TO = "_wait_to"
"""The last day of the waiting period, on rows it refused (its reason text names it)."""
MISSING_FIELDS = sorted(FIELD_LABELS)
"""Fields a ``missing_field`` row can name, by code."""
_REASONS = [*INELIGIBLE_REASONS, "waiting_period_reduced", ""]
"""Reason texts by code; the codes of named caps follow them."""


def _money(value: Decimal | int) -> ir.Value:
    return ibis.literal(Decimal(value).quantize(Decimal("0.01")), type=D2)


def _rate(value: Decimal) -> ir.Value:
    return ibis.literal(Decimal(value).quantize(Decimal("0.0001")), type=D4)


def _code(value: int) -> ir.Value:
    return ibis.literal(value, type=CODE)


def _ok(cond: ir.BooleanValue) -> ir.BooleanValue:
    """A condition that counts null as false."""
    return ibis.coalesce(cond, ibis.literal(False))


def _as(value: ir.Value, type_: str) -> ir.Value:
    """``value`` cast to ``type_`` in the SQL, always. Ibis drops a cast to the type it
    believes the value has, but its decimal types are not the backend's: DuckDB types
    decimal(18,2) × decimal(18,2) as decimal(18,4) and a sum as decimal(38,2), so money
    left uncast widened to decimal(38,6) in the output (3880.000000)."""
    return ops.Cast(value, to=dt.dtype(type_)).to_expr()


def _d2(value: ir.Value) -> ir.Value:
    return _as(value, D2)


def _wide(value: ir.Value) -> ir.Value:
    """Money widened for a product: DuckDB keeps decimal(18,2) × decimal(18,4) in 18
    digits (decimal(18,6)) and overflowed from 1,000,000,000,000.00 on; in 38 digits
    any accepted amount times any rate fits."""
    return _as(value, D38)


def _times(amount: ir.Value, rate: ir.Value) -> ir.Value:
    """amount × rate, rounded half-up to the fen. The rate is at most 1 (validated), so
    the result is at most the amount and fits decimal(18,2)."""
    return _d2((_wide(amount) * _as(rate, R38)).round(2))


def _cases(pairs: list[tuple[Any, Any]], else_: Any) -> Any:
    if not pairs:
        return else_
    return ibis.cases(*pairs, else_=else_)


def _lookup(index: ir.IntegerValue, texts: list[str], arrays: bool) -> ir.Value:
    """``texts[index]`` (null index → null), after the final sort. With ``arrays``: an
    index into a constant array, five times faster on DuckDB than a CASE of one
    comparison per text for the forty-odd reason messages. PySpark 4.0 gets the CASE:
    its optimizer gave wrong values, or an internal error, for element_at over constant
    arrays here."""
    if not texts:
        return ibis.null("string")
    if arrays:
        return ibis.literal(list(texts), type="array<string>")[index.cast("int32")]
    return _cases([(index == i, ibis.literal(text)) for i, text in enumerate(texts)],
                  ibis.null("string"))


class _Texts:
    """A compile-time table of texts the plan refers to by integer code."""

    def __init__(self, initial: Iterable[str] = ()) -> None:
        self.items: list[str] = list(initial)

    def code(self, text: str) -> int:
        if text not in self.items:
            self.items.append(text)
        return self.items.index(text)


# ---------------------------------------------------------------- formula builders


@dataclass
class _FormulaParts:
    fails: list[tuple[ir.BooleanValue, str]] = field(default_factory=list)
    missing: list[tuple[ir.BooleanValue, str]] = field(default_factory=list)
    base: ir.Value | None = None
    band: ir.Value | None = None
    """Code of the band label in :attr:`_Plan.bands`."""
    rate: ir.Value | None = None
    grade: ir.Value | None = None
    raw: ir.Value | None = None
    days: ir.Value | None = None
    """per_day: the days the formula pays for (before day caps)."""
    day_amount: ir.Value | None = None
    """per_day: the daily amount."""


@dataclass
class _Plan:
    """What the builders share while one policy is compiled."""

    bands: _Texts = field(default_factory=_Texts)


Builder = Callable[[_Plan, Benefit, Any, ir.Table], _FormulaParts]


def _base_column(benefit: Benefit, formula: BandsFormula | PercentFormula) -> str:
    """The money fact a bands or percent formula computes from (validation requires one)."""
    name = benefit.effective_base(formula)
    if name is None:
        raise ValueError(f"{benefit.code}: formula {formula.kind} has no base")
    return name


def _grade_amount(grades: list[GradeRow], grade: ir.Value) -> ir.Value:
    return _cases([(grade == row.grade, _money(row.amount)) for row in grades], ibis.null(D2))


def _bands_parts(plan: _Plan, benefit: Benefit, formula: BandsFormula,
                 t: ir.Table) -> _FormulaParts:
    parts = _FormulaParts()
    base_name = _base_column(benefit, formula)
    base = t[base_name]
    parts.missing.append((base.isnull(), base_name))
    parts.base = base
    amount = base
    if formula.threshold is not None:
        parts.fails.append((base <= _money(formula.threshold), "below_threshold"))
    if formula.deductible is not None:
        amount = _d2(base - _money(formula.deductible))
        parts.fails.append((amount <= _money(0), "below_deductible"))
    parts.fails.append((amount <= _money(formula.bands[0].above), "below_threshold"))

    def in_band(band: Band) -> ir.BooleanValue:
        cond = amount > _money(band.above)
        return cond if band.upto is None else cond & (amount <= _money(band.upto))

    parts.band = _cases([(in_band(b), _code(plan.bands.code(b.label))) for b in formula.bands],
                        ibis.null(CODE))
    parts.rate = _cases([(in_band(b), _rate(b.rate)) for b in formula.bands], ibis.null(D4))
    if formula.mode == "bracket":
        parts.raw = _times(amount, parts.rate)
    else:
        terms = []
        for b in formula.bands:
            top = amount if b.upto is None else ibis.least(amount, _money(b.upto))
            slice_ = _wide(ibis.greatest(top - _money(b.above), _money(0)))
            terms.append(slice_ * _as(_rate(b.rate), R38))
        total = terms[0]  # a formula has at least one band
        for term in terms[1:]:
            total = total + term
        parts.raw = _d2(total.round(2))
    return parts


def _percent_parts(plan: _Plan, benefit: Benefit, formula: PercentFormula,
                   t: ir.Table) -> _FormulaParts:
    base_name = _base_column(benefit, formula)
    base = t[base_name]
    rate = _rate(formula.rate)
    return _FormulaParts(missing=[(base.isnull(), base_name)], base=base, rate=rate,
                         raw=_times(base, rate))


def _per_day_parts(plan: _Plan, benefit: Benefit, formula: PerDayFormula,
                   t: ir.Table) -> _FormulaParts:
    days = t.days
    counted = days - (formula.from_day - 1)
    fails = [(counted < 1, "below_min_days")]
    if formula.max_days is not None:
        counted = ibis.least(counted, formula.max_days)
    amount = _money(formula.amount)
    return _FormulaParts(
        fails=fails, missing=[(days.isnull(), "days")], base=_d2(days),
        raw=_d2(_wide(counted) * amount), days=_as(counted, "int32"),
        day_amount=amount,
    )


def _lump_sum_parts(plan: _Plan, benefit: Benefit, formula: LumpSumFormula,
                    t: ir.Table) -> _FormulaParts:
    return _FormulaParts(raw=_money(formula.amount))


def _grade_table_parts(plan: _Plan, benefit: Benefit, formula: GradeTableFormula,
                       t: ir.Table) -> _FormulaParts:
    grade = t.disability_grade
    raw = _grade_amount(formula.grades, grade)
    return _FormulaParts(fails=[(raw.isnull(), "grade_not_covered")],
                         missing=[(grade.isnull(), "disability_grade")], grade=grade, raw=raw)


def _outcome_parts(plan: _Plan, benefit: Benefit, formula: OutcomeFormula,
                   t: ir.Table) -> _FormulaParts:
    parts = _FormulaParts()
    outcome, grade, site = t.outcome, t.disability_grade, t.fracture_site
    # No outcome but a disability grade is a disability (schema, section 2): only a
    # row with neither lacks its outcome.
    parts.missing.append((outcome.isnull() & grade.isnull(), "outcome"))
    parts.missing.append(((outcome == "disability") & grade.isnull(), "disability_grade"))
    if formula.fracture is not None:
        parts.missing.append(
            ((outcome == "fracture") & grade.isnull() & site.isnull(), "fracture_site")
        )
    is_death = outcome == "death"
    graded = _ok(outcome.isnull() | outcome.isin(["disability", "fracture"])) & grade.notnull()
    fracture = (outcome == "fracture") & grade.isnull()
    amount_pairs, band_pairs = [], []

    def band(label: str) -> ir.Value:
        return _code(plan.bands.code(label))

    if formula.death is not None:
        amount_pairs.append((is_death, _money(formula.death)))
        band_pairs.append((is_death, band("death")))
    if formula.disability is not None:
        amount_pairs.append((graded, _grade_amount(formula.disability, grade)))
        band_pairs.append((graded, band("disability")))
        parts.fails.append((graded & _grade_amount(formula.disability, grade).isnull(),
                            "grade_not_covered"))
    if formula.fracture is not None:
        major = site == "major"
        amount_pairs.append((fracture & major, _money(formula.fracture.major)))
        amount_pairs.append((fracture, _money(formula.fracture.other)))
        band_pairs.append((fracture & major, band("fracture:major")))
        band_pairs.append((fracture, band("fracture:other")))
    parts.raw = _cases(amount_pairs, ibis.null(D2))
    parts.band = _cases(band_pairs, ibis.null(CODE))
    parts.grade = _cases([(graded, grade)], ibis.null("int32"))
    covered = _cases([(cond, ibis.literal(True)) for cond, _ in band_pairs],
                     ibis.literal(False))
    parts.fails.append((~covered, "no_covered_outcome"))
    return parts


FORMULA_BUILDERS: dict[type, Builder] = {
    BandsFormula: _bands_parts,
    PercentFormula: _percent_parts,
    PerDayFormula: _per_day_parts,
    LumpSumFormula: _lump_sum_parts,
    GradeTableFormula: _grade_table_parts,
    OutcomeFormula: _outcome_parts,
}
"""One builder per formula class of :data:`huzhu.rules.schema.FORMULA_CLASSES`."""


def _formula_parts(plan: _Plan, benefit: Benefit, formula: Any, t: ir.Table) -> _FormulaParts:
    return FORMULA_BUILDERS[type(formula)](plan, benefit, formula, t)


# ---------------------------------------------------------------- eligibility


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
    if e.requires is not None:
        first = t[_first_column(e.requires.benefit)]
        fails.append((~_ok(first <= t.event_date), "prerequisite_missing"))
    return fails


def _first_column(code: str) -> str:
    return f"_first_{code}"


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
    """Code into INELIGIBLE_REASONS (null: eligible)."""
    missing: ir.Value
    """Code into MISSING_FIELDS (null: nothing missing)."""
    base: ir.Value
    band: ir.Value
    rate: ir.Value
    grade: ir.Value
    raw: ir.Value
    reduced: ir.Value
    days: ir.Value
    day_amount: ir.Value


def _in_force(benefit: Benefit, t: ir.Table) -> list[ir.BooleanValue]:
    """Per formula version: the event date lies in its time (from its date until the
    next one's)."""
    versions = benefit.versions
    if len(versions) == 1:
        return [ibis.literal(True)]
    out = []
    for i, f in enumerate(versions):
        cond = ibis.literal(True)
        if f.effective_from is not None:
            cond = t.event_date >= ibis.literal(f.effective_from)
        if i + 1 < len(versions):
            cond = cond & (t.event_date < ibis.literal(versions[i + 1].effective_from))
        out.append(cond)
    return out


def _benefit_plan(plan: _Plan, benefit: Benefit, t: ir.Table) -> _BenefitPlan:
    versions = benefit.versions
    parts = [_formula_parts(plan, benefit, f, t) for f in versions]
    in_force = _in_force(benefit, t)

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
    missing = _cases([(_ok(c), _code(MISSING_FIELDS.index(n))) for c, n in missing_pairs],
                     ibis.null(CODE))
    fails.append((missing.notnull(), "missing_field"))
    for cond, p in zip(in_force, parts, strict=True):
        fails += [(cond & f, code) for f, code in p.fails]
    reason = _cases([(_ok(c), _code(INELIGIBLE_REASONS.index(code))) for c, code in fails],
                    ibis.null(CODE))

    raw = pick("raw", D2)
    reduced = ibis.literal(False)
    waiting = benefit.eligibility.waiting
    if (waiting is not None and waiting.reduced_days is not None
            and waiting.reduced_rate is not None):  # both or neither (validated)
        reduced = _ok(t.event_date < t._cov_first + ibis.interval(days=waiting.reduced_days))
        raw = ibis.cases((reduced, _times(raw, _rate(waiting.reduced_rate))), else_=raw)
    return _BenefitPlan(
        reason=reason,
        missing=missing,
        base=pick("base", D2),
        band=pick("band", CODE),
        rate=pick("rate", D4),
        grade=pick("grade", "int32"),
        raw=raw,
        reduced=reduced,
        days=pick("days", "int32"),
        day_amount=pick("day_amount", D2),
    )


# ---------------------------------------------------------------- the plan


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
    return [t._b, *keys]


def unbound_tables() -> dict[str, ir.Table]:
    return {name: ibis.table(ibis_schema(name), name=TABLE_NAMES[name])
            for name in TABLE_NAMES}


class _Compiler:
    """One policy → one expression; ``with_prior`` adds the prior payouts' rows."""

    def __init__(self, policy: Policy, tables: dict[str, ir.Table], with_prior: bool,
                 carry_benefit: bool, arrays: bool = True):
        self.policy = policy
        self.arrays = arrays
        self.carry_benefit = carry_benefit
        """Keep the event's benefit text (simulate: benefits the policy lacks); else it is
        rebuilt from ``_b``, which the input checks make exact."""
        self.tables = tables
        self.with_prior = with_prior
        self.plan = _Plan()
        self.index = {b.code: i for i, b in enumerate(policy.benefits)}
        self.caps_named = _Texts()
        """``benefit:cap_code`` of every cap, by the code the plan carries in ``_cap``."""
        self.messages = _Texts()
        """Every reason message, by the code the plan carries in ``_mi``."""

    # --- helpers over the current table

    def is_event(self, t: ir.Table) -> ir.BooleanValue:
        return (t._prior == 0) if self.with_prior else ibis.literal(True)

    def is_prior(self, t: ir.Table) -> ir.BooleanValue:
        return (t._prior == 1) if self.with_prior else ibis.literal(False)

    def mine(self, t: ir.Table, benefit: Benefit) -> ir.BooleanValue:
        """Event rows (not prior payouts) of ``benefit``."""
        own = t._b == self.index[benefit.code]
        return (own & (t._prior == 0)) if self.with_prior else own

    def by_benefit(self, t: ir.Table, values: dict[str, ir.Value], null: Any) -> ir.Value:
        return _cases([(t._b == self.index[code], v) for code, v in values.items()], null)

    def window(self, cap: Cap, t: ir.Table) -> Any:
        order = [t.event_date, t.event_id]
        if self.with_prior:
            order = [t._prior.desc(), *order]
        return ibis.window(group_by=_cap_keys(cap, t), order_by=order, rows=(None, 0))

    # --- stages

    def rows(self) -> ir.Table:
        event_cols = [c.name for c in EVENT_COLUMNS]
        ev = self.tables["events"]
        rows = ev.select(*event_cols, paid=ibis.null(D2), days_paid=ibis.null("int32"),
                         _prior=ibis.literal(0, type="int8"))
        if self.with_prior:
            pr = self.tables["prior"]
            rows = rows.union(
                pr.select(*event_cols, paid=pr.paid, days_paid=pr.days_paid,
                          _prior=ibis.literal(1, type="int8")),
                distinct=False,
            )
        return rows

    def joined(self, rows: ir.Table) -> ir.Table:
        event_cols = [c.name for c in EVENT_COLUMNS]
        m = self.tables["members"]
        members = m.select(_m_id=m.member_id, birth_date=m.birth_date, gender=m.gender,
                           m_status=m.status, occupation=m.occupation, family_id=m.family_id)
        t = rows.left_join(members, rows.member_id == members._m_id).select(
            *event_cols, "paid", "days_paid", "_prior", "_m_id", "birth_date", "gender",
            "m_status", "occupation", "family_id",
        )
        t = self._with_cover(t)
        return self._with_prerequisites(t, rows)

    def _with_cover(self, t: ir.Table) -> ir.Table:
        if not self.policy.reads_enrolments:
            return t.mutate(_cov_start=ibis.null("date"), _cov_first=ibis.null("date"))
        e = self.tables["enrolments"]
        keys = t.select("event_id", "_prior", "member_id", "event_date")
        joined = keys.join(e, [keys.member_id == e.member_id,
                               e.period_start <= keys.event_date,
                               e.period_end >= keys.event_date])
        cover = joined.group_by(["event_id", "_prior"]).aggregate(
            _cov_start=joined.period_start.max(), _cov_first=joined.first_enrolled.min()
        ).rename(_c_event_id="event_id", _c_prior="_prior")
        return t.left_join(cover, [t.event_id == cover._c_event_id,
                                   t._prior == cover._c_prior]).drop("_c_event_id", "_c_prior")

    def _with_prerequisites(self, t: ir.Table, rows: ir.Table) -> ir.Table:
        """Per member, the first event date of each benefit some benefit requires — over
        the events of the run and the prior payouts, whatever they paid."""
        needed = sorted({b.eligibility.requires.benefit for b in self.policy.benefits
                         if b.eligibility.requires is not None})
        if not needed:
            return t
        src = rows.filter(rows.benefit.isin(needed))
        firsts = src.group_by("member_id").aggregate(**{
            _first_column(code): ibis.cases((src.benefit == code, src.event_date),
                                            else_=ibis.null("date")).min()
            for code in needed
        }).rename(_p_member="member_id")
        return t.left_join(firsts, t.member_id == firsts._p_member).drop("_p_member")

    def facts(self, t: ir.Table) -> ir.Table:
        birthday_passed = (t.event_date.month() * 100 + t.event_date.day()) >= (
            t.birth_date.month() * 100 + t.birth_date.day()
        )
        return t.mutate(
            _age=t.event_date.year() - t.birth_date.year()
            - ibis.cases((birthday_passed, 0), else_=1),
            _year=t.event_date.year(),
            _fam=ibis.coalesce(t.family_id, t.member_id),
            _dx=ibis.literal(";").concat(t.diagnosis.upper().replace(" ", ""), ";"),
            _b=_cases([(t.benefit == code, ibis.literal(i, type="int16"))
                       for code, i in self.index.items()], ibis.literal(-1, type="int16")),
        )

    def amounts(self, t: ir.Table) -> ir.Table:
        plans = {b.code: _benefit_plan(self.plan, b, t) for b in self.policy.benefits}

        def combine(attr: str, null: Any) -> ir.Value:
            return self.by_benefit(t, {c: getattr(p, attr) for c, p in plans.items()}, null)

        not_in_policy = _code(INELIGIBLE_REASONS.index("benefit_not_in_policy"))
        t = t.mutate(
            _reason=combine("reason", not_in_policy),
            _missing=combine("missing", ibis.null(CODE)),
            _base=combine("base", ibis.null(D2)),
            _band=combine("band", ibis.null(CODE)),
            _rate=combine("rate", ibis.null(D4)),
            _grade=combine("grade", ibis.null("int32")),
            _raw=combine("raw", ibis.null(D2)),
            _reduced=combine("reduced", ibis.literal(False)),
            _days=combine("days", ibis.null("int32")),
            _day_amt=combine("day_amount", ibis.null(D2)),
        )
        # The quantity the caps count: money, or paid days for a day-capped benefit.
        day_capped = [b.code for b in self.policy.benefits if b.day_capped]
        is_days = (t._b.isin([self.index[c] for c in day_capped]) if day_capped
                   else ibis.literal(False))
        prior_qty = ibis.cases((is_days, _d2(ibis.coalesce(t.days_paid, 0))),
                               else_=t.paid)
        event_qty = ibis.cases((is_days, _d2(ibis.coalesce(t._days, 0))),
                               else_=ibis.coalesce(t._raw, _money(0)))
        t = t.mutate(_a0=_d2(ibis.cases(
            (self.is_prior(t), prior_qty),
            (t._reason.isnull(), event_qty),
            else_=_money(0),
        )))
        waiting = {b.code: b.eligibility.waiting.no_pay_days for b in self.policy.benefits
                   if b.eligibility.waiting is not None}
        if waiting:
            # The last day of the waiting period, for the reason text of a row it refused
            # (null on every other row, so it costs the windows next to nothing).
            in_wait = t._reason == INELIGIBLE_REASONS.index("waiting_period")
            # A date plus an interval is a timestamp in DuckDB: cast back to a date.
            last = self.by_benefit(
                t, {code: _as(t._cov_first + ibis.interval(days=days - 1), "date")
                    for code, days in waiting.items()}, ibis.null("date"))
            t = t.mutate(_wait_to=ibis.cases((_ok(in_wait), last), else_=ibis.null("date")))
        return t

    def caps(self, t: ir.Table) -> tuple[ir.Table, list[_Stage]]:
        """Caps in the canonical nesting order (schema docstring, section 3): per-event
        caps pointwise, then each group cap a running sum over the previous stage's
        amounts, exact because the groups nest."""
        stages: list[_Stage] = []
        # Per-event caps come first in every benefit's nesting order and touch one row
        # each, so they all run before the lean projection (``outcome`` stays behind).
        for benefit in self.policy.benefits:
            for cap in nesting_order(benefit.caps):
                if cap.per == "event":
                    t = self._event_stage(t, benefit, cap, stages)
        t = t.select(*self._lean(t))
        grouped = [(benefit, cap) for benefit in self.policy.benefits
                   for cap in nesting_order(benefit.caps) if cap.per != "event"]
        if not grouped:
            return t.mutate(_pay=t[f"_a{len(stages)}"]), stages
        # Only prior payouts and eligible events go through the windows: an ineligible
        # event uses no cap (its amount is 0) and shows none (its rooms are never output),
        # and sorting fewer rows is most of what a run costs.
        counted = self.is_prior(t) | t._reason.isnull()
        inside, outside = t.filter(counted), t.filter(~counted)
        first = len(stages)
        for benefit, cap in grouped:
            inside = self._group_stage(inside, benefit, cap, stages)
        inside = self.final_rooms(inside.mutate(_pay=inside[f"_a{len(stages)}"]), stages)
        passed = outside[f"_a{first}"]
        outside = outside.mutate(**{
            col: value for s in stages[first:]
            for col, value in ((s.after, passed), (s.room, ibis.null(D2)))
        }, _pay=passed)
        return inside.union(outside.select(*inside.columns), distinct=False), stages

    def _lean(self, t: ir.Table) -> list[str]:
        """Columns the windows carry (they sort all of them): no text but the keys."""
        keep = ["event_id", "member_id", "event_date", "relative_id", "_b", "_year", "_fam",
                "_cov_start", "_reason", "_missing", "_base", "_band", "_rate", "_grade",
                "_raw", "_reduced", "_day_amt"]
        if self.carry_benefit:
            keep.append("benefit")
        if self.with_prior:
            keep.append("_prior")
        if WAIT_TO in t.columns:
            keep.append(WAIT_TO)
        return [*keep, *[c for c in t.columns if c[:2] in ("_a", "_r") and c[2:].isdigit()]]

    def _stage(self, benefit: Benefit, cap: Cap, stages: list[_Stage]) -> _Stage:
        n = len(stages)
        written = next(i for i, c in enumerate(benefit.caps) if c is cap)
        stage = _Stage(benefit, cap, written, f"_a{n}", f"_a{n + 1}", f"_r{n + 1}")
        stages.append(stage)
        return stage

    def _event_stage(self, t: ir.Table, benefit: Benefit, cap: Cap,
                     stages: list[_Stage]) -> ir.Table:
        s = self._stage(benefit, cap, stages)
        a = t[s.before]
        applies = self.mine(t, benefit)
        if cap.unless_outcome:
            applies = applies & ~_ok(t.outcome.isin(list(cap.unless_outcome)))
        limit = _money(cap.limit)  # a per-event cap limits money (validated)
        room = ibis.cases((applies, limit), else_=ibis.null(D2))
        new = ibis.cases((applies, ibis.least(a, limit)), else_=a)
        return t.mutate(**{s.after: _d2(new), s.room: _d2(room)})

    def _group_stage(self, t: ir.Table, benefit: Benefit, cap: Cap,
                     stages: list[_Stage]) -> ir.Table:
        s = self._stage(benefit, cap, stages)
        # the running sum gets its own projection so DuckDB computes one window
        t = t.mutate(_cum=_used(cap, t[s.before]).sum().over(self.window(cap, t)))
        a = t[s.before]
        mine = self.mine(t, benefit)
        room = ibis.cases((mine, _room(cap, t._cum - _used(cap, a))), else_=ibis.null(D2))
        new = ibis.cases((mine, ibis.least(a, room)), else_=a)
        return t.mutate(**{s.after: _d2(new), s.room: _d2(room)}).drop("_cum")

    def final_rooms(self, t: ir.Table, stages: list[_Stage]) -> ir.Table:
        """Point each group cap's room at what was left of it given the FINAL payables.

        A stage's own room was computed from its input amounts; for the widest group cap
        of a benefit that is the same thing (its output is final, and once it binds both
        are 0), and per-event rooms are pointwise. The narrower group caps are recomputed
        with a running sum of ``_pay`` (cumulative sum minus the current row).
        """
        redo = []
        for code in dict.fromkeys(s.benefit.code for s in stages):
            grouped = [s for s in stages if s.benefit.code == code and s.cap.per != "event"]
            redo += grouped[:-1]
        if not redo:
            return t
        t = t.mutate(**{f"_u{s.room}": _used(s.cap, t._pay).sum().over(self.window(s.cap, t))
                        for s in redo})
        t = t.mutate(**{
            s.room: _d2(ibis.cases(
                (self.mine(t, s.benefit),
                 _room(s.cap, t[f"_u{s.room}"] - _used(s.cap, t._pay))),
                else_=ibis.null(D2),
            ))
            for s in redo
        })
        return t.drop(*[f"_u{s.room}" for s in redo])

    def explain(self, t: ir.Table, stages: list[_Stage]) -> ir.Table:
        """Named cap, rooms, days, status, and the codes of reason and message."""
        caps = self.caps_named
        reasons = _Texts(_REASONS)
        cap_code: dict[str, ir.Value] = {}
        cap_room: dict[str, ir.Value] = {}
        days_left: dict[str, ir.Value] = {}
        for benefit in self.policy.benefits:
            mine = [s for s in stages if s.benefit.code == benefit.code]
            if not mine:
                continue
            named = _named_cap(mine, t)
            cap_code[benefit.code] = _cases(
                [(cond, _code(caps.code(f"{benefit.code}:{s.cap.cap_code}")))
                 for cond, s in named], ibis.null(CODE))
            rooms = [t[s.room] for s in mine if s.cap.measure != "times"]
            tightest = (ibis.least(*rooms) if len(rooms) > 1
                        else rooms[0] if rooms else ibis.null(D2))
            if benefit.day_capped:
                days_left[benefit.code] = ibis.greatest(tightest - t._pay, _money(0))
            else:
                cap_room[benefit.code] = _cases([(cond, t[s.room]) for cond, s in named],
                                                tightest)
        t = t.mutate(
            _cap=self.by_benefit(t, cap_code, ibis.null(CODE)),
            _room=self.by_benefit(t, cap_room, ibis.null(D2)),
            _days_left=self.by_benefit(t, days_left, ibis.null(D2)),
        )
        t = t.mutate(_payable=self._payable(t))
        inel = t._reason.notnull()
        capped = t._cap.notnull()
        reduced = _ok(t._reduced)
        t = t.mutate(
            _state=ibis.cases((inel, _code(2)), (capped, _code(1)), else_=_code(0)),
            _ri=ibis.cases(
                (inel, t._reason),
                (capped, t._cap + len(reasons.items)),
                (reduced, _code(reasons.code("waiting_period_reduced"))),
                else_=_code(reasons.code("")),
            ),
            _mi=self._message_code(t, stages),
        )
        return t

    def _payable(self, t: ir.Table) -> ir.Value:
        """Money of the row: the last stage, or for a day-capped benefit the days paid
        times the daily amount in force (reduced like the raw amount in a waiting
        period's reduced phase)."""
        by_days = {}
        for b in self.policy.benefits:
            if not b.day_capped:
                continue
            money = _d2(_wide(t._pay) * t._day_amt)
            waiting = b.eligibility.waiting
            if (waiting is not None and waiting.reduced_days is not None
                    and waiting.reduced_rate is not None):  # both or neither (validated)
                money = ibis.cases((_ok(t._reduced), _times(money, _rate(waiting.reduced_rate))),
                                   else_=money)
            by_days[b.code] = money
        money = self.by_benefit(t, by_days, t._pay) if by_days else t._pay
        return _d2(ibis.cases((t._reason.notnull(), _money(0)), else_=money))

    def _message_code(self, t: ir.Table, stages: list[_Stage]) -> ir.Value:
        """The code of the row's reason text (:mod:`huzhu.rules.reasons`): per reason,
        the text of the row's benefit and formula version, which names the number that
        decided it. One branch per reason, then per benefit, keeps the CASE short."""
        messages = self.messages

        def code(text: str) -> ir.Value:
            return _code(messages.code(text))

        pairs = []
        for i, reason in enumerate(INELIGIBLE_REASONS):
            generic = REASON_MESSAGES[reason]
            inner: list[tuple[ir.BooleanValue, ir.Value]] = []
            if reason == "missing_field":
                inner = [(t._missing == k, code(missing_message(name)))
                         for k, name in enumerate(MISSING_FIELDS)]
            for b in self.policy.benefits:
                mine = t._b == self.index[b.code]
                if reason == "prerequisite_missing" and b.eligibility.requires is not None:
                    need = b.eligibility.requires
                    text = need.message or prerequisite_message(
                        self.policy.benefit(need.benefit).name)
                    inner.append((mine, code(text)))
                    continue
                own = benefit_message(reason, b)
                if own is not None:
                    inner.append((mine, code(own)))
                    continue
                for cond, f in zip(_in_force(b, t), b.versions, strict=True):
                    for selector, text in formula_messages(reason, f):
                        when = mine & cond
                        if selector == "threshold" and isinstance(f, BandsFormula) \
                                and f.threshold is not None:
                            when = when & _ok(t._base <= _money(f.threshold))
                        inner.append((when, code(text)))
            pairs.append((t._reason == i, _cases(inner, code(generic))))
        inel = t._reason.notnull()
        for s in stages:
            pairs.append((~inel & (t._b == self.index[s.benefit.code])
                          & (t._cap == self.caps_named.code(f"{s.benefit.code}:{s.cap.cap_code}")),
                          code(cap_message(s.cap))))
        reduced = [(t._b == self.index[b.code], code(phase)) for b in self.policy.benefits
                   if (phase := benefit_message("waiting_period_reduced", b)) is not None]
        pairs.append((~inel & _ok(t._reduced),
                      _cases(reduced, code(REASON_MESSAGES["waiting_period_reduced"]))))
        return _cases(pairs, code(""))

    def coded(self) -> ir.Table:
        """Every row (events and prior payouts) with its amounts, caps and explanation
        codes."""
        t = self.amounts(self.facts(self.joined(self.rows())))
        t, stages = self.caps(t)
        return self.explain(t, stages)

    def finish(self, t: ir.Table, columns: str) -> tuple[ir.Table, dict[str, list[str]]]:
        """The output rows, sorted, with the text columns still as integer codes (and
        ``event_date`` last, also for the minimal set), and the texts of those codes."""
        if self.with_prior:
            t = t.filter(t._prior == 0)
        wanted = COLUMN_SETS[columns]
        inel = t._reason.notnull()
        null = ibis.null
        cap_codes = [c.split(":", 1)[1] for c in self.caps_named.items]
        coded = {
            "event_id": t.event_id,
            "member_id": t.member_id,
            "benefit": t.benefit if self.carry_benefit else t._b,
            "event_date": t.event_date,
            "payable": t._payable,
            "status": t._state,
            "reason": t._ri,
            "reason_message": t._mi,
            "base": t._base,
            "band": ibis.cases((inel, null(CODE)), else_=t._band),
            "rate": ibis.cases((inel, null(D4)), else_=t._rate),
            "grade": ibis.cases((inel, null("int32")), else_=t._grade),
            "raw_amount": ibis.cases((inel, null(D2)), else_=t._raw),
            "cap": ibis.cases((inel, null(CODE)), else_=t._cap),
            "cap_room": ibis.cases((inel, null(D2)), else_=t._room),
            "days_paid": ibis.cases((inel | t._days_left.isnull(), null("int32")),
                                    else_=t._pay.cast("int32")),
            "days_left": ibis.cases((inel, null("int32")), else_=t._days_left.cast("int32")),
        }
        texts = {
            "status": ["payable", "capped", "ineligible"],
            "reason": [*_REASONS, *cap_codes],
            "reason_message": self.messages.items,
            "band": self.plan.bands.items,
            "cap": cap_codes,
        }
        if not self.carry_benefit:
            texts["benefit"] = self.policy.benefit_codes
        texts = {c: v for c, v in texts.items() if c in wanted}
        extra = ({WAIT_TO: t[WAIT_TO]}
                 if WAIT_TO in t.columns and "reason_message" in wanted else {})
        out = t.select(**{c: (coded[c] if c in texts else _as(coded[c], OUTPUT_TYPES[c]))
                          for c in wanted if c != "event_date"},
                       **extra, event_date=t.event_date)
        # Sort while the text columns are still integers; the lookups run on sorted rows.
        return out.order_by(["event_date", "event_id"]), texts

    def decoded(self, out: ir.Table, texts: dict[str, list[str]], columns: str) -> ir.Table:
        """``out`` with its codes turned into text, as one Ibis expression (which renders
        the lookups in the same SELECT as the sort, so they run before it)."""
        final = {c: (_lookup(out[c], texts[c], self.arrays).cast(OUTPUT_TYPES[c])
                     if c in texts else out[c]) for c in COLUMN_SETS[columns]}
        if WAIT_TO in out.columns:
            message = final["reason_message"]
            final["reason_message"] = ibis.cases(
                (out[WAIT_TO].notnull(),
                 message.replace(WAIT_MARK, out[WAIT_TO].cast("string"))),
                else_=message)
        return out.select(**final)


def _decode_sql(coded_sql: str, texts: dict[str, list[str]], columns: str,
                enums: bool, wait_dates: bool = False) -> str:
    """DuckDB: the sorted, coded rows of ``coded_sql`` with their codes turned into text by
    an outer projection. DuckDB keeps a subquery's order through a projection, and the
    sort then moves small integers instead of the Chinese messages.

    ``enums``: the array is cast once (a constant) to a list of an ENUM of its texts, so
    each row picks an ENUM value; written to a file, that is text that needs no
    per-cell dictionary lookup."""
    def lit(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    def lookup(column: str) -> str:
        items = texts[column]
        if not items:
            return "CAST(NULL AS VARCHAR)"
        array = f"[{', '.join(lit(t) for t in items)}]"
        index = f'[CAST("{column}" AS INTEGER) + 1]'
        if not enums:
            return f"CAST({array}{index} AS VARCHAR)"
        enum = f"ENUM({', '.join(lit(t) for t in dict.fromkeys(items))})"
        return f"CAST({array} AS {enum}[]){index}"

    def text(column: str) -> str:
        if column == "reason_message" and wait_dates:
            # The waiting period's last day comes from the row (first enrolment + days).
            plain = f"CAST({lookup(column)} AS VARCHAR)"
            return (f'CASE WHEN "{WAIT_TO}" IS NULL THEN {plain} ELSE '
                    f'replace({plain}, {lit(WAIT_MARK)}, CAST("{WAIT_TO}" AS VARCHAR)) END')
        return lookup(column)

    select = ",\n  ".join(f'{text(c)} AS "{c}"' if c in texts else f'"{c}"'
                          for c in COLUMN_SETS[columns])
    return f"SELECT\n  {select}\nFROM (\n{coded_sql}\n) AS hz_coded"


def build(policy: Policy, tables: dict[str, ir.Table] | None = None,
          *, with_prior: bool = True, columns: str = "full",
          foreign_benefits: bool = False, array_lookups: bool = True) -> ir.Table:
    """The whole policy as one Ibis expression over ``tables`` (default: unbound).

    ``foreign_benefits``: events may name benefits the policy does not have (``huzhu
    simulate`` runs two policies over one event file); they come out ineligible with
    ``benefit_not_in_policy``. Otherwise the input checks have refused such events and
    the plan does not carry the benefit's text through its windows.
    ``array_lookups``: codes become text by indexing constant arrays (DuckDB) rather
    than by CASE (what PySpark gets).
    """
    compiler = _compiler(policy, tables, with_prior, columns, foreign_benefits, array_lookups)
    out, texts = compiler.finish(compiler.coded(), columns)
    return compiler.decoded(out, texts, columns)


def to_sql(policy: Policy, dialect: str, *, with_prior: bool = True, columns: str = "full",
           foreign_benefits: bool = False, enum_texts: bool = False) -> str:
    """The plan of :func:`build` as SQL in ``dialect`` over the ``hz_*`` tables. DuckDB
    gets the text lookups as a projection over the sorted rows (see :func:`_decode_sql`;
    ``enum_texts``: as ENUM values)."""
    if dialect != "duckdb":
        expr = build(policy, with_prior=with_prior, columns=columns,
                     foreign_benefits=foreign_benefits, array_lookups=False)
        return str(ibis.to_sql(expr, dialect=dialect))
    compiler = _compiler(policy, None, with_prior, columns, foreign_benefits, True)
    out, texts = compiler.finish(compiler.coded(), columns)
    return _decode_sql(str(ibis.to_sql(out, dialect=dialect)), texts, columns, enum_texts,
                       wait_dates=WAIT_TO in out.columns)


def _compiler(policy: Policy, tables: dict[str, ir.Table] | None, with_prior: bool,
              columns: str, foreign_benefits: bool, array_lookups: bool) -> _Compiler:
    if columns not in COLUMN_SETS:
        raise ValueError(f"unknown column set {columns!r}; use one of {sorted(COLUMN_SETS)}")
    return _Compiler(policy, tables or unbound_tables(), with_prior, foreign_benefits,
                     array_lookups)


@dataclass
class _Stage:
    benefit: Benefit
    cap: Cap
    written: int
    """Index of the cap in the benefit's ``caps`` as written (the naming tie-break)."""
    before: str
    after: str
    room: str
    """Room column: what is left (money or days; null where a per-event cap does not
    apply); for a ``times`` cap 0 once used up, else null (no limit)."""


def _used(cap: Cap, amount: ir.Value) -> ir.Value:
    """What a row uses of ``cap``: its money or days, or 1 if it is paid at all (times)."""
    if cap.measure != "times":
        return amount
    return ibis.cases((amount > _money(0), 1), else_=0)


def _room(cap: Cap, used_before: ir.Value) -> ir.Value:
    if cap.measure != "times":
        return _d2(ibis.greatest(_money(cap.limit) - used_before, _money(0)))
    return ibis.cases((used_before >= cap.times, _money(0)), else_=ibis.null(D2))


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
