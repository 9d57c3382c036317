from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from django import template

from huzhu.reports.render import show

register = template.Library()


@register.filter
def figure(value, unit: str = "") -> str:
    return show(value, unit)


@register.simple_tag
def query_with(query: str, **changes) -> str:
    """The page's query string with some parameters replaced (drill-down links)."""
    params = dict(parse_qsl(query))
    params.update({k: str(v) for k, v in changes.items()})
    return urlencode(params)


@register.filter
def money(value) -> str:
    """A report's amount (text with two decimals, from JSON) with thousands separators."""
    from decimal import Decimal, InvalidOperation

    try:
        return f"{Decimal(str(value)):,.2f}"
    except (InvalidOperation, ValueError):
        return "—"


@register.filter
def may_read_reports(user) -> bool:
    from huzhu.reports.access import can_read_reports

    return can_read_reports(user)
