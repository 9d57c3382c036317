"""A claim's computation in sentences a clerk can check with a calculator (计算过程).

The engine keeps one output row per claim: the base, the band's label, the marginal
rate, the raw amount and the payable. Those alone do not add up on paper — a 1,000.00
deductible and a progressive split (10,000.00 at 50% plus 1,800.50 at 60%) are not in
the row. This module re-derives every step from the policy and the row, in Chinese,
each with its numbers: the base, the threshold or deductible, each band's slice at its
rate, the days paid, the waiting period's reduction, what the cap had used before, its
limit and its room, and what is paid.

It states only what agrees with the engine: the formula's amount is recomputed here
(exact Decimal, half-up to the fen, as the engine does) and, should it differ from the
row's ``raw_amount`` (a policy edited since the row was computed), the split is left out
and the engine's amount is stated alone. The last amount of the list is always the row's
``payable``.

Pure Python like the rest of :mod:`huzhu.rules`; the claim page and the member pages read
it through their template tags.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from huzhu.rules.money import FEN, as_decimal, to_fen, yuan
from huzhu.rules.output import REASON_MESSAGES
from huzhu.rules.reasons import benefit_message, formula_messages
from huzhu.rules.schema import (
    AnyFormula,
    Band,
    BandsFormula,
    Benefit,
    Cap,
    GradeTableFormula,
    LumpSumFormula,
    OutcomeFormula,
    PercentFormula,
    PerDayFormula,
    Policy,
    percent_label,
)
from huzhu.rules.vocabulary import FRACTURE_SITE, OUTCOME, words

# The base as a clerk names it on the page (the example of the issue: 个人自付).
BASE_WORDS = {"out_of_pocket": "个人自付", "total_cost": "医疗费总额",
              "loss_amount": "核定损失"}
# Whose running sum a cap counts, and over which time, as the sentence names it.
CAP_WHO = {"member": "本人", "family": "本家庭", "relative": "该亲属"}
CAP_WHEN = {"year": "本年", "period": "本互助期", "lifetime": "累计"}
CAP_SCOPE_WHO = {"member": "每人", "family": "每个家庭", "relative": "每位亲属"}
CAP_SCOPE_WHEN = {"year": "每年", "period": "每互助期", "lifetime": "终身"}


def money(value: object) -> str:
    """An amount as every sentence writes it: 12,800.50 元."""
    return f"{yuan(value)} 元"


@dataclass(frozen=True)
class Slice:
    """One band's part of a progressive amount: ``part`` at ``rate`` gives ``amount``."""

    part: Decimal
    rate: Decimal
    amount: Decimal


def progressive_split(formula: BandsFormula, amount: Decimal) -> tuple[list[Slice], Decimal]:
    """The slices of ``amount`` inside each band and the total the engine pays for them.

    The engine rounds once, at the end; each slice shown is its exact product rounded
    half-up, and where several slices carry fractions of a fen whose rounded values
    would not add up to the once-rounded total, the fen go to the largest remainders
    (each slice then reads its exact product rounded down or up), so the slices a clerk
    adds always give the total paid.
    """
    parts: list[tuple[Decimal, Decimal, Decimal]] = []
    for band in formula.bands:
        if amount <= band.above:
            break
        top = amount if band.upto is None else min(amount, band.upto)
        part = top - band.above
        parts.append((part, band.rate, part * band.rate))
    total = to_fen(sum((exact for _, _, exact in parts), Decimal(0)))
    shown = [to_fen(exact) for _, _, exact in parts]
    if sum(shown, Decimal(0)) != total:
        shown = [exact.quantize(FEN, rounding=ROUND_DOWN) for _, _, exact in parts]
        spare = int((total - sum(shown, Decimal(0))) / FEN)
        by_remainder = sorted(range(len(parts)), key=lambda i: parts[i][2] - shown[i],
                              reverse=True)
        for i in by_remainder[:spare]:
            shown[i] += FEN
    slices = [Slice(part, rate, value) for (part, rate, _), value in zip(parts, shown,
                                                                          strict=True)]
    return slices, total


def band_words(band: Band) -> str:
    """A band as a range: 超过 10,000.00 元至 50,000.00 元（含）."""
    return band.words


