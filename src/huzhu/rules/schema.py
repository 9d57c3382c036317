# SCHEMA-READY
"""Pydantic models of a policy file (保障方案) and the exact semantics the engine gives them.

A policy file is YAML::

    code: changchun-2023            # slug, also the shipped file name
    name: 长春市总工会职工补贴        # Chinese name
    version: "2023.1"               # free text; part of the compiled-plan cache key
    issuer: 长春市总工会              # optional
    premium_per_year: 150           # optional, informational (premium schemes)
    source: "..."                   # optional: which seed / document it encodes
    benefits: [ ... ]               # one entry per Benefit, codes unique

Unknown keys anywhere are errors (``extra="forbid"``). Money is ``Decimal`` with at most
two places; a rate is ``Decimal`` in [0, 1] with at most four places, written either as a
number (``0.015``) or a percentage string (``"1.5%"``).

Benefit (保障项目)
------------------
``code``, ``name`` (Chinese), ``kind`` (``illness`` | ``accident`` | ``property`` |
``relief``; a waiting period is allowed on ``illness`` only), ``eligibility``, ``base``,
``formula`` (one) **or** ``formulas`` (a list of dated versions, each with
``effective_from``), ``caps``.

``base`` is the fact the money is computed from: ``out_of_pocket``, ``total_cost``,
``loss_amount`` (money), ``days`` (per_day), ``disability_grade`` (grade_table) or omitted
(``lump_sum`` and ``outcome`` need none). ``bands`` and ``percent`` require a money base.

Evaluation of one event (the engine and any reference must agree on all of this)
--------------------------------------------------------------------------------
1. Eligibility checks, in this order; the first that fails makes the row ``ineligible``
   with that reason code and payable 0.00:

   ``unknown_member`` (member_id not in members) → ``status_not_eligible`` →
   ``age_out_of_range`` (age in full years at event_date: year difference minus one if
   (month, day) of the event is before (month, day) of birth — a 29 Feb birthday is
   reached on 1 Mar in common years; ``age.min``/``age.max`` inclusive) →
   ``gender_not_eligible`` → ``occupation_not_eligible`` (null occupation fails) →
   ``outside_window`` (``window.start``/``end`` inclusive) → ``not_enrolled`` (no
   enrolment row with period_start <= event_date <= period_end) → ``waiting_period``
   (event_date < first_enrolled + no_pay_days) → ``relation_not_covered`` (null fails) →
   ``not_co_resident`` (co_resident must be true; null counts as false) → flags in the
   order work_related, on_duty: a flag required ``false`` fails with reason
   ``work_related`` when the event says true (null counts as false); a flag required
   ``true`` fails with ``not_on_duty`` when the event is not true →
   ``diagnosis_not_covered`` (no code of the event's ``diagnosis`` starts with a prefix of
   the list in force at event_date; codes split on ``;``, compared upper-case with
   spaces removed; before the first dated list nothing is covered) →
   ``not_in_force`` (no formula version with effective_from <= event_date) →
   ``missing_field`` (first null among ``eligibility.required``, then the formula's
   inputs: the base, ``outcome``, ``disability_grade``/``fracture_site`` as the outcome
   needs, then ``relative_id`` when a cap is ``per: relative``) → formula conditions
   (``below_threshold``, ``below_deductible``, ``below_min_days``,
   ``no_covered_outcome``, ``grade_not_covered``).

   When several enrolment rows cover the event, the engine uses the latest
   ``period_start`` and the earliest ``first_enrolled`` among them.

2. The formula in force at event_date gives the raw amount (rounded half-up to the fen
   once, at the end of the formula):

   * ``bands``: base must be > ``threshold`` (qualifying threshold: the base itself is
     then used whole) else ``below_threshold``; then ``deductible`` is subtracted and the
     rest must be > 0 else ``below_deductible``. Bands are half-open ``(above, upto]``,
     contiguous, ascending; the last may have ``upto: null`` (no upper end). ``bracket``:
     the whole amount at the rate of the band containing it (an amount <= the first
     band's ``above`` is ``below_threshold``). ``progressive``: the sum over bands of
     the slice of the amount inside the band times its rate (rounded once).
     Output ``band`` is the label of the band containing the amount, e.g.
     ``(10000,20000]`` or ``(300000,+∞)``; ``rate`` its rate (bracket mode).
   * ``per_day``: paid days = min(days − (from_day − 1), max_days); < 1 is
     ``below_min_days``; raw = paid days × amount. ``base`` is days.
   * ``lump_sum``: raw = amount.
   * ``grade_table``: the amount of the row for ``disability_grade`` (``grade`` column);
     a grade not in the table is ``grade_not_covered``.
   * ``percent``: raw = base × rate.
   * ``outcome`` (accidents): ``outcome`` death → ``death``; else if
     ``disability_grade`` is not null and the outcome is disability, fracture or empty
     (a grade without an outcome is a disability) → the ``disability`` grade table
     (``no_covered_outcome`` when the formula has none); else outcome
     fracture → ``fracture.major`` or ``fracture.other`` by ``fracture_site``; outcome
     disability without grade, or neither outcome nor grade → ``missing_field``;
     anything else (``none``, also with a grade, or a part
     the formula does not define) → ``no_covered_outcome``. ``band`` is
     ``death`` / ``disability`` / ``fracture:major`` / ``fracture:other``.

   Waiting period reduced phase: if ``waiting.reduced_days`` is set and
   first_enrolled + no_pay_days <= event_date < first_enrolled + reduced_days, the raw
   amount is multiplied by ``reduced_rate`` and rounded half-up again; the row's reason
   is ``waiting_period_reduced`` (status stays ``payable`` unless a cap bites).

3. Caps. Every cap is per benefit and limits what is actually *paid*: with events in
   the order (prior payouts first, then event_date, then event_id)::

       payable_i = min(raw_i, room_i of every cap of the benefit)
       room_i    = max(0, amount − Σ payable_j over earlier rows j of the cap's group)

   where a prior payout counts with its ``paid``. A ``times`` cap has room 0 once the
   number of earlier rows of its group with payable (or ``paid``) > 0 is >= times, else
   no limit. ``per: event`` caps have room = amount, and do not apply to rows whose
   outcome is in ``unless_outcome``. So a batch pays the same money as its events one
   at a time, each with the earlier payouts passed as prior payouts. Groups:
   ``member`` × ``year`` = (member_id, calendar year of event_date); ``member`` ×
   ``period`` = (member_id, covering enrolment period_start); ``member`` × ``lifetime``
   = member_id; ``family`` = coalesce(family_id, member_id) of the member (+ year or
   period); ``relative`` = (coalesce(family_id, member_id), relative_id) (+ year or
   period).

   Nesting (checked when the policy is loaded): the caps of one benefit must nest —
   for any two, every group of one lies inside a group of the other. Per event lies
   inside everything; member and relative inside family; year and period inside
   lifetime. Member vs relative and year vs period do not nest, and a benefit with such
   a pair is refused (``PolicyError`` at ``benefits[i].caps``), because no fixed order of
   running sums pays what the rule above says for them.

   How the engine computes it: caps are applied in the canonical nesting order, NOT the
   written order — per-event caps first (pointwise min), then group caps from the
   narrowest to the widest: per relative or per member per year / per period → per
   relative or per member for life → per family per year / per period → per family for
   life (caps with the same group keep their written order; see
   :func:`nesting_order`). Stage k starts from the amounts a(k−1) of stage k−1
   (a(0) = raw) and computes ``a(k)_i = min(a(k−1)_i, max(0, amount − Σ a(k−1)_j))``
   over earlier rows j of its group (a ``times`` stage zeroes a row once ``times``
   earlier rows have a(k−1) > 0). For nested groups this is exact: a stage only lowers
   a row below its input when its group is used up, and then every later row of every
   narrower group inside it pays 0 anyway.

   Output: ``payable`` = the last stage. Which cap is named is decided from the rooms
   recomputed from the final payables (the rule above): the caps are scanned in the
   order they are *written*, the running amount starting at raw, and a cap whose room is
   below the running amount lowers it and becomes the named cap. That is: the named cap
   is the first written cap whose room equals the smallest room, provided that room is
   below raw (a ``times`` cap that is used up counts as room 0). The row is then
   ``capped`` with reason = that cap's code and ``cap_room`` = its room (0 for a times
   cap); otherwise status ``payable`` and ``cap_room`` = the smallest room of any money
   cap that applies (null when the benefit has none).

   Day caps (``days: N``, per member / family / relative and year / period / lifetime,
   not per event — that is the formula's ``max_days``): a benefit with one counts days
   instead of money in all its caps (its formula versions are all ``per_day``; money
   and ``times`` caps beside a day cap are refused). The same stages and rules apply to
   the days: a(0) = the formula's paid days (min(days − (from_day − 1), max_days)); a
   prior payout counts its ``days_paid`` (required when its ``paid`` > 0). The last
   stage is ``days_paid``; ``payable`` = days_paid × the daily amount of the version in
   force at the event date (× ``reduced_rate`` in a waiting period's reduced phase,
   rounded half-up), so a dated change of the daily amount stays exact. The named cap
   follows the same rule in days; ``cap_room`` is null and ``days_left`` = the smallest
   room in days minus days_paid.

Cap codes (the ``reason`` of a capped row) default from ``per``/``period``:
``cap_per_event``, ``cap_per_year``, ``cap_per_period``, ``cap_lifetime``,
``cap_per_family`` (lifetime), ``cap_per_family_year``, ``cap_per_family_period``,
``cap_per_relative``; with ``times``: ``once_per_person`` / ``once_per_relative`` /
``once_per_family`` when times is 1, else ``times_per_person`` etc.; with ``days``:
``days_per_year``, ``days_per_period``, ``days_lifetime``, ``days_per_family`` … A cap may
set its own ``code``.

Every benefit, formula, cap, waiting period, dated diagnosis list, eligibility block and
prerequisite may carry ``source`` (the document and clause it encodes) and
``illustrative: true`` (its numbers are not from a published rule); they change no money
but are part of ``Policy.content_hash``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from huzhu.rules.columns import (
    EVENT_COLUMNS,
    MAX_DAY_AMOUNT,
    MONEY,
    Gender,
    Occupation,
    Outcome,
    Relation,
    Status,
)

# The coded values a policy names (status, gender, occupation, relation and outcome in
# eligibility and cap exceptions) and the event's fields are the input columns': one
# definition, in the engine's contract.
from huzhu.rules.money import yuan

# The money facts of an event, in contract order.
MONEY_BASES = tuple(c.name for c in EVENT_COLUMNS if c.type == MONEY)
BASES = (*MONEY_BASES, "days", "disability_grade")
# Event fields a benefit may list in ``eligibility.required``: every optional column of
# an event (the required ones are always there).
EVENT_FIELDS = tuple(c.name for c in EVENT_COLUMNS if not c.required)

if TYPE_CHECKING:
    # Literals of values computed at run time cannot be spelled for mypy: it sees text.
    Base = str
    EventField = str
else:
    Base = Literal[BASES]
    EventField = Literal[EVENT_FIELDS]

BenefitKind = Literal["illness", "accident", "property", "relief"]


class PathError(ValueError):
    """A validation error that knows where below the validated object it belongs.

    The loader appends ``path`` to pydantic's location, so the message names the exact
    YAML key (``benefits[1].eligibility.requires.benefit``) instead of the object that
    happened to run the check.
    """

    def __init__(self, path: tuple[str | int, ...], message: str):
        super().__init__(message)
        self.path = path


def _to_decimal(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("应为数字，不能是 true/false")
    if isinstance(value, float):
        # YAML floats are loaded as Decimal by our loader; a float here came from Python.
        return Decimal(repr(value))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            raise ValueError(f"不是有效的金额：{value!r}") from None
    return value


def _check_money(value: Decimal) -> Decimal:
    if not value.is_finite() or value < 0:
        raise ValueError("金额必须是非负数")
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(f"金额最多两位小数（分）：{value}")
    if value >= Decimal("1e15"):
        raise ValueError("金额过大")
    return value.quantize(Decimal("0.01"))


def _to_rate(value: Any) -> Any:
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            return Decimal(value.strip()[:-1]) / 100
        except InvalidOperation:
            raise ValueError(f"不是有效的比例：{value!r}") from None
    return _to_decimal(value)


def _check_rate(value: Decimal) -> Decimal:
    if not value.is_finite() or value < 0 or value > 1:
        raise ValueError(f"比例必须在 0 到 100% 之间：{value}")
    if value != value.quantize(Decimal("0.0001")):
        raise ValueError(f"比例最多四位小数（即 0.01%）：{value}")
    return value.quantize(Decimal("0.0001"))


Money = Annotated[Decimal, BeforeValidator(_to_decimal), AfterValidator(_check_money)]
Rate = Annotated[Decimal, BeforeValidator(_to_rate), AfterValidator(_check_rate)]


def money_label(value: Decimal) -> str:
    """``10000.00`` → ``10000``; ``10000.50`` → ``10000.5``; used in band labels."""
    text = format(value.normalize(), "f")
    return text


def band_range_words(above: Decimal, upto: Decimal | None) -> str:
    """``(10000, 50000]`` → 超过 10,000.00 元至 50,000.00 元（含）; no upper end → 超过 …."""
    if upto is None:
        return f"超过 {yuan(above)} 元"
    return f"超过 {yuan(above)} 元至 {yuan(upto)} 元（含）"


def percent_label(rate: Decimal) -> str:
    """``0.0150`` → ``1.5%``."""
    return f"{(rate * 100).normalize():f}%"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Sourced(_Model):
    """Where a rule comes from, as data (shown by ``huzhu policy check``)."""

    source: str | None = None
    """The document and clause this encodes, e.g. ``seed 003: 1年内累计最高5万元``."""
    illustrative: bool = False
    """``true``: the numbers are not from a published rule (placeholders to confirm)."""


# ---------------------------------------------------------------- formulas


class Band(_Model):
    """One row of a rate table: amounts in ``(above, upto]`` (``upto: null`` = no end)."""

    above: Money
    upto: Money | None = None
    rate: Rate

    @property
    def label(self) -> str:
        upper = "+∞)" if self.upto is None else f"{money_label(self.upto)}]"
        return f"({money_label(self.above)},{upper}"

    @property
    def words(self) -> str:
        """The band as people read it: 超过 10,000.00 元至 50,000.00 元（含）; the interval
        ``label`` stays for validation messages about a policy file's own numbers."""
        return band_range_words(self.above, self.upto)

    def contains(self, amount: Decimal) -> bool:
        return amount > self.above and (self.upto is None or amount <= self.upto)


