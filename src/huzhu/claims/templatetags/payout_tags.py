"""Template filters for payouts: who gets the navigation link (给付)."""

from __future__ import annotations

from decimal import Decimal

from django import template

from huzhu.claims.payouts.build import can_pay

register = template.Library()


@register.filter
def may_pay(user) -> bool:
    return bool(user.is_authenticated and can_pay(user))


@register.filter
def yuan(value) -> str:
    """An amount with thousands separators and two decimals (1,740.00), exact: a Decimal
    formats its own digits. SQLite's sums come back without their trailing zeros."""
    if value is None or value == "":
        return "0.00"
    return f"{Decimal(value):,.2f}"
