"""The union tree (browsed a level at a time) and units: list, detail, create, edit."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect, render

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.lib.http import AuthenticatedHttpRequest
from huzhu.lib.paging import keyset_page
from huzhu.lib.params import id_param
from huzhu.orgs.access import get_union_for_user, get_unit_for_user, write_required
from huzhu.orgs.forms import UnitForm, unit_changes, unit_snapshot
from huzhu.orgs.models import Union
from huzhu.orgs.search import search_units

RECENT_MEMBERS = 20


def _with_counts(qs):
    return qs.annotate(child_count=Count("children", distinct=True),
                       unit_count=Count("units", distinct=True)).order_by("code", "id")


@login_required
def union_tree(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    visible = Union.objects.visible_to(user)
    roots = _with_counts(visible.filter(pk=user.union_id) if user.union_id
                         else visible.filter(parent=None))
    # A single root opens one level at once: the first thing anyone wants is its children.
    expand = {roots[0].pk} if len(roots) == 1 else set()
    return render(request, "orgs/union_tree.html", {"nodes": roots, "expand": expand})


@login_required
def union_children(request: AuthenticatedHttpRequest, union_id: int) -> HttpResponse:
    parent = get_union_for_user(request.user, union_id)
    nodes = _with_counts(Union.objects.filter(parent=parent))
    return render(request, "orgs/_union_nodes.html", {"nodes": nodes, "expand": set()})


@login_required
def unit_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:50]
    union_id = id_param(request.GET, "union")
    qs = search_units(request.user, q, union_id).select_related("union")
    page = keyset_page(qs, after=id_param(request.GET, "after"),
                       before=id_param(request.GET, "before"), count=True)
    union = Union.objects.visible_to(request.user).filter(pk=union_id).first()
    context = {"page": page, "q": q, "union": union, "params": request.GET}
    template = "orgs/_unit_results.html" if request.htmx else "orgs/unit_list.html"
    return render(request, template, context)


@login_required
def unit_detail(request: AuthenticatedHttpRequest, unit_id: int) -> HttpResponse:
    unit = get_unit_for_user(request.user, unit_id)
    members = list(unit.members.visible_to(request.user).order_by("-id")[:RECENT_MEMBERS])
    return render(request, "orgs/unit_detail.html", {"unit": unit, "members": members})


@write_required
def unit_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = UnitForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            unit = form.save()
            log.record(request.user, AuditEntry.Action.UNIT_CREATED, unit,
                       summary=f"新增单位“{unit.name}”", changes=unit_changes(None, unit))
        messages.success(request, f"已新增单位“{unit.name}”")
        return redirect("orgs:unit-detail", unit_id=unit.pk)
    return render(request, "orgs/unit_form.html", {"form": form, "unit": None})


@write_required
def unit_edit(request: AuthenticatedHttpRequest, unit_id: int) -> HttpResponse:
    unit = get_unit_for_user(request.user, unit_id, write=True)
    before = unit_snapshot(unit)
    old_union = unit.union
    form = UnitForm(request.POST or None, instance=unit, user=request.user)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            unit = form.save()
            changes = unit_changes(before, unit)
            if unit.union_id != old_union.pk:
                changes["members_moved"] = unit.move_to(unit.union)
            if changes:
                log.record(request.user, AuditEntry.Action.UNIT_UPDATED, unit,
                           summary=f"修改单位“{unit.name}”", changes=changes)
        messages.success(request, "已保存" if changes else "没有修改")
        return redirect("orgs:unit-detail", unit_id=unit.pk)
    return render(request, "orgs/unit_form.html", {"form": form, "unit": unit})
