"""The audit log, for admins and auditors, limited to their subtree: filtered by operation,
operator, object number and date range, and exported as xlsx (the export is itself an
audit entry)."""

from __future__ import annotations

import io

from django.http import FileResponse, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST

from huzhu.audit import export, log, objects
from huzhu.audit.forms import AuditFilterForm, operator_label
from huzhu.audit.models import AuditEntry
from huzhu.lib.http import AuthenticatedHttpRequest
from huzhu.lib.paging import Page, keyset_page
from huzhu.lib.params import id_param
from huzhu.orgs.access import audit_reader_required
from huzhu.orgs.scope import union_path

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@audit_reader_required
def audit_log(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET, reader=request.user)
    return _page(request, form)


@require_POST
@audit_reader_required
def audit_export(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    """A POST, like every export: a link on another site cannot start it."""
    form = AuditFilterForm(request.POST, reader=request.user)
    if not form.is_valid():
        return _page(request, form, status=400)
    qs = form.filter(AuditEntry.objects.visible_to(request.user))
    n = export.too_many(qs)
    if n is not None:
        return _page(request, form, status=400, error=(
            f"筛选结果有 {n:,} 条，超过一次可导出的 {export.MAX_ROWS:,} 条，"
            "请缩小日期范围后分次导出"))
    buffer = io.BytesIO()
    described = form.described()
    rows = export.write_xlsx(qs, buffer, described)
    log.record(request.user, AuditEntry.Action.AUDIT_EXPORTED,
               union_path=union_path(request.user) or "",
               summary=f"导出审计日志 {rows:,} 条（{described}）",
               changes={"rows": rows, "filter": described})
    buffer.seek(0)
    name = f"审计日志-{timezone.localtime():%Y%m%d-%H%M}.xlsx"
    return FileResponse(buffer, as_attachment=True, filename=name, content_type=XLSX)


def _page(request: AuthenticatedHttpRequest, form: AuditFilterForm, *, status: int = 200,
          error: str = "") -> HttpResponse:
    page = Page(items=[])
    valid = form.is_valid()
    if valid:
        qs = form.filter(AuditEntry.objects.visible_to(request.user)
                         .select_related("actor__union"))
        page = keyset_page(qs, after=id_param(request.GET, "after"),
                           before=id_param(request.GET, "before"), count=True)
    refs = objects.describe(page.items)
    rows = [(e, operator_label(e.actor), refs.get(e.id)) for e in page.items]
    return render(request, "audit/log.html", {
        "form": form, "valid": valid, "page": page, "rows": rows, "params": request.GET,
        "export_error": error,
        "export_fields": [(name, form.data.get(name, "")) for name in form.fields],
    }, status=status)
