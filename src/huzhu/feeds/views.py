"""Feed pages: the list, the upload (a background job with a progress bar), one feed's
counts, errors and rows (each row's stay only to those who may read it:
:func:`huzhu.feeds.access.shown_stays`), the data officer's API tokens, and the
collisions waiting for an admin of their feed's node."""

from __future__ import annotations

import io
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from huzhu.audit.log import record
from huzhu.audit.models import AuditEntry
from huzhu.feeds import collisions, jobs, tokens
from huzhu.feeds.access import (
    get_collision_for_user,
    get_feed_for_user,
    get_token_for_user,
    readable_people,
    shown_stays,
    stay_readable,
)
from huzhu.feeds.columns import FEED_COLUMNS
from huzhu.feeds.forms import CollisionForm, FeedUploadForm, TokenForm, size_text
from huzhu.feeds.models import Feed, FeedCollision, FeedRow, FeedToken
from huzhu.feeds.rows import LABELS
from huzhu.imports.errors import RowError, write_report
from huzhu.lib.errors import Refused
from huzhu.lib.http import AuthenticatedHttpRequest
from huzhu.lib.paging import keyset_page
from huzhu.lib.params import id_param
from huzhu.orgs.roles import capability_required

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A stay's facts by name; its diagnosis holds every code, the main one first.
FACT_NAMES = {**LABELS, "diagnosis": "诊断编码"}
ROW_FILTERS = {
    "problems": ("有错误或未匹配", lambda qs: qs.exclude(match=FeedRow.Match.MATCHED)),
    "matched": ("匹配到会员", lambda qs: qs.filter(match=FeedRow.Match.MATCHED)),
    "invalid": ("有错误", lambda qs: qs.filter(outcome=FeedRow.Outcome.INVALID)),
    "all": ("全部", lambda qs: qs),
}


@login_required
def feed_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    qs = Feed.objects.visible_to(request.user).select_related("user", "union")
    page = keyset_page(qs, after=id_param(request.GET, "after"),
                       before=id_param(request.GET, "before"), count=True)
    return render(request, "feeds/list.html", {"page": page, "params": request.GET})


