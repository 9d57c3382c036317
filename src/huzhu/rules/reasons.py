"""The reason a reviewer reads (``reason_message``): Chinese, no codes, and the number
that decides it — the threshold, the age range, the cap, the first day paid.

The texts are built here when a policy is compiled, per benefit and per formula
version; the plan carries them as integer codes (see :mod:`huzhu.rules.compiler`).
The generic texts of :data:`~huzhu.rules.output.REASON_MESSAGES` stand where a reason
has no number of its own (a member unknown, a field missing).
"""

from __future__ import annotations

from decimal import Decimal

from huzhu.rules.money import yuan
from huzhu.rules.output import FIELD_LABELS, REASON_MESSAGES
from huzhu.rules.schema import (
    AnyFormula,
    BandsFormula,
    Benefit,
    Cap,
    GradeRow,
    GradeTableFormula,
    OutcomeFormula,
    PerDayFormula,
    percent_label,
)
from huzhu.rules.vocabulary import GENDER, OCCUPATION, OUTCOME, RELATION, STATUS, words

WAIT_MARK = "〔等待期末日〕"
"""Stands in a waiting-period text for the row's last day of waiting, which the plan
fills in from the row (first enrolment + the days) as it writes the text."""
WHO = {"member": "每人", "family": "每个家庭", "relative": "每位亲属"}
WHEN = {"year": "每年", "period": "每互助期"}


def _money(value: Decimal) -> str:
    return f"{yuan(value)} 元"


def benefit_message(code: str, benefit: Benefit) -> str | None:
    """The text of an ineligibility ``code`` that the benefit's eligibility decides, with
    its number; None when the generic text says all (or the benefit has no such rule)."""
    e = benefit.eligibility
    base = REASON_MESSAGES[code]
    if code == "status_not_eligible" and e.status:
        return f"{base}（须为{words(STATUS, e.status)}）"
    if code == "age_out_of_range" and e.age is not None:
        lo, hi = e.age.min, e.age.max
        if lo is not None and hi is not None:
            return f"{base}（须 {lo} 至 {hi} 周岁）"
        if lo is not None:
            return f"{base}（须年满 {lo} 周岁）"
        if hi is not None:
            return f"{base}（须不超过 {hi} 周岁）"
    if code == "gender_not_eligible" and e.gender:
        return f"{base}（限{'、'.join(GENDER[g] + '性' for g in e.gender)}）"
    if code == "occupation_not_eligible" and e.occupation:
        return f"{base}（限{words(OCCUPATION, e.occupation)}）"
    if code == "outside_window" and e.window is not None:
        start, end = e.window.start, e.window.end
        if start and end:
            return f"{base}（保障期 {start} 至 {end}）"
        if start:
            return f"{base}（保障期自 {start} 起）"
        if end:
            return f"{base}（保障期至 {end}）"
    if code == "waiting_period" and e.waiting is not None:
        return (f"{base}（等待期至 {WAIT_MARK}，首次参保后 {e.waiting.no_pay_days} 天内"
                "不给付）")
    if code == "waiting_period_reduced" and e.waiting is not None and e.waiting.reduced_rate:
        return (f"{base}（首次参保后 {e.waiting.reduced_days} 天内按 "
                f"{percent_label(e.waiting.reduced_rate)} 给付）")
    if code == "relation_not_covered" and e.relation:
        return f"{base}（限{words(RELATION, e.relation)}）"
    if code == "not_in_force" and benefit.versions[0].effective_from is not None:
        return f"{base}（自 {benefit.versions[0].effective_from} 起生效）"
    return None


def formula_messages(code: str, formula: AnyFormula) -> list[tuple[str, str]]:
    """Texts of a formula condition ``code`` under ``formula``, each with what selects
    it: ``""`` (always) or ``"threshold"`` (the base is at or below the formula's
    qualifying threshold; otherwise the first band's lower edge decided)."""
    base = REASON_MESSAGES[code]
    if isinstance(formula, BandsFormula):
        if code == "below_threshold":
            edge = f"{base}（须超过 {_money(formula.bands[0].above)}"
            edge += "，扣除免赔额后计）" if formula.deductible is not None else "）"
            out = [("threshold", f"{base}（起付标准 {_money(formula.threshold)}）")] \
                if formula.threshold is not None else []
            return [*out, ("", edge)]
        if code == "below_deductible" and formula.deductible is not None:
            return [("", f"{base}（免赔额 {_money(formula.deductible)}）")]
    if isinstance(formula, PerDayFormula) and code == "below_min_days":
        return [("", f"{base}（自住院第 {formula.from_day} 天起给付）")]
    if isinstance(formula, OutcomeFormula):
        if code == "no_covered_outcome":
            paid = [o for o, part in (("death", formula.death), ("disability", formula.disability),
                                      ("fracture", formula.fracture)) if part is not None]
            return [("", f"{base}（本项目给付{words(OUTCOME, paid)}）")]
        if code == "grade_not_covered" and formula.disability:
            return [("", f"{base}（给付{_grades(formula.disability)}）")]
    if isinstance(formula, GradeTableFormula) and code == "grade_not_covered":
        return [("", f"{base}（给付{_grades(formula.grades)}）")]
    return []


def _grades(rows: list[GradeRow]) -> str:
    grades = sorted(r.grade for r in rows)
    if grades == list(range(grades[0], grades[-1] + 1)) and len(grades) > 1:
        return f" {grades[0]} 至 {grades[-1]} 级"
    return f" {'、'.join(str(g) for g in grades)} 级"


def missing_message(field: str) -> str:
    return f"缺少必需的信息：{FIELD_LABELS.get(field, '其他信息')}"


def prerequisite_message(required_name: str) -> str:
    """Default message of ``prerequisite_missing``: which benefit's event is missing."""
    return f"尚无前置项目「{required_name}」的事件（须为同一会员、日期不晚于本事件）"


def cap_message(cap: Cap) -> str:
    """A capped row's text: the cap's scope, period and limit, in words (a cap's own
    ``code`` is for programs; the reviewer reads what it limits)."""
    if cap.per == "event":
        limit = _money(cap.amount) if cap.amount is not None else ""
        return f"超过单次给付上限（{limit}）" if limit else "超过单次给付上限"
    who = WHO[cap.per]
    when = WHEN.get(cap.period or "lifetime", "终身" if cap.per == "member" else "")
    if cap.times is not None:
        if cap.times == 1:
            return f"{who}{when}限给付一次，已给付过"
        return f"{who}{when}限给付 {cap.times} 次，已给付 {cap.times} 次"
    if cap.days is not None:
        return f"超过{who}{when}累计给付天数上限（{cap.days} 天）"
    return f"超过{who}{when}累计上限（{_money(Decimal(cap.limit))}）"