class GradeRow(_Model):
    """One row of a grade table: disability grade (1 = most severe) → amount."""

    grade: int = Field(ge=1, le=10)
    amount: Money


def _check_grade_rows(rows: list[GradeRow]) -> list[GradeRow]:
    for i in range(1, len(rows)):
        prev, row = rows[i - 1].grade, rows[i].grade
        if row == prev:
            raise ValueError(f"第 {i + 1} 行：等级 {row} 重复")
        if row < prev:
            raise ValueError(f"第 {i + 1} 行：等级 {row} 应排在等级 {prev} 之后（按等级升序）")
        if row != prev + 1:
            raise ValueError(f"第 {i} 行与第 {i + 1} 行之间缺少等级 {prev + 1}–{row - 1}")
    return rows


GradeTable = Annotated[list[GradeRow], Field(min_length=1), AfterValidator(_check_grade_rows)]


class _FormulaBase(_Sourced):
    """A formula kind is one subclass of this (plus one builder in the compiler)."""

    effective_from: dt.date | None = None
    """First event date this version applies to (dated versions under ``formulas``)."""

    bases: ClassVar[tuple[str | None, ...]] = (None,)
    """The ``base`` values the kind accepts (None: the benefit gives no base)."""
    default_base: ClassVar[str | None] = None

    def describe(self, base: str | None) -> list[str]:
        """The formula in Chinese, one line per row (``huzhu policy check``)."""
        raise NotImplementedError


