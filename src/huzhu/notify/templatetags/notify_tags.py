"""Template filters for the outbox: who gets the navigation link and the 重发 button."""

from __future__ import annotations

from django import template

from huzhu.notify import access

register = template.Library()


@register.filter
def may_read_outbox(user) -> bool:
    return bool(user.is_authenticated and access.can_read_outbox(user))


@register.filter
def may_retry_sms(user) -> bool:
    return bool(user.is_authenticated and access.can_retry(user))
