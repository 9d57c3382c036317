"""Units (单位): list with search, and one unit with its newest members."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from huzhu.members.models import Member
from huzhu.members.search import int_param, search_units
from huzhu.orgs.models import Unit
from huzhu.orgs.scope import get_scoped_or_404, scoped_by_ids, scoped_unions

PAGE_SIZE = 50


@login_required
def unit_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:50]
    union_id = int_param(request.GET.get("union"))
    after = int_param(request.GET.get("after"))
    qs = search_units(request.user, q, union_id).select_related("union")
    if after:
        qs = qs.filter(id__gt=after)
    rows = list(qs[: PAGE_SIZE + 1])
    union = None
    if union_id:
        union = scoped_unions(request.user).filter(pk=union_id).first()
    context = {
        "units": rows[:PAGE_SIZE],
        "next_after": rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None,
        "q": q,
        "union": union,
        "after": after,
    }
    template = "web/units/_results.html" if request.htmx else "web/units/list.html"
    return render(request, template, context)


@login_required
def unit_detail(request: HttpRequest, unit_id: int) -> HttpResponse:
    unit = get_scoped_or_404(
        request.user, Unit.objects.select_related("union"), union_field="union", pk=unit_id
    )
    members = list(
        scoped_by_ids(request.user, Member.objects.filter(unit=unit)).order_by("-id")[:20]
    )
    return render(request, "web/units/detail.html", {"unit": unit, "members": members})