def _dec(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return as_decimal(value)
    except (TypeError, ValueError):
        return None


def _int(value: object) -> int | None:
    number = _dec(value)
    return None if number is None else int(number)


def _date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


@dataclass
class _Formula:
    """What the formula paid, in sentences, and the amount before any reduction (None
    when it cannot be re-derived from the row)."""

    sentences: list[str]
    amount: Decimal | None
    paid_days: int | None = None


def _bands(formula: BandsFormula, label: str, base: Decimal) -> _Formula:
    head = f"{label} {money(base)}"
    if formula.threshold is not None:
        head += f"，超过起付标准 {money(formula.threshold)}，全额计算"
    amount = base
    if formula.deductible is not None:
        amount = base - formula.deductible
        head += f"，减免赔额 {money(formula.deductible)}，余 {money(amount)}"
    if formula.mode == "bracket":
        band = formula.band_for(amount)
        if band is None:
            return _Formula([head], None)
        value = to_fen(amount * band.rate)
        return _Formula([head, f"{money(amount)}在{band_words(band)}一档，全额按 "
                               f"{percent_label(band.rate)} 计 {money(value)}"], value)
    slices, total = progressive_split(formula, amount)
    split = "，".join(f"{money(s.part)}按 {percent_label(s.rate)} 计 {money(s.amount)}"
                     for s in slices)
    if len(slices) > 1:
        split += f"，合计 {money(total)}"
    return _Formula([head, f"分段累进：{split}"], total)


def _per_day(formula: PerDayFormula, days: int) -> _Formula:
    paid = days - (formula.from_day - 1)
    text = f"住院 {days} 天"
    if formula.from_day > 1:
        text += f"，自第 {formula.from_day} 天起给付"
    if formula.max_days is not None and paid > formula.max_days:
        paid = formula.max_days
        text += f"，每次最多 {formula.max_days} 天"
    if paid < 1:
        return _Formula([text], None)
    if text != f"住院 {days} 天":
        text += f"，计 {paid} 天"
    value = to_fen(paid * formula.amount)
    return _Formula([text, f"{paid} 天 × 每天 {money(formula.amount)}，计 {money(value)}"],
                    value, paid)


def _grade(grades: list[tuple[int, Decimal]], grade: int | None, what: str) -> _Formula:
    for g, amount in grades:
        if g == grade:
            return _Formula([f"{what} {g} 级，按伤残等级表给付 {money(amount)}"], amount)
    return _Formula([], None)


def _outcome(formula: OutcomeFormula, band: str, grade: int | None) -> _Formula:
    if band == "death" and formula.death is not None:
        return _Formula([f"{OUTCOME['death']}，给付 {money(formula.death)}"], formula.death)
    if band == "disability" and formula.disability:
        return _grade([(r.grade, r.amount) for r in formula.disability], grade,
                      OUTCOME["disability"])
    if band.startswith("fracture:") and formula.fracture is not None:
        site = band.split(":", 1)[1]
        amount = formula.fracture.major if site == "major" else formula.fracture.other
        return _Formula([f"{OUTCOME['fracture']}（{FRACTURE_SITE.get(site, '其他部位')}），"
                         f"给付 {money(amount)}"], amount)
    return _Formula([], None)


def _formula(benefit: Benefit, formula: AnyFormula, row: Mapping[str, object],
             facts: Mapping[str, object]) -> _Formula:
    base_code = benefit.effective_base(formula) or ""
    base = _dec(row.get("base"))
    if base is None:
        base = _dec(facts.get(base_code))
    if isinstance(formula, BandsFormula) and base is not None:
        return _bands(formula, BASE_WORDS.get(base_code, "计算基数"), base)
    if isinstance(formula, PerDayFormula) and base is not None:
        return _per_day(formula, int(base))
    if isinstance(formula, PercentFormula) and base is not None:
        value = to_fen(base * formula.rate)
        label = BASE_WORDS.get(base_code, "计算基数")
        return _Formula([f"{label} {money(base)}，按 {percent_label(formula.rate)} 计 "
                         f"{money(value)}"], value)
    if isinstance(formula, LumpSumFormula):
        return _Formula([f"定额给付 {money(formula.amount)}"], formula.amount)
    grade = _int(row.get("grade"))
    if grade is None:
        grade = _int(facts.get("disability_grade"))
    if isinstance(formula, GradeTableFormula):
        return _grade([(r.grade, r.amount) for r in formula.grades], grade, "伤残")
    if isinstance(formula, OutcomeFormula):
        return _outcome(formula, str(row.get("band") or ""), grade)
    return _Formula([], None)


def _applies(cap: Cap, row: Mapping[str, object], facts: Mapping[str, object]) -> bool:
    """A per-event cap does not limit a row whose outcome it excepts (death)."""
    if not cap.unless_outcome:
        return True
    outcome = facts.get("outcome") or ("death" if row.get("band") == "death" else None)
    return outcome not in cap.unless_outcome


def _scope(cap: Cap) -> str:
    """The cap's reach as the policy states it: 每人每年, 每个家庭终身."""
    return CAP_SCOPE_WHO[cap.per] + CAP_SCOPE_WHEN[cap.period or "lifetime"]


def _used(cap: Cap) -> str:
    """Whose earlier payouts the cap counts: 本人本年, 本家庭累计."""
    return CAP_WHO[cap.per] + CAP_WHEN[cap.period or "lifetime"]


def _money_caps(benefit: Benefit, row: Mapping[str, object], facts: Mapping[str, object],
                payable: Decimal) -> list[str]:
    status, named = row.get("status"), str(row.get("cap") or "")
    room = _dec(row.get("cap_room"))
    if status == "capped":
        cap = next((c for c in benefit.caps if c.cap_code == named), None)
        if cap is None:
            return [str(row.get("reason_message") or "超过给付上限")]
        if cap.times is not None:
            return [f"{row.get('reason_message') or '已达给付次数上限'}，本次不再给付"]
        if cap.per == "event":
            return [f"超过单次给付上限 {money(cap.amount)}，按上限给付 {money(payable)}"]
        room = room if room is not None else payable
        used = Decimal(cap.limit) - room
        return [f"{_used(cap)}已给付 {money(used)}，{_scope(cap)}上限 "
                f"{money(cap.amount)}，尚余 {money(room)}，按剩余额度给付 {money(payable)}"]
    sentences = []
    applying = [c for c in benefit.caps if _applies(c, row, facts)]
    events = [c for c in applying if c.per == "event"]
    groups = [c for c in applying if c.per != "event" and c.amount is not None]
    for cap in benefit.caps:
        if cap.per == "event" and cap.amount is not None:
            if cap in events:
                sentences.append(f"未超过单次给付上限 {money(cap.amount)}")
            else:
                excepted = words(OUTCOME, cap.unless_outcome)
                sentences.append(f"{excepted}不受单次给付上限 {money(cap.amount)}限制")
        elif cap.times is not None:
            times = "一次" if cap.times == 1 else f" {cap.times} 次"
            sentences.append(f"{_scope(cap)}限给付{times}，本次在次数之内")
    event_room = min((c.amount for c in events if c.amount is not None), default=None)
    if room is not None and len(groups) == 1:
        cap = groups[0]
        if event_room is None or room < event_room:
            used = Decimal(cap.limit) - room
            sentences.append(f"{_used(cap)}已给付 {money(used)}，{_scope(cap)}上限 "
                             f"{money(cap.amount)}，尚余 {money(room)}，本次未超过")
        else:
            sentences.append(f"{_scope(cap)}上限 {money(cap.amount)}，尚余额度不少于 "
                             f"{money(room)}，本次未超过")
    elif room is not None and groups:
        scopes = "、".join(f"{_scope(c)} {money(c.amount)}" for c in groups)
        sentences.append(f"累计上限（{scopes}）中最少尚余 {money(room)}，本次未超过")
    return sentences


def _day_caps(benefit: Benefit, row: Mapping[str, object], formula: AnyFormula | None,
              paid_days: int | None, reduced: Decimal | None, payable: Decimal) -> list[str]:
    """The day caps in days; the money of the days paid when ``formula`` (the version
    whose daily amount agrees with the engine) is given."""
    days_paid, days_left = _int(row.get("days_paid")), _int(row.get("days_left"))
    if days_paid is None or days_left is None:
        return []
    caps = [c for c in benefit.caps if c.days is not None]
    named = next((c for c in caps if c.cap_code == row.get("cap")), None)
    room = days_left + days_paid
    cap = named if named is not None else (caps[0] if len(caps) == 1 else None)
    if cap is not None and cap.days is not None:
        head = (f"{_used(cap)}已给付 {cap.days - room} 天，{_scope(cap)}最多 {cap.days} 天，"
                f"尚余 {room} 天")
    else:
        head = f"各项天数上限中最少尚余 {room} 天"
    if named is None and days_paid == paid_days:
        return [f"{head}，本次给付 {days_paid} 天后尚余 {days_left} 天"]
    if not isinstance(formula, PerDayFormula):
        return [f"{head}，本次按 {days_paid} 天给付"]
    value = to_fen(days_paid * formula.amount)
    text = f"{head}，本次按 {days_paid} 天给付：{days_paid} 天 × 每天 {money(formula.amount)}，" \
        f"计 {money(value)}"
    if reduced is not None:
        text += f"，等待期内按 {percent_label(reduced)} 计 {money(payable)}"
    return [text]


def _numbered(benefit: Benefit, formula: AnyFormula | None, reason: str,
              base: Decimal | None) -> str | None:
    """The reason with the number that decides it, for a row kept with the generic text
    (computed before the engine wrote the numbers): the age range, the threshold, the
    first day paid. A waiting period's end needs the member's first enrolment, which
    the row does not keep; it stays generic."""
    if reason == "waiting_period":
        return None
    text = benefit_message(reason, benefit)
    if text is not None or formula is None:
        return text
    choices = formula_messages(reason, formula)
    at_threshold = isinstance(formula, BandsFormula) and formula.threshold is not None \
        and base is not None and base <= formula.threshold
    for when, reason_text in choices:
        if when == "" or (when == "threshold" and at_threshold):
            return reason_text
    return None


def explain(policy: Policy, benefit_code: str, row: Mapping[str, object],
            facts: Mapping[str, object] | None = None) -> list[str]:
    """The claim's computation as sentences, the last stating what is payable.

    ``row`` is the engine's output row, as the engine returns it (Decimals, dates) or as a
    claim keeps it (text); ``facts`` are the event's facts (``out_of_pocket``, ``days``,
    ``outcome``, ``disability_grade`` …), read where the row does not carry them.
    """
    facts = facts or {}
    benefit = policy.benefit(benefit_code)
    payable = _dec(row.get("payable")) or Decimal("0.00")
    status, reason = row.get("status"), str(row.get("reason") or "")
    message = str(row.get("reason_message") or REASON_MESSAGES.get(reason, ""))
    day = _date(row.get("event_date")) or _date(facts.get("event_date"))
    formula = benefit.formula_at(day) if day is not None else benefit.versions[-1]
    if status == "ineligible":
        sentences = []
        base = _dec(row.get("base"))
        code = benefit.effective_base(formula) if formula is not None else None
        if base is not None and code in BASE_WORDS:
            sentences.append(f"{BASE_WORDS[code]} {money(base)}")
        elif base is not None and code == "days":
            sentences.append(f"住院 {int(base)} 天")
        if message == REASON_MESSAGES.get(reason):
            message = _numbered(benefit, formula, reason, base) or message
        sentences.append(f"不符合给付条件：{message or '不予给付'}")
        return [*sentences, f"应付 {money(payable)}"]
    raw = _dec(row.get("raw_amount"))
    found = _formula(benefit, formula, row, facts) if formula is not None else _Formula([], None)
    waiting = benefit.eligibility.waiting
    rate = waiting.reduced_rate if waiting is not None else None
    reduced: Decimal | None = None
    sentences = list(found.sentences)
    if found.amount is not None and raw is not None and found.amount != raw and rate is not None \
            and to_fen(found.amount * rate) == raw:
        reduced = rate
        sentences.append(f"{REASON_MESSAGES['waiting_period_reduced']}（首次参保后 "
                         f"{waiting.reduced_days if waiting else ''} 天内按 "
                         f"{percent_label(rate)} 给付），计 {money(raw)}")
    elif found.amount is None or raw is None or found.amount != raw:
        # The policy no longer gives the kept amount: state the engine's number only.
        sentences = [f"按当时的政策计 {money(raw if raw is not None else payable)}"]
        formula = None
    if benefit.day_capped:
        sentences += _day_caps(benefit, row, formula, found.paid_days, reduced, payable)
    elif raw is not None:
        sentences += _money_caps(benefit, row, facts, payable)
    return [*sentences, f"应付 {money(payable)}"]
