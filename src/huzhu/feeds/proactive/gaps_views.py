"""应享未享 pages: a union's take-up table (受益率) and its gaps by kind, each kind's list
(keyset pages), the whole list as xlsx, and the SMS to members with no bank account.

Whoever may follow the run pages may read these (any staff user, scoped to their subtree,
as :mod:`huzhu.feeds.access` says of runs); sending the SMS writes to the outbox, so it is
for the roles that write (``orgs.write``: clerks, reviewers, admins).
"""

from __future__ import annotations

import tempfile
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.feeds.proactive import gaps
from huzhu.lib.http import AuthenticatedHttpRequest
from huzhu.lib.paging import keyset_page
from huzhu.lib.params import id_param
from huzhu.orgs import roles
from huzhu.orgs.models import Union

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _scope(request: AuthenticatedHttpRequest, params: QueryDict) -> gaps.Scope | None:
    """The scheme and node asked for (None: no proactive scheme the user may see); a
    scheme or node outside the user's scope is a 404."""
    schemes = gaps.proactive_schemes(request.user)
    if not schemes:
        return None
    code = (params.get("scheme") or "").strip()
    scheme = next((s for s in schemes if s.code == code), None) if code else schemes[0]
    if scheme is None:
        raise Http404("没有这个保障项目")
    union = None
    union_id = id_param(params, "union")
    if union_id is not None:
        union = Union.objects.filter(pk=union_id).first()
        if union is None:
            raise Http404("没有这个工会")
    try:
        return gaps.scope_for(scheme, user=request.user, union=union)
    except gaps.GapsRefused as exc:
        raise Http404(str(exc)) from None


def _query(scope: gaps.Scope) -> str:
    return urlencode({"scheme": scope.scheme.code, "union": str(scope.node.pk)})


@login_required
def gaps_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    scope = _scope(request, request.GET)
    if scope is None:
        return render(request, "feeds/gaps.html", {"empty": True})
    summary = gaps.summarise(scope)
    node = scope.node
    parent = node.parent if node.pk != scope.scheme.union_id else None
    if parent is not None:
        try:
            gaps.scope_for(scope.scheme, user=request.user, union=parent)
        except gaps.GapsRefused:
            parent = None
    return render(request, "feeds/gaps.html", {
        "scope": scope, "summary": summary, "rows": gaps.by_children(summary),
        "total": summary.total, "kinds": list(gaps.KINDS.values()),
        "schemes": gaps.proactive_schemes(request.user), "query": _query(scope),
        "parent": parent, "may_notify": request.user.has_perm("orgs.write"),
    })


@login_required
def gaps_list(request: AuthenticatedHttpRequest, kind: str) -> HttpResponse:
    if kind not in gaps.KINDS:
        raise Http404("没有这个清单")
    scope = _scope(request, request.GET)
    if scope is None:
        raise Http404("没有可查看的保障项目")
    qs = gaps.gap_queryset(scope, kind)
    page = keyset_page(qs, after=id_param(request.GET, "after"),
                       before=id_param(request.GET, "before"), count=True)
    order = [item.pk for item in page.items]
    found = {r.pk: r for r in gaps.detail_rows(scope, kind, qs.filter(pk__in=order))}
    return render(request, "feeds/gaps_list.html", {
        "scope": scope, "kind": gaps.KINDS[kind], "page": page,
        "rows": [found[pk] for pk in order if pk in found], "params": request.GET,
        "query": _query(scope),
    })


@login_required
def gaps_export(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    scope = _scope(request, request.GET)
    if scope is None:
        raise Http404("没有可查看的保障项目")
    handle = tempfile.TemporaryFile()
    gaps.write_xlsx(gaps.all_rows(scope), handle)
    handle.seek(0)
    day = timezone.localdate()
    name = f"应享未享-{scope.scheme.name}-{scope.node.name}-{day:%Y%m%d}.xlsx"
    # Every file that leaves the system is on the record.
    log.record(request.user, AuditEntry.Action.FILE_DOWNLOADED, union_path=scope.node.path,
               summary=f"下载应享未享清单（{scope.scheme.name} · {scope.node.name}）",
               changes={"file": name})
    response = FileResponse(handle, content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


@require_POST
@roles.capability_required("orgs.write")
def gaps_notify(request: AuthenticatedHttpRequest) -> HttpResponse:
    """提醒无银行账号的会员登记账号: the service writes the outbox once per member and run
    and audits it; the page says what it did."""
    scope = _scope(request, request.POST)
    if scope is None:
        raise Http404("没有可查看的保障项目")
    result = gaps.notify_missing_accounts(scope, request.user)
    messages.success(request, result.summary())
    return redirect(f"{reverse('feeds:gaps')}?{_query(scope)}")