@capability_required("feeds.import")
def feed_upload(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = FeedUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        feed = jobs.create_job(uploaded=form.cleaned_data["file"], user=request.user,
                               valid_only=form.cleaned_data["valid_only"])
        return redirect("feeds:detail", feed_id=feed.pk)
    if request.method == "POST":
        _record_refusal(request, form)
    return render(request, "feeds/upload.html", {
        "form": form, "columns": FEED_COLUMNS,
        "max_size": size_text(settings.HUZHU_IMPORT_MAX_BYTES),
    })


def _record_refusal(request: AuthenticatedHttpRequest, form: FeedUploadForm) -> None:
    """A refused upload is on the record like an accepted one: who tried which file, and
    why it was refused (nothing was stored)."""
    uploaded = request.FILES.get("file")
    name = uploaded.name if uploaded is not None else "（未选择文件）"
    reasons = "；".join(str(e) for errors in form.errors.values() for e in errors)
    record(request.user, AuditEntry.Action.FEED_REFUSED,
           union_path=getattr(request.user.union, "path", "") or "",
           summary=f"上传医保结算数据被拒：{name}（{reasons}）",
           changes={"file": name, "reason": reasons})


@login_required
def feed_detail(request: AuthenticatedHttpRequest, feed_id: int) -> HttpResponse:
    feed = get_feed_for_user(request.user, feed_id).recover_if_stuck()
    context = _progress_context(feed)
    show = request.GET.get("show", "problems")
    if show not in ROW_FILTERS:
        show = "problems"
    if feed.status == Feed.Status.DONE:
        rows = ROW_FILTERS[show][1](feed.feed_rows.select_related("stay", "member"))
        page = keyset_page(rows, after=id_param(request.GET, "after"),
                           before=id_param(request.GET, "before"), count=True)
        page.items = shown_stays(request.user, list(page.items))
        context["page"] = page
    context.update(show=show, filters=[(k, v[0]) for k, v in ROW_FILTERS.items()],
                   params=request.GET)
    return render(request, "feeds/detail.html", context)


@login_required
def feed_progress(request: AuthenticatedHttpRequest, feed_id: int) -> HttpResponse:
    feed = get_feed_for_user(request.user, feed_id).recover_if_stuck()
    return render(request, "feeds/_progress.html", _progress_context(feed))


def _shown_errors(feed: Feed) -> list[RowError]:
    """The feed's kept errors as a person reads them: a JSON push names its fields in
    English (``settlement_id``: the API's callers rely on it), the page in Chinese."""
    return [RowError(e.file, e.row, LABELS.get(e.column, e.column), e.message)
            for e in jobs.feed_errors(feed)]


def _progress_context(feed: Feed) -> dict:
    return {
        "feed": feed, "progress": feed.progress(),
        "errors": _shown_errors(feed),
        "more_errors": max(0, feed.error_count - len(feed.errors)),
    }


@login_required
def feed_errors(request: AuthenticatedHttpRequest, feed_id: int) -> HttpResponse:
    feed = get_feed_for_user(request.user, feed_id)
    if not feed.error_count:
        raise Http404("该批数据没有错误")
    filename = f"错误报告-{Path(feed.file_name).stem}.xlsx"
    path = Path(feed.error_report_path) if feed.error_report_path else None
    if path is not None and path.is_file():
        return FileResponse(path.open("rb"), as_attachment=True, filename=filename,
                            content_type=XLSX)
    buffer = io.BytesIO()  # the report file is gone (or an API push): from the kept errors
    write_report(_shown_errors(feed), buffer, total_errors=feed.error_count)
    buffer.seek(0)
    return FileResponse(buffer, as_attachment=True, filename=filename, content_type=XLSX)


@capability_required("feeds.import")
def token_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The tokens of the data officers in one's subtree; a new token is shown on the
    answer to the POST that made it, once (not stored, not put in a URL or session)."""
    form = TokenForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        token, raw = tokens.create_token(request.user, label=form.cleaned_data["label"],
                                         days=form.cleaned_data["days"])
        created = {"token": token, "raw": raw}
        form = TokenForm()
    listed = FeedToken.objects.visible_to(request.user).select_related("user", "union")
    response = render(request, "feeds/tokens.html", {
        "form": form, "created": created, "tokens": listed[:200],
    })
    if created:
        response["Cache-Control"] = "no-store"  # the page holds the only copy of the token
    return response


@require_POST
@capability_required("feeds.import")
def token_revoke(request: AuthenticatedHttpRequest, token_id: int) -> HttpResponse:
    token = get_token_for_user(request.user, token_id)
    if tokens.revoke_token(token, by=request.user):
        messages.success(request, f"令牌 {token.prefix}… 已吊销，此后使用它的推送将被拒绝")
    else:
        messages.info(request, f"令牌 {token.prefix}… 此前已吊销")
    return redirect("feeds:tokens")


@capability_required("feeds.import")
def collision_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The collisions of the feeds made at or below the admin's node: open ones first
    (``?show=resolved`` lists the decided ones). Each side's facts only when readable."""
    show = "resolved" if request.GET.get("show") == "resolved" else "open"
    qs = FeedCollision.objects.visible_to(request.user).select_related(
        "feed__union", "stay", "resolved_by")
    qs = (qs.filter(status=FeedCollision.Status.OPEN) if show == "open"
          else qs.exclude(status=FeedCollision.Status.OPEN))
    page = keyset_page(qs, after=id_param(request.GET, "after"),
                       before=id_param(request.GET, "before"), count=True)
    items = list(page.items)
    new_readable = readable_people(request.user, (c.id_number_hash for c in items))
    for c in items:
        c.new_shown = c.id_number_hash in new_readable
        c.stored_shown = stay_readable(request.user, c.stay)
        c.differs = ("\n".join(FACT_NAMES[f] for f in collisions.differing(c))
                     if c.new_shown and c.stored_shown else "")
        c.replace_refused = (collisions.can_replace(request.user, c)
                             if c.status == FeedCollision.Status.OPEN else "")
    page.items = items
    return render(request, "feeds/collisions.html", {"page": page, "show": show,
                                                     "params": request.GET})


@require_POST
@capability_required("feeds.import")
def collision_resolve(request: AuthenticatedHttpRequest, collision_id: int) -> HttpResponse:
    collision = get_collision_for_user(request.user, collision_id)
    form = CollisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "请选择保留原记录或替换为新记录")
        return redirect("feeds:collisions")
    try:
        done = collisions.resolve(collision, form.cleaned_data["decision"], by=request.user)
    except Refused as exc:
        messages.error(request, f"结算ID {collision.settlement_id}：{exc}")
    else:
        messages.success(request, f"结算ID {done.settlement_id}（{done.feed.file_name} 第"
                                  f"{done.row}行）：{done.get_status_display()}")
    return redirect("feeds:collisions")
