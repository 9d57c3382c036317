"""The statistics page (with its drill-down), its xlsx export and the annual PDF."""

from __future__ import annotations

from urllib.parse import quote

from django.core.exceptions import BadRequest
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.lib.http import AuthenticatedHttpRequest
from huzhu.orgs import roles
from huzhu.orgs.scope import union_path
from huzhu.reports import access, exports, tables, take_up
from huzhu.reports.annual import annual_report_pdf
from huzhu.reports.figures import DEFINITIONS, Selection, statistics_for

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _query(sel: Selection, **extra) -> str:
    params = {"scheme": sel.scheme.code, "union": sel.union.pk}
    if sel.label.endswith("年"):
        params["year"] = sel.start.year
    else:
        params.update({"from": sel.start.isoformat(), "to": sel.end.isoformat()})
    params.update(extra)
    return urlencode(params)


def _breadcrumbs(user, sel: Selection) -> list:
    """From the highest node the user may open (the scheme's, or the user's own) down to
    the node shown."""
    prefix = union_path(user)
    return [u for u in sel.union.ancestors()
            if u.path.startswith(sel.scheme.union.path)
            and (prefix is None or u.path.startswith(prefix))]


def year_choices(shown: int) -> list[int]:
    """The year selector: this year and the six before it (and the year shown, if older),
    newest first — never a year that has not begun, which could only show zeros."""
    this = timezone.localdate().year
    return list(range(this, min(this - 6, shown) - 1, -1))


@roles.capability_required("reports.read")
def statistics_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    sel = access.selection_from(request.user, request.GET)
    if sel is None:
        return render(request, "reports/statistics.html", {"empty": True})
    stats = statistics_for(sel)
    _, _, year = access.dates_from(request.GET)
    return render(request, "reports/statistics.html", {
        "sel": sel, "stats": stats, "year": year, "schemes": access.schemes_for(request.user),
        "breadcrumbs": _breadcrumbs(request.user, sel),
        "tables": {t.key: t for t in tables.all_tables(stats)},
        "charts": tables.chart_data(stats), "definitions": DEFINITIONS,
        "query": _query(sel), "years": year_choices(sel.start.year),
        "take_up": take_up.take_up_for(sel),
    })


@roles.capability_required("reports.read")
def statistics_xlsx(request: AuthenticatedHttpRequest) -> HttpResponse:
    sel = access.selection_from(request.user, request.GET)
    if sel is None:
        raise BadRequest("没有可统计的保障项目")
    table = request.GET.get("table", "")
    if table and table not in tables.BUILDERS:
        raise BadRequest(f"没有这张表：{table[:20]}")
    stats = statistics_for(sel)
    data = exports.statistics_xlsx(stats, [table] if table else None)
    title = tables.BUILDERS[table](stats).title if table else "全部统计表"
    name = (f"统计-{sel.scheme.name}-{sel.union.name}-{sel.start:%Y%m%d}-{sel.end:%Y%m%d}-"
            f"{title}.xlsx")
    _record_download(request, sel, f"下载统计表“{title}”", name)
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = _attachment(name)
    return response


def _record_download(request: AuthenticatedHttpRequest, sel: Selection, what: str,
                     name: str) -> None:
    """Every file that leaves the system is on the record: who took which figures."""
    log.record(request.user, AuditEntry.Action.FILE_DOWNLOADED, union_path=sel.union.path,
               summary=f"{what}（{sel.scheme.name} · {sel.union.name} · {sel.label}）",
               changes={"file": name})


def _attachment(name: str) -> str:
    return f"attachment; filename*=UTF-8''{quote(name)}"


@roles.capability_required("reports.read")
def annual_pdf(request: AuthenticatedHttpRequest) -> HttpResponse:
    sel = access.selection_from(request.user, request.GET)
    if sel is None:
        raise BadRequest("没有可统计的保障项目")
    data = annual_report_pdf(statistics_for(sel))
    name = f"年度报告-{sel.scheme.name}-{sel.union.name}-{sel.label}.pdf"
    _record_download(request, sel, "下载年度报告 PDF", name)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = _attachment(name)
    return response
