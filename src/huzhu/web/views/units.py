"""Units (单位): list with search, one unit with its newest members, create and edit."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.members.models import Member
from huzhu.members.search import int_param, search_units
from huzhu.orgs.models import Unit
from huzhu.orgs.scope import get_scoped_or_404, scoped_by_ids, scoped_unions
from huzhu.web.access import write_required
from huzhu.web.forms import UnitForm, unit_changes, unit_snapshot

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


@write_required
def unit_create(request: HttpRequest) -> HttpResponse:
    form = UnitForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            unit = form.save()
            log.record(request.user, AuditEntry.Action.UNIT_CREATED, unit,
                       summary=f"新增单位“{unit.name}”", changes=unit_changes(None, unit))
        messages.success(request, f"已新增单位“{unit.name}”")
        return redirect("unit-detail", unit_id=unit.pk)
    return render(request, "web/units/form.html", {"form": form, "unit": None})


@write_required
def unit_edit(request: HttpRequest, unit_id: int) -> HttpResponse:
    unit = get_scoped_or_404(
        request.user, Unit.objects.select_related("union"), union_field="union", pk=unit_id
    )
    before = unit_snapshot(unit)
    old_union_id = unit.union_id
    form = UnitForm(request.POST or None, instance=unit, user=request.user)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            unit = form.save()
            changes = unit_changes(before, unit)
            if unit.union_id != old_union_id:
                # Members carry their unit's union for the scope filter: move them along.
                moved = Member.objects.filter(unit=unit).update(union=unit.union)
                changes["members_moved"] = moved
            if changes:
                log.record(request.user, AuditEntry.Action.UNIT_UPDATED, unit,
                           summary=f"修改单位“{unit.name}”", changes=changes)
        messages.success(request, "已保存" if changes else "没有修改")
        return redirect("unit-detail", unit_id=unit.pk)
    return render(request, "web/units/form.html", {"form": form, "unit": unit})
