"""``{% load money %}``: ``{{ amount|yuan }}`` reads 12,345.60 on every page, whatever
the database returned (SQLite's sums have 4 to 11 places, or none)."""

from __future__ import annotations

from django import template

from huzhu.rules.money import yuan as _yuan

register = template.Library()


@register.filter
def yuan(value: object) -> str:
    """Two places, thousands separators; an empty value reads 0.00, a non-amount —."""
    try:
        return _yuan(value)
    except (TypeError, ValueError):
        return "—"
