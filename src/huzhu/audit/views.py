"""The audit log, for admins and auditors, limited to their subtree."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from huzhu.audit.models import AuditEntry
from huzhu.lib.http import AuthenticatedHttpRequest
from huzhu.lib.paging import keyset_page
from huzhu.lib.params import id_param
from huzhu.orgs.access import audit_reader_required


@audit_reader_required
def audit_log(request: AuthenticatedHttpRequest) -> HttpResponse:
    qs = AuditEntry.objects.visible_to(request.user).select_related("actor")
    action = request.GET.get("action", "")
    if action in AuditEntry.Action.values:
        qs = qs.filter(action=action)
    object_id = request.GET.get("object", "").strip()[:64]
    if object_id:
        qs = qs.filter(object_id=object_id)
    page = keyset_page(qs, after=id_param(request.GET, "after"),
                       before=id_param(request.GET, "before"), count=True)
    return render(request, "audit/log.html", {
        "page": page,
        "params": request.GET,
        "actions": AuditEntry.Action.choices,
        "action": action,
        "object_id": object_id,
    })
