"""Role checks and small formatting helpers for templates."""

from __future__ import annotations

from django import template

from huzhu.orgs import scope

register = template.Library()


@register.filter
def may_write(user) -> bool:
    return bool(user.is_authenticated and scope.can_write(user))


@register.filter
def may_read_audit(user) -> bool:
    return bool(user.is_authenticated and scope.can_read_audit_log(user))


@register.filter
def may_see_full_id(user) -> bool:
    return bool(user.is_authenticated and scope.can_see_full_id(user))


@register.filter
def percent_of(value: int, total: int) -> int:
    """Whole percent for bar widths (display only, never money)."""
    return round(100 * value / total) if total else 0


@register.filter
def get_item(mapping, key):
    """``mapping[key]`` in a template (labels looked up by code)."""
    return mapping.get(key, key) if hasattr(mapping, "get") else key
