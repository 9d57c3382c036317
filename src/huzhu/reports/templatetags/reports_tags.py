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

