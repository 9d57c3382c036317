"""The what-if screen: choose a scheme, a reform and a past period; follow the run; read
and download the report (admins: the union's leaders)."""

from __future__ import annotations

from pathlib import Path

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.coverage.models import Period, Scheme
from huzhu.lib.http import AuthenticatedHttpRequest
from huzhu.lib.params import id_param
from huzhu.orgs import roles
from huzhu.reports import access, whatif
from huzhu.reports.models import WhatIfRun

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Every page here is the union's leaders' (the admin role): the role table says who.
what_if_required = roles.capability_required("reports.what_if")


@what_if_required
def what_if_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    runs = WhatIfRun.objects.visible_to(request.user).select_related(
        "scheme", "period", "created_by")[:50]
    return render(request, "reports/what_if_list.html", {"runs": runs})


@what_if_required
def what_if_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    schemes = access.schemes_for(request.user)
    params = request.POST if request.method == "POST" else request.GET
    code = (params.get("scheme") or "").strip()
    if code:
        # A code the user may not see (or none visible at all) is no scheme for them.
        scheme = next((s for s in schemes if s.code == code), None)
        if scheme is None:
            raise Http404("没有这个保障项目")
    else:
        scheme = schemes[0] if schemes else None
    context = {"schemes": schemes, "scheme": scheme}
    if scheme is None:
        return render(request, "reports/what_if_new.html", context)
    periods = whatif.past_periods(scheme)
    parameters = whatif.parameters(scheme.policy())
    context.update(periods=periods, parameters=parameters, values=params)
    if request.method == "POST":
        try:
            run = _start(request, scheme, periods)
        except whatif.WhatIfRefused as exc:
            context["error"] = str(exc)
        else:
            return redirect("reports:what-if", run_id=run.pk)
    return render(request, "reports/what_if_new.html", context,
                  status=400 if context.get("error") else 200)


def _start(request: AuthenticatedHttpRequest, scheme: Scheme,
           periods: list[Period]) -> WhatIfRun:
    period_id = id_param(request.POST, "period")
    period = next((p for p in periods if p.pk == period_id), None)
    if period is None:
        raise whatif.WhatIfRefused("请选择一个已开始的互助期")
    upload = request.FILES.get("reform_file")
    if upload is not None:
        if upload.size > whatif.MAX_UPLOAD:
            raise whatif.WhatIfRefused(f"文件 {upload.name} 太大（最多 512 KB）")
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise whatif.WhatIfRefused(f"文件 {upload.name} 不是 UTF-8 文本") from None
        reform = whatif.reform_from_text(scheme, text, f"文件 {upload.name}")
    else:
        reform, text = whatif.reform_from_form(scheme, request.POST)
    return whatif.request_run(request.user, scheme, period, reform, text)


def _run(request: AuthenticatedHttpRequest, run_id: int) -> WhatIfRun:
    return get_object_or_404(WhatIfRun.objects.visible_to(request.user)
                             .select_related("scheme", "period", "created_by"), pk=run_id)


@never_cache
@what_if_required
def what_if_detail(request: AuthenticatedHttpRequest, run_id: int) -> HttpResponse:
    run = _run(request, run_id)
    if request.htmx and not run.running:
        # Finished while the page polled: load the whole page, with the report.
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    template = "reports/_what_if_progress.html" if request.htmx else \
        "reports/what_if_detail.html"
    return render(request, template, {"run": run, "report": run.report,
                                      "progress": run.progress()})


@require_POST
@what_if_required
def what_if_download(request: AuthenticatedHttpRequest, run_id: int) -> HttpResponse:
    """The xlsx report; it lists the largest changes by member name: audited."""
    run = _run(request, run_id)
    path = Path(run.file_path) if run.file_path else None
    if run.status != WhatIfRun.Status.DONE or path is None or not path.is_file():
        messages.error(request, "该测算还没有可下载的报告")
        return redirect("reports:what-if", run_id=run.pk)
    # A file download, not a member export (the report names members of its largest
    # changes, and is audited like every download).
    name = f"改革测算-{run.name}-{run.period.name}-{timezone.localtime(run.created_at):%Y%m%d}.xlsx"
    log.record(request.user, AuditEntry.Action.FILE_DOWNLOADED, run, union_path=run.union.path,
               summary=f"下载改革测算报告“{run.name}”（{run.scheme.name} {run.period.name}）",
               changes={"what_if": run.pk, "file": name})
    return FileResponse(path.open("rb"), as_attachment=True, content_type=XLSX, filename=name)
