"""Member exports: ask (a POST with a purpose), follow the job, download the file once."""

from __future__ import annotations

from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from huzhu.lib.http import AuthenticatedHttpRequest
from huzhu.members import export_jobs, saved_search
from huzhu.members.models import MemberExport
from huzhu.members.search import MemberQuery
from huzhu.orgs.models import Union, Unit

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RECENT = 20


@require_POST
@login_required
def export_request(request: AuthenticatedHttpRequest) -> HttpResponse:
    token = request.POST.get("s", "")
    text = saved_search.recall(request, token) if token else ""
    if text is None:
        messages.error(request, "这次搜索已过期，请重新搜索后再导出")
        return redirect("members:list")
    query = MemberQuery.from_params(request.POST, q=text)
    full = request.POST.get("full") == "1"
    purpose = " ".join(request.POST.get("purpose", "").split())[:200]
    if full and not request.user.has_perm("members.see_full_id"):
        full = False  # the box is not offered to this role; never trust a hand-made POST
    if full and len(purpose) < 4:
        messages.error(request, "导出完整身份证号和银行账号须写明用途（至少4个字），"
                                "用途将记入审计日志")
        return redirect(_list_url(request.POST))
    job = export_jobs.request_export(request.user, query, described=_described(request, query),
                                     full=full, purpose=purpose)
    return redirect("members:export-detail", export_id=job.pk)


def _list_url(params) -> str:
    from django.urls import reverse
    from django.utils.http import urlencode

    keep = {k: params[k] for k in ("status", "occupation", "union", "unit", "s") if params.get(k)}
    return reverse("members:list") + (f"?{urlencode(keep)}" if keep else "")


def _described(request: AuthenticatedHttpRequest, query: MemberQuery) -> str:
    union = Union.objects.visible_to(request.user).filter(pk=query.union_id).first()
    unit = Unit.objects.visible_to(request.user).filter(pk=query.unit_id).first()
    return query.describe(union.name if union else "", unit.name if unit else "")


def _export(request: AuthenticatedHttpRequest, export_id: int) -> MemberExport:
    return get_object_or_404(MemberExport.objects.visible_to(request.user), pk=export_id)


@login_required
def export_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    jobs = list(MemberExport.objects.visible_to(request.user)[:RECENT])
    return render(request, "members/export_list.html", {"exports": jobs})


@never_cache
@login_required
def export_detail(request: AuthenticatedHttpRequest, export_id: int) -> HttpResponse:
    job = _export(request, export_id)
    template = "members/_export_progress.html" if request.htmx else "members/export_detail.html"
    return render(request, template, {"job": job, "progress": job.progress()})


@never_cache
@require_POST
@login_required
def export_download(request: AuthenticatedHttpRequest, export_id: int) -> HttpResponse:
    job = _export(request, export_id)
    path = export_jobs.take_file(job)
    if path is None:
        messages.error(request, "该导出文件已下载过或已过期"
                                "（文件只能下载一次，一天后删除），请重新导出")
        return redirect("members:export-detail", export_id=job.pk)
    handle = path.open("rb")
    Path(path).unlink()  # the open handle keeps it readable until the download ends
    MemberExport.objects.filter(pk=job.pk).update(file_path="")
    name = f"会员名单-{timezone.localtime(job.created_at):%Y%m%d-%H%M}.xlsx"
    return FileResponse(handle, as_attachment=True, filename=name, content_type=XLSX)
