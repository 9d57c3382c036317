"""How an audit entry's changes read on the audit log page (see huzhu.audit.labels)."""

from __future__ import annotations

from django import template

from huzhu.audit import labels

register = template.Library()


@register.simple_tag
def change_label(key: str, object_type: str = "") -> str:
    return labels.label(key, object_type)


@register.simple_tag
def change_value(raw, object_type: str = "") -> str:
    return labels.value(raw, object_type)


@register.filter
def object_label(object_type: str) -> str:
    return labels.OBJECT_TYPES.get(object_type, object_type)