class BandsFormula(_FormulaBase):
    """Rate bands with an optional qualifying threshold and/or deductible."""

    kind: Literal["bands"]
    mode: Literal["bracket", "progressive"] = "bracket"
    threshold: Money | None = None
    deductible: Money | None = None
    bands: list[Band] = Field(min_length=1)

    bases: ClassVar[tuple[str | None, ...]] = MONEY_BASES

    @field_validator("bands")
    @classmethod
    def _bands_ordered(cls, bands: list[Band]) -> list[Band]:
        for i, band in enumerate(bands, start=1):
            if band.upto is not None and band.upto <= band.above:
                raise ValueError(f"第 {i} 档：上限 {band.upto} 必须大于下限 {band.above}")
            if band.upto is None and i != len(bands):
                raise ValueError(f"第 {i} 档：只有最后一档可以没有上限")
        for i in range(1, len(bands)):
            prev, band = bands[i - 1], bands[i]
            if prev.upto is None:  # only the last band is open (checked above)
                continue
            if band.above < prev.upto:
                raise ValueError(
                    f"第 {i} 档 {prev.label} 与第 {i + 1} 档 {band.label} 重叠或顺序颠倒"
                )
            if band.above > prev.upto:
                raise ValueError(
                    f"第 {i} 档 {prev.label} 与第 {i + 1} 档 {band.label} 之间有空档"
                )
        return bands

    def band_for(self, amount: Decimal) -> Band | None:
        for band in self.bands:
            if band.contains(amount):
                return band
        return None

    def describe(self, base: str | None) -> list[str]:
        mode = {"bracket": "全额按所在档比例", "progressive": "分段累进"}[self.mode]
        head = f"按档（{mode}），基数 {base}"
        if self.threshold is not None:
            head += f"，超过 {self.threshold} 元才给付"
        if self.deductible is not None:
            head += f"，免赔 {self.deductible} 元"
        return [head, *[f"  {b.label}：{percent_label(b.rate)}" for b in self.bands]]


