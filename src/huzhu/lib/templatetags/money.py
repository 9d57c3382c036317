"""``{% load money %}``: ``{{ amount|yuan }}`` reads 12,345.60 on every page, whatever
the database returned (SQLite's sums have 4 to 11 places, or none); ``{{ x|share }}``
reads a stored fraction (0.500) as 50%."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django import template

from huzhu.rules.money import as_decimal as _as_decimal
from huzhu.rules.money import yuan as _yuan

register = template.Library()


@register.filter
def yuan(value: object) -> str:
    """Two places, thousands separators; an empty value reads 0.00, a non-amount —."""
    try:
        return _yuan(value)
    except (TypeError, ValueError):
        return "—"


@register.filter
def share(value: object) -> str:
    """A share stored as a fraction (0.500) as people read it: 50%, 66.7% (up to one
    place, half-up, no trailing zeros); an empty or non-number value reads —."""
    try:
        fraction = _as_decimal(value)
    except (TypeError, ValueError):
        return "—"
    pct = (fraction * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    text = f"{pct:f}".rstrip("0").rstrip(".")
    return f"{text}%"
