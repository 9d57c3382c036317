"""The audit log, for admins and auditors, limited to their subtree."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from huzhu.audit.models import AuditEntry
from huzhu.members.search import int_param
from huzhu.orgs.scope import union_path
from huzhu.web.access import audit_reader_required

PAGE_SIZE = 50


@audit_reader_required
def audit_log(request: HttpRequest) -> HttpResponse:
    qs = AuditEntry.objects.select_related("actor")
    prefix = union_path(request.user)
    if prefix is not None:
        qs = qs.filter(union_path__startswith=prefix)
    action = request.GET.get("action", "")
    if action in AuditEntry.Action.values:
        qs = qs.filter(action=action)
    object_id = request.GET.get("object", "").strip()
    if object_id:
        qs = qs.filter(object_id=object_id)
    after = int_param(request.GET.get("after"))
    if after:
        qs = qs.filter(id__lt=after)
    rows = list(qs.order_by("-id")[: PAGE_SIZE + 1])
    return render(request, "web/audit/list.html", {
        "entries": rows[:PAGE_SIZE],
        "next_after": rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None,
        "actions": AuditEntry.Action.choices,
        "action": action,
        "object_id": object_id,
    })