class PerDayFormula(_FormulaBase):
    """A daily allowance: pays from day ``from_day`` of a stay, at most ``max_days`` days."""

    kind: Literal["per_day"]
    amount: Money
    from_day: int = Field(default=1, ge=1)
    max_days: int | None = Field(default=None, ge=1)

    @field_validator("amount")
    @classmethod
    def _day_amount_fits(cls, value: Decimal) -> Decimal:
        # days (at most MAX_DAYS) × the daily amount must fit the engine's money type.
        if value >= MAX_DAY_AMOUNT:
            raise ValueError(f"每天金额过大，应小于 {MAX_DAY_AMOUNT:,}.00 元")
        return value

    bases: ClassVar[tuple[str | None, ...]] = ("days",)
    default_base: ClassVar[str | None] = "days"

    def describe(self, base: str | None) -> list[str]:
        text = f"每天 {self.amount} 元，自第 {self.from_day} 天起"
        if self.max_days:
            text += f"，每次最多 {self.max_days} 天"
        return [text]


class LumpSumFormula(_FormulaBase):
    kind: Literal["lump_sum"]
    amount: Money

    def describe(self, base: str | None) -> list[str]:
        return [f"定额 {self.amount} 元"]


class GradeTableFormula(_FormulaBase):
    kind: Literal["grade_table"]
    grades: GradeTable

    bases: ClassVar[tuple[str | None, ...]] = ("disability_grade",)
    default_base: ClassVar[str | None] = "disability_grade"

    def describe(self, base: str | None) -> list[str]:
        return ["伤残等级表", *[f"  {row.grade} 级：{row.amount} 元" for row in self.grades]]


