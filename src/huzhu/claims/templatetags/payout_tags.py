"""Template filters for payouts: who gets the navigation link (给付).

``may_pay`` stays only while ``web/templates/base.html`` loads it; templates ask
``{% if perms.claims.pay %}`` (the role table, :mod:`huzhu.orgs.roles`)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def may_pay(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm("claims.pay"))
