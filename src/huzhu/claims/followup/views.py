"""The follow-up list (大额回访): read it, export it, record a call."""

from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.claims.access import get_claim_for_user
from huzhu.claims.followup import service as followup
from huzhu.claims.models import FOLLOW_UP_ABOVE
from huzhu.claims.workflow import ClaimRefused
from huzhu.lib.http import AuthenticatedHttpRequest
from huzhu.lib.paging import keyset_page
from huzhu.lib.params import id_param
from huzhu.orgs.roles import capability_required

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@login_required
def followup_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    page = keyset_page(followup.follow_up(request.user), after=id_param(request.GET, "after"),
                       before=id_param(request.GET, "before"), count=True)
    return render(request, "claims/follow_up.html", {
        "page": page, "params": request.GET, "threshold": FOLLOW_UP_ABOVE,
    })


@require_POST
@login_required
def followup_export(request: AuthenticatedHttpRequest) -> HttpResponse:
    """A POST, like every export: a link on another site cannot start it."""
    claims = followup.follow_up(request.user)
    buffer = io.BytesIO()
    rows = followup.write_xlsx(claims, buffer)
    log.record(request.user, AuditEntry.Action.FILE_DOWNLOADED,
               union_path=request.user.union.path if request.user.union else "",
               summary=f"导出大额回访名单 {rows} 条（会员姓名、单位联系人及电话）",
               changes={"rows": rows})
    buffer.seek(0)
    name = f"大额回访名单-{timezone.localdate():%Y%m%d}.xlsx"
    return FileResponse(buffer, as_attachment=True, filename=name, content_type=XLSX)


@require_POST
@capability_required(followup.READ)
def mark_called(request: AuthenticatedHttpRequest, claim_id: int) -> HttpResponse:
    claim = get_claim_for_user(request.user, claim_id)
    try:
        followup.mark_called(request.user, claim, request.POST.get("note", ""))
        messages.success(request, f"已登记理赔 {claim.number} 的回访")
    except ClaimRefused as exc:
        messages.error(request, str(exc))
    return redirect("claims:follow-up")