class PercentFormula(_FormulaBase):
    """A percentage of the base (e.g. 10% of an assessed loss)."""

    kind: Literal["percent"]
    rate: Rate

    bases: ClassVar[tuple[str | None, ...]] = MONEY_BASES

    def describe(self, base: str | None) -> list[str]:
        return [f"{base} 的 {percent_label(self.rate)}"]


class FractureAmounts(_Model):
    major: Money
    """Skull, spine, pelvis, femur (颅骨、脊椎、骨盆、股骨)."""
    other: Money


class OutcomeFormula(_FormulaBase):
    """Accident outcomes: death, disability grade table, fracture by site."""

    kind: Literal["outcome"]
    death: Money | None = None
    disability: GradeTable | None = None
    fracture: FractureAmounts | None = None

    @model_validator(mode="after")
    def _some_outcome(self) -> OutcomeFormula:
        if self.death is None and self.disability is None and self.fracture is None:
            raise ValueError("至少要规定 death、disability、fracture 之一")
        return self

    def describe(self, base: str | None) -> list[str]:
        lines = ["按伤害结果"]
        if self.death is not None:
            lines.append(f"  身故：{self.death} 元")
        lines += [f"  伤残 {row.grade} 级：{row.amount} 元" for row in self.disability or []]
        if self.fracture is not None:
            f = self.fracture
            lines.append(f"  骨折：主要部位 {f.major} 元，其他 {f.other} 元")
        return lines


# Every formula kind, in the order they are documented. A new kind is a new class here
# (and a builder in ``compiler.FORMULA_BUILDERS``).
AnyFormula = (BandsFormula | PerDayFormula | LumpSumFormula | GradeTableFormula
              | PercentFormula | OutcomeFormula)
FORMULA_CLASSES: tuple[type[_FormulaBase], ...] = get_args(AnyFormula)
FORMULA_KINDS: tuple[str, ...] = tuple(
    get_args(c.model_fields["kind"].annotation)[0] for c in FORMULA_CLASSES
)

Formula = Annotated[AnyFormula, Field(discriminator="kind")]

# ---------------------------------------------------------------- eligibility


class AgeRange(_Model):
    """Age in full years at the event date; both ends inclusive."""

    min: int | None = Field(default=None, ge=0, le=150)
    max: int | None = Field(default=None, ge=0, le=150)

    @model_validator(mode="after")
    def _ordered(self) -> AgeRange:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"年龄下限 {self.min} 大于上限 {self.max}")
        return self


class Window(_Model):
    """Event dates covered (campaigns); both ends inclusive."""

    start: dt.date | None = None
    end: dt.date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"开始日期 {self.start} 晚于结束日期 {self.end}")
        return self


class Waiting(_Sourced):
    """Waiting period after ``first_enrolled`` (illness only).

    No pay while event_date < first_enrolled + no_pay_days; then, if ``reduced_days`` is
    set, ``reduced_rate`` of the amount while event_date < first_enrolled + reduced_days.
    """

    no_pay_days: int = Field(ge=0)
    reduced_days: int | None = Field(default=None, ge=1)
    reduced_rate: Rate | None = None

    @model_validator(mode="after")
    def _phases(self) -> Waiting:
        if (self.reduced_days is None) != (self.reduced_rate is None):
            raise ValueError("reduced_days 与 reduced_rate 必须同时给出")
        if self.reduced_days is not None and self.reduced_days <= self.no_pay_days:
            raise ValueError("reduced_days 必须大于 no_pay_days")
        return self


class DatedCodes(_Sourced):
    """A diagnosis prefix list in force from ``effective_from`` on."""

    effective_from: dt.date
    codes: list[str] = Field(min_length=1)

    @field_validator("codes")
    @classmethod
    def _norm(cls, codes: list[str]) -> list[str]:
        return [_norm_code(c) for c in codes]


def _norm_code(code: str) -> str:
    norm = re.sub(r"\s+", "", str(code)).upper()
    if not re.fullmatch(r"[A-Z][0-9A-Z.]*", norm):
        raise ValueError(f"不是 ICD-10 编码前缀：{code!r}")
    return norm


class Prerequisite(_Sourced):
    """This benefit is due only after an event of another benefit of the same member.

    ``requires: {benefit: covid_staff}``: the member has an event of ``covid_staff`` dated
    on or before this event, among the events of the run or the prior payouts, whether
    or not that event itself pays. Otherwise the row is ``prerequisite_missing``.
    """

    benefit: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    message: str | None = None
    """Chinese reason shown when the prerequisite is missing (default: names the benefit)."""


