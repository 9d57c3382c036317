"""The statistics as titled tables: what the page shows beside each chart, what each
xlsx sheet holds and what the annual PDF prints — built once from :class:`Statistics`."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from huzhu.reports.figures import DEFINITIONS, Statistics

WAN = Decimal(10000)


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    money: tuple[int, ...] = ()
    """Indexes of the columns that are amounts (two decimals in xlsx)."""


TABLE_KEYS = ("summary", "month", "benefit", "union", "tier")


def summary(stats: Statistics) -> Table:
    rows = [[h.label, h.value, h.unit] for h in stats.headlines()]
    return Table("summary", "主要指标", ["指标", "数值", "单位"], rows)


def by_month(stats: Statistics) -> Table:
    return Table("month", "按月给付", ["月份", "给付金额（元）", "人次"],
                 [[m.month, m.paid_total, m.person_times] for m in stats.by_month], (1,))


def by_benefit(stats: Statistics) -> Table:
    return Table("benefit", "分项目给付", ["项目", "给付金额（元）", "人次", "人数"],
                 [[b.name, b.paid_total, b.person_times, b.members]
                  for b in stats.by_benefit], (1,))


def by_union(stats: Statistics) -> Table:
    return Table("union", "下级工会给付",
                 ["工会", "编码", "层级", "给付金额（元）", "人次", "人数"],
                 [[u.name, u.code, u.level, u.paid_total, u.person_times, u.members]
                  for u in stats.by_union], (3,))


def by_tier(stats: Statistics) -> Table:
    return Table("tier", "按政策档次", ["项目", "档次", "人次", "给付金额（元）"],
                 [[t.benefit_name, t.label, t.person_times, t.paid_total]
                  for t in stats.by_tier], (3,))


BUILDERS = {"summary": summary, "month": by_month, "benefit": by_benefit,
            "union": by_union, "tier": by_tier}


def all_tables(stats: Statistics) -> list[Table]:
    return [BUILDERS[k](stats) for k in TABLE_KEYS]


def definitions() -> Table:
    return Table("definitions", "统计口径", ["名词", "定义"], [list(d) for d in DEFINITIONS])


def chart_data(stats: Statistics) -> dict[str, dict]:
    """Plotly traces for the page's charts (amounts as numbers: a chart's bar height,
    never money that is computed with). Amounts are in 万元, as a leader reads them (an
    axis of "40,000,000" is hard to read); ``y_count`` / ``y2_count`` mark an axis of
    人次, which charts.js ticks in whole numbers only (no "0.5 人次")."""
    def wan(v: Decimal) -> float:
        # To the yuan (four places of 万), enough for a bar and its hover label.
        return float((v / WAN).quantize(Decimal("0.0001")))

    tiers = [t for t in stats.by_tier if t.label != "（不分档）"]
    return {
        "month": {"kind": "bar", "x": [m.month for m in stats.by_month],
                  "y": [wan(m.paid_total) for m in stats.by_month], "name": "给付金额（万元）",
                  "y2": [m.person_times for m in stats.by_month], "name2": "人次",
                  "y2_count": True},
        "benefit": {"kind": "bar", "x": [b.name for b in stats.by_benefit],
                    "y": [wan(b.paid_total) for b in stats.by_benefit],
                    "name": "给付金额（万元）"},
        "union": {"kind": "bar", "x": [u.name for u in stats.by_union],
                  "y": [wan(u.paid_total) for u in stats.by_union], "name": "给付金额（万元）"},
        "tier": {"kind": "bar", "x": [f"{t.benefit_name} {t.label}" for t in tiers],
                 "y": [t.person_times for t in tiers], "name": "人次", "horizontal": True,
                 "y_count": True},
    }
