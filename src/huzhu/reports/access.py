"""The request's selection for the statistics pages (who may read them and run a what-if:
:mod:`huzhu.orgs.roles`, ``reports.read`` and ``reports.what_if``)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import BadRequest
from django.http import Http404
from django.utils import timezone

from huzhu.coverage.models import Scheme
from huzhu.lib.params import id_param
from huzhu.orgs.models import Union, User
from huzhu.reports import figures


def schemes_for(user: User) -> list[Scheme]:
    return list(Scheme.objects.visible_to(user).select_related("union"))


def _date(params, name: str) -> dt.date | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"参数 {name} 应为日期（YYYY-MM-DD）：{raw[:20]}") from None


def dates_from(params) -> tuple[dt.date, dt.date, int | None]:
    """(start, end, year): ``from``/``to`` when given, else ``year`` (default this year)."""
    start, end = _date(params, "from"), _date(params, "to")
    if start or end:
        if not (start and end):
            raise BadRequest("请同时填写开始日期和结束日期")
        if end < start:
            raise BadRequest("结束日期不能早于开始日期")
        return start, end, None
    raw = (params.get("year") or "").strip()
    if raw and not (raw.isdigit() and 1990 <= int(raw) <= 2100):
        raise BadRequest(f"参数 year 应为年份：{raw[:10]}")
    year = int(raw) if raw else timezone.localdate().year
    start, end = figures.year_range(year)
    return start, end, year


def selection_from(user: User, params) -> figures.Selection | None:
    """The page's selection from the query string (None: no scheme the user may see)."""
    schemes = schemes_for(user)
    if not schemes:
        return None
    code = (params.get("scheme") or "").strip()
    scheme = next((s for s in schemes if s.code == code), None) if code else schemes[0]
    if scheme is None:
        raise Http404("没有这个保障项目")
    start, end, _ = dates_from(params)
    union_id = id_param(params, "union")
    union = None
    if union_id is not None:
        union = Union.objects.filter(pk=union_id).first()
        if union is None:
            raise Http404("没有这个工会")
    try:
        return figures.select(user, scheme, start=start, end=end, union=union)
    except figures.OutOfScope:
        raise Http404("该工会不在您的管辖范围内") from None