class Eligibility(_Sourced):
    """Who and what is covered. Every field is optional; omitted means no condition."""

    status: list[Status] | None = None
    age: AgeRange | None = None
    gender: list[Gender] | None = None
    occupation: list[Occupation] | None = None
    window: Window | None = None
    enrolment: bool = False
    """The member must have an enrolment row covering the event date (premium schemes)."""
    waiting: Waiting | None = None
    relation: list[Relation] | None = None
    co_resident: bool | None = None
    """``true``: the relative must live with the member (共同生活)."""
    work_related: bool | None = None
    """``false``: not payable when the event is work-related (非工伤)."""
    on_duty: bool | None = None
    """``true``: payable only when the event happened on duty (因公)."""
    diagnosis: list[str] | None = None
    """ICD-10 prefixes; or use ``diagnosis_versions`` for dated lists (not both)."""
    diagnosis_versions: list[DatedCodes] | None = None
    requires: Prerequisite | None = None
    """Another benefit whose event must come first (see :class:`Prerequisite`)."""
    required: list[EventField] = Field(default_factory=list)
    """Event fields that must be present (e.g. ``certificate_no``)."""

    @field_validator("diagnosis")
    @classmethod
    def _norm_diag(cls, codes: list[str] | None) -> list[str] | None:
        return None if codes is None else [_norm_code(c) for c in codes]

    @model_validator(mode="after")
    def _check(self) -> Eligibility:
        if self.diagnosis is not None and self.diagnosis_versions is not None:
            raise ValueError("diagnosis 与 diagnosis_versions 只能二选一")
        if self.waiting is not None and not self.enrolment:
            raise PathError(("waiting",), "等待期（waiting）从首次参保日起算，需要 enrolment: true")
        versions = self.diagnosis_versions or []
        for i in range(1, len(versions)):
            if versions[i].effective_from <= versions[i - 1].effective_from:
                raise ValueError(
                    f"diagnosis_versions 第 {i + 1} 项的生效日期必须晚于第 {i} 项"
                )
        return self

    @property
    def has_diagnosis_rule(self) -> bool:
        return self.diagnosis is not None or self.diagnosis_versions is not None

    def diagnosis_at(self, day: dt.date) -> list[str] | None:
        """The prefix list in force on ``day``; None = no diagnosis condition; [] = none
        covered (before the first dated list)."""
        if self.diagnosis is not None:
            return list(self.diagnosis)
        if self.diagnosis_versions is None:
            return None
        current: list[str] = []
        for version in self.diagnosis_versions:
            if version.effective_from <= day:
                current = list(version.codes)
        return current


# ---------------------------------------------------------------- caps

_CAP_NAMES = {
    ("event", None): "cap_per_event",
    ("member", "year"): "cap_per_year",
    ("member", "period"): "cap_per_period",
    ("member", "lifetime"): "cap_lifetime",
    ("family", "lifetime"): "cap_per_family",
    ("family", "year"): "cap_per_family_year",
    ("family", "period"): "cap_per_family_period",
    ("relative", "lifetime"): "cap_per_relative",
    ("relative", "year"): "cap_per_relative_year",
    ("relative", "period"): "cap_per_relative_period",
}
_TIMES_WHO = {"member": "person", "family": "family", "relative": "relative"}


