"""The union tree, browsed one level at a time (htmx loads the children)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from huzhu.orgs.models import Union
from huzhu.orgs.scope import get_scoped_or_404, scoped_unions


def _with_counts(qs):
    return qs.annotate(child_count=Count("children", distinct=True),
                       unit_count=Count("units", distinct=True)).order_by("code", "id")


@login_required
def tree(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.union_id:
        roots = _with_counts(scoped_unions(user).filter(pk=user.union_id))
    else:
        roots = _with_counts(scoped_unions(user).filter(parent=None))
    # A single root opens one level at once: the first thing anyone wants is its children.
    expand = {roots[0].pk} if len(roots) == 1 else set()
    return render(request, "web/unions/tree.html", {"nodes": roots, "expand": expand})


@login_required
def children(request: HttpRequest, union_id: int) -> HttpResponse:
    parent = get_scoped_or_404(request.user, Union.objects.all(), union_field="", pk=union_id)
    nodes = _with_counts(Union.objects.filter(parent=parent))
    return render(request, "web/unions/_nodes.html", {"nodes": nodes})
