"""Import pages: upload a file, follow the background job, download the error report."""

from __future__ import annotations

import io
from pathlib import Path

from django import forms
from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat

from huzhu.imports import jobs, kinds
from huzhu.imports.errors import write_report
from huzhu.imports.models import ImportJob
from huzhu.lib.http import AuthenticatedHttpRequest
from huzhu.orgs.access import write_required

ALLOWED_SUFFIXES = (".csv", ".xlsx", ".xls")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RECENT_JOBS = 20


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label="导入对象", initial="members", widget=forms.RadioSelect)
    file = forms.FileField(label="文件", help_text="Excel（.xlsx/.xls）或 CSV（UTF-8 或 GBK 编码）")
    valid_only = forms.BooleanField(
        label="只导入无错误的行", required=False,
        help_text="默认任何一行有错就全部不导入；勾选后跳过有错的行，其余照常导入",
    )

    def __init__(self, *args, kinds_shown: str = "listed", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        every = kinds.all_kinds(listed_only=kinds_shown != "all")
        self.fields["kind"].choices = [(k.code, k.label) for k in every]

    def clean_file(self):
        uploaded = self.cleaned_data["file"]
        if Path(uploaded.name).suffix.lower() not in ALLOWED_SUFFIXES:
            raise forms.ValidationError("只能上传 .xlsx、.xls 或 .csv 文件")
        limit = settings.HUZHU_IMPORT_MAX_BYTES
        if uploaded.size > limit:
            raise forms.ValidationError(
                f"文件太大（{filesizeformat(uploaded.size)}），上限为 {filesizeformat(limit)}")
        if uploaded.size == 0:
            raise forms.ValidationError("文件是空的")
        return uploaded


def _job(request: AuthenticatedHttpRequest, job_id: int) -> ImportJob:
    """The one place that decides whether this user may follow this job."""
    return get_object_or_404(ImportJob.objects.visible_to(request.user).select_related("user"),
                             pk=job_id)


@write_required
def new_import(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = jobs.create_job(kind=form.cleaned_data["kind"], uploaded=form.cleaned_data["file"],
                              user=request.user, valid_only=form.cleaned_data["valid_only"])
        return redirect("imports:detail", job_id=job.pk)
    return render(request, "imports/new.html", {
        "form": form,
        "recent": list(ImportJob.objects.visible_to(request.user).select_related("user")
                       [:RECENT_JOBS]),
        "kinds": kinds.all_kinds(),
        "max_bytes": settings.HUZHU_IMPORT_MAX_BYTES,
    })


@write_required
def detail(request: AuthenticatedHttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id).recover_if_stuck()
    return render(request, "imports/detail.html", _progress_context(job))


@write_required
def progress(request: AuthenticatedHttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id).recover_if_stuck()
    return render(request, "imports/progress.html", _progress_context(job))


def _progress_context(job: ImportJob) -> dict:
    kind = kinds.get(job.kind)
    return {
        "job": job,
        "result_url": kind.result_url if kind else "",
        "progress": job.progress(),
        "errors": jobs.job_errors(job),
        "more_errors": max(0, job.error_count - len(job.errors)),
    }


@write_required
def errors_xlsx(request: AuthenticatedHttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    if not job.error_count:
        raise Http404("该导入没有错误")
    filename = f"错误报告-{Path(job.file_name).stem}.xlsx"
    path = Path(job.error_report_path) if job.error_report_path else None
    if path is not None and path.is_file():
        return FileResponse(path.open("rb"), as_attachment=True, filename=filename,
                            content_type=XLSX)
    buffer = io.BytesIO()  # the report file is gone: rebuild from the stored errors
    write_report(jobs.job_errors(job), buffer, total_errors=job.error_count)
    buffer.seek(0)
    return FileResponse(buffer, as_attachment=True, filename=filename, content_type=XLSX)


@write_required
def template(request: AuthenticatedHttpRequest, kind: str) -> HttpResponse:
    """An empty workbook with the expected headers and one example row."""
    spec = kinds.get(kind)
    if spec is None:
        raise Http404
    from huzhu.lib.xlsx import Workbook

    buffer = io.BytesIO()
    book = Workbook(buffer)
    sheet = book.sheet(spec.label)
    text = {"num_format": "@"}  # keep ID and account numbers the clerk types as text
    for i, col in enumerate(spec.columns):
        sheet.raw.set_column(i, i, max(12, len(col.label) * 2 + 4), book.format(text))
        sheet.text(0, i, col.label + ("*" if col.required else ""), {"bold": True, **text})
    for i, value in enumerate(spec.example):
        sheet.text(1, i, value)
    book.close()
    buffer.seek(0)
    return FileResponse(buffer, as_attachment=True, filename=f"{spec.label}导入模板.xlsx",
                        content_type=XLSX)