class Cap(_Sourced):
    """A limit on money (``amount``), on the number of paid events (``times``) or on the
    paid days of a ``per_day`` benefit (``days``)."""

    per: Literal["event", "member", "family", "relative"]
    period: Literal["year", "period", "lifetime"] | None = None
    amount: Money | None = None
    times: int | None = Field(default=None, ge=1)
    days: int | None = Field(default=None, ge=1)
    unless_outcome: list[Outcome] = Field(default_factory=list)
    """Rows whose outcome is listed are not limited by this cap (e.g. death); per-event
    caps only."""
    code: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")

    @model_validator(mode="after")
    def _check(self) -> Cap:
        given = [k for k in ("amount", "times", "days") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("上限必须给出 amount（金额）、times（次数）或 days（天数）之一")
        if self.per == "event":
            if self.period is not None:
                raise ValueError("per: event 的上限不需要 period")
            if self.times is not None:
                raise ValueError("per: event 的上限只能是金额")
            if self.days is not None:
                raise PathError(("days",), "每次的天数上限请写在公式的 max_days 里")
        elif self.period is None:
            raise ValueError(
                f"per: {self.per} 的上限缺少 period（year、period 或 lifetime）"
            )
        if self.unless_outcome and self.per != "event":
            raise PathError(
                ("unless_outcome",),
                "unless_outcome 只适用于 per: event 的单次上限；累计上限对每个事件都适用",
            )
        return self

    @property
    def measure(self) -> Literal["money", "times", "days"]:
        """What the cap counts."""
        if self.amount is not None:
            return "money"
        return "times" if self.times is not None else "days"

    @property
    def limit(self) -> Decimal | int:
        """The cap's number: money, event count or days."""
        if self.amount is not None:
            return self.amount
        count = self.times if self.times is not None else self.days
        if count is None:  # not a validated cap: _check requires one of the three
            raise ValueError("上限必须给出 amount（金额）、times（次数）或 days（天数）之一")
        return count

    @property
    def cap_code(self) -> str:
        if self.code:
            return self.code
        if self.times is not None:
            who = _TIMES_WHO[self.per]
            base = f"once_per_{who}" if self.times == 1 else f"times_per_{who}"
            return base if self.period == "lifetime" else f"{base}_{self.period}"
        name = _CAP_NAMES[(self.per, self.period)]
        return name.replace("cap_", "days_", 1) if self.days is not None else name

    def within(self, other: Cap) -> bool:
        """Every group of this cap lies inside one group of ``other`` (same benefit)."""
        if self.per == "event":
            return True
        if other.per == "event":
            return False
        who = self.per == other.per or other.per == "family"
        when = self.period == other.period or other.period == "lifetime"
        return who and when

    @property
    def nesting_rank(self) -> tuple[int, int]:
        """Sort key putting narrower groups first (see "Caps" in the module docstring)."""
        if self.per == "event":
            return (0, 0)
        return (2 if self.per == "family" else 1, 1 if self.period == "lifetime" else 0)


def nesting_order(caps: list[Cap]) -> list[Cap]:
    """The caps in the order they are applied: per-event caps, then group caps from the
    narrowest group to the widest; caps with the same group keep their written order."""
    return sorted(caps, key=lambda c: c.nesting_rank)


def _check_nested(caps: list[Cap]) -> None:
    for i, a in enumerate(caps):
        for j, b in enumerate(caps[i + 1:], start=i + 1):
            if not (a.within(b) or b.within(a)):
                raise ValueError(
                    f"上限 caps[{i}]（{a.cap_code}）与 caps[{j}]（{b.cap_code}）的统计范围"
                    "互不包含（例如每年与每互助期、每人与每位亲属），先扣哪一个会改变给付金额；"
                    "同一项目的上限必须一层套一层（每次 ⊂ 每人/每位亲属 ⊂ 每个家庭，"
                    "每年或每互助期 ⊂ 终身），请删去其中一个"
                )


# ---------------------------------------------------------------- benefit & policy


MATERIALS = {
    "invoice": "医疗费发票", "discharge_summary": "出院小结", "diagnosis_certificate": "诊断证明",
    "settlement_statement": "医保结算单", "fire_certificate": "火灾事故认定书",
    "id_card": "身份证", "bank_card": "银行卡", "death_certificate": "死亡证明",
    "disability_assessment": "伤残鉴定书", "medical_record": "病历",
    "relation_proof": "亲属关系证明",
}
if TYPE_CHECKING:
    Material = str  # a Literal of the table's keys, to pydantic (see Base above)
else:
    Material = Literal[tuple(MATERIALS)]


class Claiming(_Sourced):
    """How a claim under the benefit is filed; the engine ignores it, the claims app reads
    it: the materials it must carry and how long after the event it may be filed."""

    materials: list[Material] = Field(default_factory=list)
    filing_days: int | None = Field(default=None, ge=1)
    """Days after the event date (e.g. 60 after discharge); later needs an exception."""


class Benefit(_Sourced):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    """Chinese name shown to staff and members (e.g. 住院医疗补贴)."""
    kind: BenefitKind = "illness"
    description: str | None = None
    eligibility: Eligibility = Field(default_factory=Eligibility)
    base: Base | None = None
    formula: Formula | None = None
    formulas: list[Formula] | None = None
    """Dated versions; each needs ``effective_from`` except possibly the first."""
    caps: list[Cap] = Field(default_factory=list)
    claiming: Claiming = Field(default_factory=Claiming)

    @field_validator("caps")
    @classmethod
    def _nested(cls, caps: list[Cap]) -> list[Cap]:
        _check_nested(caps)
        return caps

    @model_validator(mode="after")
    def _check(self) -> Benefit:
        if (self.formula is None) == (self.formulas is None):
            raise ValueError("必须给出 formula（一个公式）或 formulas（带生效日期的版本）之一")
        versions = self.versions
        if not versions:
            raise ValueError("formulas 不能为空")
        for i, f in enumerate(versions):
            if i > 0 and f.effective_from is None:
                raise ValueError(f"formulas 第 {i + 1} 项缺少 effective_from")
            before = versions[i - 1].effective_from if i > 0 else None
            if before is not None and f.effective_from is not None and (
                f.effective_from <= before
            ):
                raise ValueError(f"formulas 第 {i + 1} 项的生效日期必须晚于第 {i} 项")
            if self.effective_base(f) not in f.bases:
                allowed = [b for b in f.bases if b] or ["（不填）"]
                raise ValueError(
                    f"公式 {f.kind} 不能以 {self.base!r} 为基数，可选：{'、'.join(allowed)}"
                )
        if self.eligibility.waiting is not None and self.kind != "illness":
            raise ValueError("等待期只适用于疾病类项目（kind: illness），意外不设等待期")
        codes = [c.cap_code for c in self.caps]
        for code in codes:
            if codes.count(code) > 1:
                raise ValueError(f"上限 {code} 重复")
        for cap in self.caps:
            if cap.period == "period" and not self.eligibility.enrolment:
                raise ValueError("按互助期计的上限需要 eligibility.enrolment: true")
        self._check_day_caps()
        if self.eligibility.requires is not None and self.eligibility.requires.benefit == self.code:
            raise PathError(("eligibility", "requires", "benefit"),
                            f"前置项目不能是本项目自己（{self.code}）")
        return self

    def _check_day_caps(self) -> None:
        # A day cap limits days, and the money follows from the days paid: mixing it with
        # money or count caps would need two units in one running sum, so it is refused.
        for j, cap in enumerate(self.caps):
            if cap.days is None:
                continue
            if any(f.kind != "per_day" for f in self.versions):
                raise PathError(("caps", j, "days"),
                                "按天数计的上限只适用于按天给付（per_day）的项目")
            mixed = [i for i, c in enumerate(self.caps) if c.days is None]
            if mixed:
                raise PathError(("caps", mixed[0]),
                                "同一项目有按天数计的上限时，其他上限也须按天数计（days）")

    @property
    def day_capped(self) -> bool:
        """True when the benefit's caps count paid days (``days``) instead of money."""
        return any(c.days is not None for c in self.caps)

    @property
    def versions(self) -> list[AnyFormula]:
        return [self.formula] if self.formula is not None else list(self.formulas or [])

    def effective_base(self, formula: AnyFormula | None = None) -> str | None:
        """The base actually used (defaults: per_day → days, grade_table → grade)."""
        formula = formula or self.versions[0]
        if self.base is not None:
            return self.base
        return formula.default_base

    def formula_at(self, day: dt.date) -> Any:
        """The formula version in force on ``day`` (None before the first one)."""
        current = None
        for f in self.versions:
            if f.effective_from is None or f.effective_from <= day:
                current = f
        return current


class Policy(_Model):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str = Field(min_length=1)
    version: str = "1"
    issuer: str | None = None
    premium_per_year: Money | None = None
    source: str | None = None
    description: str | None = None
    benefits: list[Benefit] = Field(min_length=1)

    @field_validator("benefits")
    @classmethod
    def _unique(cls, benefits: list[Benefit]) -> list[Benefit]:
        seen: set[str] = set()
        for i, b in enumerate(benefits, start=1):
            if b.code in seen:
                raise ValueError(f"第 {i} 个项目的代码 {b.code} 重复")
            seen.add(b.code)
        codes = [b.code for b in benefits]
        for i, b in enumerate(benefits):
            need = b.eligibility.requires
            if need is not None and need.benefit not in codes:
                raise PathError(
                    (i, "eligibility", "requires", "benefit"),
                    f"前置项目 {need.benefit!r} 不在本政策中，可选：{'、'.join(codes)}",
                )
        return benefits

    def benefit(self, code: str) -> Benefit:
        for b in self.benefits:
            if b.code == code:
                return b
        raise KeyError(code)

    @property
    def benefit_codes(self) -> list[str]:
        return [b.code for b in self.benefits]

    @property
    def reads_enrolments(self) -> bool:
        """Whether the plan joins the enrolments (enrolment rules or per-period caps)."""
        return any(b.eligibility.enrolment or any(c.period == "period" for c in b.caps)
                   for b in self.benefits)

    @property
    def day_capped_codes(self) -> list[str]:
        return [b.code for b in self.benefits if b.day_capped]

    @property
    def content_hash(self) -> str:
        """sha256 (hex) of the policy's canonical content: the validated model as JSON
        with sorted keys (a YAML 1.2 document), so formatting and comments do not count
        but every rule, number, ``source`` and ``illustrative`` flag does."""
        # Not a cached_property: model_copy() would copy the cached value into a policy
        # with other benefits. Frozen policies are remembered by identity instead.
        hit = _HASHES.get(id(self))
        if hit is not None and hit[0] is self:
            return hit[1]
        digest = hashlib.sha256(canonical_text(self).encode()).hexdigest()
        if len(_HASHES) > 512:
            _HASHES.clear()
        _HASHES[id(self)] = (self, digest)
        return digest


_HASHES: dict[int, tuple[Policy, str]] = {}


def canonical_text(policy: Policy) -> str:
    """The canonical serialisation hashed by :attr:`Policy.content_hash`."""
    data = policy.model_dump(mode="json")
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
