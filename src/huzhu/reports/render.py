"""How a figure is written for people (pages, PDF, the terminal): one place."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from huzhu.rules.money import yuan


def show(value: Any, unit: str = "") -> str:
    """12,345.60 元 · 1,234 人次 · 98.5% · — for a figure that does not apply."""
    if value is None:
        return "—"
    if isinstance(value, Decimal) and unit == "%":
        return f"{value}%"
    if isinstance(value, Decimal):
        return yuan(value) + (f" {unit}" if unit else "")
    if isinstance(value, int):
        return f"{value:,}" + (f" {unit}" if unit else "")
    return str(value)


def wan(amount: Decimal) -> str:
    """An amount in 万元 as the seeds write it (3,038万): two decimals below a million."""
    w = amount / 10000
    return f"{w:,.0f}万" if w >= 100 else f"{w:,.2f}万"
