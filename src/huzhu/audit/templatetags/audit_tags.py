"""How an audit entry's changes read on the audit log page (see huzhu.audit.labels)."""

from __future__ import annotations

from typing import Any

from django import template

from huzhu.audit import labels, objects

register = template.Library()


@register.simple_tag
def change_label(key: str, object_type: str = "") -> str:
    return labels.label(key, object_type)


@register.simple_tag
def change_value(raw: Any, object_type: str = "", key: str = "") -> str:
    return labels.value(raw, object_type, key)


@register.filter
def changes_text(changes: dict[str, Any], object_type: str = "") -> list[tuple[str, str]]:
    """(Chinese label, value as read) for each of an entry's changes."""
    return labels.changes_text(changes, object_type)


@register.filter
def object_label(object_type: str) -> str:
    return objects.kind_of(object_type)
