"""The tiers of a policy (its own bands and grades), and a SQL expression that puts a paid
claim into one of them.

The tiers are read from the scheme's pinned policy, never from a list kept here: a band
table ``(5,000,10,000] 1.5%`` …, a grade table (伤残 1 级 …), the outcomes of an accident
formula (身故, 伤残 n 级, 骨折). A claim's tier is decided by the fact the formula uses
(its ``base``: out-of-pocket cost, loss, grade …) under the formula version in force on
its event date — exactly where the engine put it. Benefits whose formula has no tiers
(a lump sum, a percentage, a daily amount) are one tier: the benefit itself.

Everything inlined into the SQL comes from a validated policy (benefit codes match
``[a-z][a-z0-9_]*``, amounts are Decimals, dates are dates), never from a request.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from huzhu.rules.explain import band_words
from huzhu.rules.schema import (
    BandsFormula,
    GradeTableFormula,
    OutcomeFormula,
    Policy,
    percent_label,
)
from huzhu.rules.vocabulary import OUTCOME

# The claim column each engine base is read from.
BASE_COLUMNS = {"out_of_pocket": "out_of_pocket", "total_cost": "total_cost",
                "loss_amount": "loss_amount", "days": "days",
                "disability_grade": "disability_grade"}


@dataclass(frozen=True)
class Tier:
    index: int
    benefit: str
    benefit_name: str
    label: str


@dataclass(frozen=True)
class TierPlan:
    tiers: list[Tier]
    sql: str
    """A CASE over the claim alias ``c`` giving a tier's index, or NULL."""


def plan(policy: Policy, alias: str = "c") -> TierPlan:
    tiers: list[Tier] = []
    by_key: dict[tuple[str, str], int] = {}
    whens: list[str] = []

    def tier(benefit, label: str) -> int:
        key = (benefit.code, label)
        if key not in by_key:
            by_key[key] = len(tiers)
            tiers.append(Tier(len(tiers), benefit.code, benefit.name, label))
        return by_key[key]

    for benefit in policy.benefits:
        versions = benefit.versions
        tiered = False
        for i, formula in enumerate(versions):
            when_date = _date_condition(alias, formula.effective_from if i else None,
                                        versions[i + 1].effective_from
                                        if i + 1 < len(versions) else None)
            head = f"{alias}.benefit = '{benefit.code}'" + when_date
            for condition, label in _rows(benefit, formula, alias):
                tiered = True
                whens.append(f"WHEN {head} AND {condition} THEN {tier(benefit, label)}")
        if not tiered:
            whens.append(f"WHEN {alias}.benefit = '{benefit.code}' "
                         f"THEN {tier(benefit, '（不分档）')}")
    sql = f"CASE {' '.join(whens)} ELSE NULL END" if whens else "NULL"
    return TierPlan(tiers, sql)


def _date_condition(alias: str, start: dt.date | None, next_start: dt.date | None) -> str:
    out = ""
    if start is not None:
        out += f" AND {alias}.event_date >= '{start.isoformat()}'"
    if next_start is not None:
        out += f" AND {alias}.event_date < '{next_start.isoformat()}'"
    return out


def _num(value: Decimal) -> str:
    return format(Decimal(value), "f")


def _rows(benefit, formula, alias: str) -> list[tuple[str, str]]:
    """(SQL condition, label) per tier of one formula version; none for untiered ones."""
    if isinstance(formula, BandsFormula):
        column = f"{alias}.{BASE_COLUMNS[benefit.effective_base(formula)]}"
        out = []
        for band in formula.bands:
            cond = f"{column} > {_num(band.above)}"
            if band.upto is not None:
                cond += f" AND {column} <= {_num(band.upto)}"
            # In words, as the claim's 计算过程 writes a band, not "(20000,50000] 3%".
            out.append((cond, f"{band_words(band)}按 {percent_label(band.rate)}"))
        return out
    if isinstance(formula, GradeTableFormula):
        column = f"{alias}.{BASE_COLUMNS[benefit.effective_base(formula)]}"
        return [(f"{column} = {row.grade}", f"{row.grade} 级") for row in formula.grades]
    if isinstance(formula, OutcomeFormula):
        out = []
        if formula.death is not None:
            out.append((f"{alias}.outcome = 'death'", OUTCOME["death"]))
        for row in formula.disability or []:
            out.append((f"{alias}.disability_grade = {row.grade}",
                        f"{OUTCOME['disability']} {row.grade} 级"))
        if formula.fracture is not None:
            fracture = (f"{alias}.outcome = 'fracture' AND {alias}.disability_grade IS NULL "
                        f"AND {alias}.fracture_site")
            out.append((f"{fracture} = 'major'", f"{OUTCOME['fracture']}（主要部位）"))
            out.append((f"{fracture} <> 'major'", f"{OUTCOME['fracture']}（其他部位）"))
        return out
    return []
