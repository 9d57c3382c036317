"""Small formatting helpers for templates (who may do what: ``perms``, the role table)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def percent_of(value: int, total: int) -> int:
    """Whole percent for bar widths (display only, never money)."""
    return round(100 * value / total) if total else 0


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """``mapping[key]`` in a template (labels looked up by code)."""
    return mapping.get(key, key) if hasattr(mapping, "get") else key
