"""Import pages: upload a file, follow the background job, download the error report."""

from __future__ import annotations

import io
from pathlib import Path

from django import forms
from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat

from huzhu.members.importing import jobs
from huzhu.members.importing.columns import COLUMNS
from huzhu.members.importing.errors import write_report
from huzhu.members.models import ImportJob
from huzhu.orgs.scope import get_scoped_or_404, scoped
from huzhu.web.access import write_required

ALLOWED_SUFFIXES = (".csv", ".xlsx", ".xls")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RECENT_JOBS = 20


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label="导入对象", choices=ImportJob.Kind.choices,
                             initial=ImportJob.Kind.MEMBERS, widget=forms.RadioSelect)
    file = forms.FileField(label="文件", help_text="Excel（.xlsx/.xls）或 CSV（UTF-8 或 GBK 编码）")
    valid_only = forms.BooleanField(
        label="只导入无错误的行", required=False,
        help_text="默认任何一行有错就全部不导入；勾选后跳过有错的行，其余照常导入",
    )

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


def _jobs(request: HttpRequest):
    return scoped(request.user, ImportJob.objects.select_related("user"), "union")


def _job(request: HttpRequest, job_id: int) -> ImportJob:
    return get_scoped_or_404(request.user, ImportJob.objects.select_related("user"),
                             "union", pk=job_id)


@write_required
def new_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = jobs.create_job(kind=form.cleaned_data["kind"], uploaded=form.cleaned_data["file"],
                              user=request.user, valid_only=form.cleaned_data["valid_only"])
        return redirect("imports:detail", job_id=job.pk)
    return render(request, "members/import_new.html", {
        "form": form,
        "recent": list(_jobs(request)[:RECENT_JOBS]),
        "columns": COLUMNS,
        "max_bytes": settings.HUZHU_IMPORT_MAX_BYTES,
    })


@write_required
def detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    return render(request, "members/import_detail.html", _progress_context(job))


@write_required
def progress(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    return render(request, "members/import_progress.html", _progress_context(job))


def _progress_context(job: ImportJob) -> dict:
    live = jobs.live_progress(job) if job.running else {}
    total = live.get("total")
    done = live.get("done", 0)
    return {
        "job": job,
        "live": live,
        "percent": round(100 * done / total) if total else None,
        "errors": jobs.job_errors(job),
        "more_errors": max(0, job.error_count - len(job.errors)),
    }


@write_required
def errors_xlsx(request: HttpRequest, job_id: int) -> HttpResponse:
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
def template(request: HttpRequest, kind: str) -> HttpResponse:
    """An empty workbook with the expected headers and one example row."""
    if kind not in COLUMNS:
        raise Http404
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("会员" if kind == "members" else "单位")
    text = book.add_format({"num_format": "@"})  # keep ID and account numbers as text
    bold = book.add_format({"bold": True, "num_format": "@"})
    for i, col in enumerate(COLUMNS[kind]):
        sheet.set_column(i, i, max(12, len(col.label) * 2 + 4), text)
        sheet.write_string(0, i, col.label + ("*" if col.required else ""), bold)
    for i, value in enumerate(EXAMPLES[kind]):
        sheet.write_string(1, i, value)
    book.close()
    buffer.seek(0)
    name = "会员导入模板.xlsx" if kind == "members" else "单位导入模板.xlsx"
    return FileResponse(buffer, as_attachment=True, filename=name, content_type=XLSX)


EXAMPLES = {
    "members": ["张伟", "11010519491231002X", "13800138000", "91110000MA0000000H", "",
                "2020-01-01", "在职", "其他", "", "6222020200112233445"],
    "units": ["北京示例科技有限公司", "91110000MA0000000H", "G011", "李红", "13800138000",
              "北京市朝阳区示例路1号", ""],
}
