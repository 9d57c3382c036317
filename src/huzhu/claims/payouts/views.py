"""Payout pages (给付) for finance and admins: batches and what is ready for one, a
batch's payouts, the bank transfer file, payment confirmed, single payouts failed, and
the bank's result file (回盘文件) uploaded, previewed and confirmed."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from huzhu.claims.models import Payout, PayoutBatch
from huzhu.claims.payouts import access, bank_file, build, files, reconcile, settle
from huzhu.claims.workflow import ClaimRefused
from huzhu.coverage.models import Scheme
from huzhu.lib.filemodes import private_dir
from huzhu.lib.http import AuthenticatedHttpRequest
from huzhu.lib.money import MoneySum
from huzhu.lib.paging import keyset_page
from huzhu.lib.params import id_param
from huzhu.orgs.roles import capability_required
from huzhu.rules.money import yuan

SHOWN_WITHOUT_ACCOUNT = 50
CONTENT_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 "csv": "text/csv; charset=utf-8"}


@capability_required(access.PAY)
def batch_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    live = ~Q(payouts__state__in=[Payout.State.FAILED, Payout.State.RETURNED])
    batches = (access.batches_visible_to(user).select_related("scheme", "created_by")
               .annotate(n=Count("payouts", filter=live),
                         total=MoneySum("payouts__amount", filter=live)))
    page = keyset_page(batches, after=id_param(request.GET, "after"),
                       before=id_param(request.GET, "before"))
    ready = [r for r in (build.readiness(user, s) for s in
                         Scheme.objects.visible_to(user).order_by("name")) if r.any]
    missing = [(r, list(build.without_account(user, r.scheme).select_related("member__unit")
                        .order_by("pk")[:SHOWN_WITHOUT_ACCOUNT]))
               for r in ready if r.without_account]
    correcting = [(r, list(build.awaiting_correction(user, r.scheme)
                           .select_related("member__unit").order_by("pk")
                           [:SHOWN_WITHOUT_ACCOUNT]))
                  for r in ready if r.awaiting_correction]
    return render(request, "claims/payouts/list.html", {
        "page": page, "params": request.GET, "ready": ready, "missing": missing,
        "correcting": correcting, "shown_without_account": SHOWN_WITHOUT_ACCOUNT})


@require_POST
@capability_required(access.PAY)
def batch_build(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    scheme = get_object_or_404(Scheme.objects.visible_to(request.user), code=code)
    try:
        built = build.build_batches(request.user, scheme)
    except ClaimRefused as exc:
        messages.error(request, str(exc))
        return redirect("payouts:list")
    batches = built.batches
    for batch in batches:
        totals = settle.batch_totals(batch)
        messages.success(request, f"已生成给付批次 {batch.number}：{totals.count} 笔，"
                                  f"合计 {yuan(totals.total)} 元（{batch.union.name}付款）")
    missing = built.without_account
    if missing:
        messages.warning(request, f"{len(missing)} 件理赔因会员没有登记银行账号"
                                  "未纳入本批次，请补录银行账号后再生成批次")
    if len(batches) > 1:
        return redirect("payouts:list")
    return redirect("payouts:detail", batch_id=batches[0].pk)


@login_required
def batch_detail(request: AuthenticatedHttpRequest, batch_id: int) -> HttpResponse:
    batch = access.get_batch_for_user(request.user, batch_id)
    return render(request, "claims/payouts/detail.html", _detail_context(request, batch))


def _detail_context(request: AuthenticatedHttpRequest, batch: PayoutBatch) -> dict:
    rows = batch.payouts.select_related("claim__member__unit")
    state = request.GET.get("state", "")
    if state in Payout.State.values:
        rows = rows.filter(state=state)
    page = keyset_page(rows, after=id_param(request.GET, "after"),
                       before=id_param(request.GET, "before"), size=100, count=True)
    return {"batch": batch, "totals": settle.batch_totals(batch), "page": page,
            "params": request.GET, "state": state, "states": Payout.State.choices,
            "today": timezone.localdate(), "layouts": bank_file.LAYOUTS,
            "awaiting": set(build.awaiting_correction(request.user, batch.scheme)
                            .filter(payouts__batch=batch).values_list("pk", flat=True))}


@require_POST
@login_required
def batch_export(request: AuthenticatedHttpRequest, batch_id: int) -> HttpResponse:
    batch = access.get_batch_for_user(request.user, batch_id)
    # One choice on the page, two options of the service: "csv-gbk" is CSV in GBK.
    fmt, _, encoding = request.POST.get("format", "xlsx").partition("-")
    encoding = encoding or "utf-8"
    full = request.POST.get("full") == "1"
    try:
        data = files.write_bank_file(request.user, batch, fmt, full=full,
                                     purpose=request.POST.get("purpose", ""),
                                     layout=request.POST.get("layout", "general"),
                                     encoding=encoding)
    except ClaimRefused as exc:
        messages.error(request, str(exc))
        return redirect("payouts:detail", batch_id=batch.pk)
    content_type = CONTENT_TYPES[fmt] if encoding == "utf-8" else "text/csv; charset=gbk"
    response = HttpResponse(data, content_type=content_type)
    suffix = "" if full else "-脱敏"
    response["Content-Disposition"] = _attachment(f"给付批次{batch.number}{suffix}.{fmt}",
                                                  f"{batch.number}.{fmt}")
    response["Cache-Control"] = "no-store"  # a file of bank accounts stays off disks between
    return response


def _attachment(name: str, ascii_name: str) -> str:
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


@require_POST
@login_required
def batch_pay(request: AuthenticatedHttpRequest, batch_id: int) -> HttpResponse:
    batch = access.get_batch_for_user(request.user, batch_id)
    try:
        paid_on = dt.date.fromisoformat(request.POST.get("paid_on", ""))
    except ValueError:
        messages.error(request, "请填写付款日期")
        return redirect("payouts:detail", batch_id=batch.pk)
    try:
        paid = settle.mark_paid(request.user, batch, paid_on)
    except ClaimRefused as exc:
        messages.error(request, str(exc))
    else:
        if paid:
            messages.success(request, f"已确认付款 {paid} 笔，已记入互助金账并通知会员")
        else:
            messages.info(request, "该批次没有待付款的给付（可能已确认过），未重复付款")
    return redirect("payouts:detail", batch_id=batch.pk)


@require_POST
@login_required
def payout_fail(request: AuthenticatedHttpRequest, payout_id: int) -> HttpResponse:
    payout = access.get_payout_for_user(request.user, payout_id)
    error = ""
    try:
        payout = settle.mark_failed(request.user, payout, request.POST.get("reason", ""))
    except ClaimRefused as exc:
        error = str(exc)
    if request.htmx:
        payout = access.get_payout_for_user(request.user, payout_id)
        batch = access.get_batch_for_user(request.user, payout.batch_id)
        return render(request, "claims/payouts/_payout_row.html", {
            "p": payout, "batch": batch, "totals": settle.batch_totals(batch),
            "error": error, "oob": True})
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"理赔 {payout.claim.number} 已标记付款失败，退回待给付")
    return redirect("payouts:detail", batch_id=payout.batch_id)


# ---------------------------------------------------------------- the bank's result file

RETURN_FILE_MAX = 50 * 1024 * 1024  # a city's batch of 50,000 rows is a few megabytes


def _stash_dir() -> Path:
    path = Path(settings.UPLOAD_ROOT) / "payout-returns"
    private_dir(path)
    return path


def _session_key(batch: PayoutBatch) -> str:
    return f"payouts.return:{batch.pk}"


@require_POST
@login_required
def batch_reconcile_preview(request: AuthenticatedHttpRequest, batch_id: int) -> HttpResponse:
    """The uploaded result file, read against the batch: what confirming it would do.
    The file waits (owner-only, under a random name kept in the session) for the
    confirmation, which reads it again; nothing is applied here."""
    batch = access.get_batch_for_user(request.user, batch_id)
    uploaded = request.FILES.get("return_file")
    paid_on_text = request.POST.get("paid_on", "")
    error = ""
    paid_on = None
    if uploaded is None:
        error = "请选择银行回盘文件（.csv 或 .xlsx）"
    elif uploaded.size > RETURN_FILE_MAX:
        error = f"回盘文件 {uploaded.name} 超过 50 MB，请按批次分开上传"
    if paid_on_text and not error:
        try:
            paid_on = dt.date.fromisoformat(paid_on_text)
        except ValueError:
            error = "付款日期格式不对，应为 年-月-日"
    if error:
        messages.error(request, error)
        return redirect("payouts:detail", batch_id=batch.pk)
    assert uploaded is not None
    data = uploaded.read()
    name = Path(uploaded.name or "回盘文件").name
    try:
        preview = reconcile.plan(request.user, batch, data, name, paid_on=paid_on)
    except ClaimRefused as exc:
        messages.error(request, str(exc))
        return redirect("payouts:detail", batch_id=batch.pk)
    token = secrets.token_hex(16)
    (_stash_dir() / token).write_bytes(data)
    _forget(request, batch)
    request.session[_session_key(batch)] = {"token": token, "name": name,
                                            "paid_on": paid_on_text}
    context = _detail_context(request, batch)
    context["preview"], context["preview_token"] = preview, token
    return render(request, "claims/payouts/detail.html", context)


def _forget(request: AuthenticatedHttpRequest, batch: PayoutBatch) -> None:
    stashed = request.session.pop(_session_key(batch), None)
    if stashed:
        (_stash_dir() / stashed["token"]).unlink(missing_ok=True)


@require_POST
@login_required
def batch_reconcile_confirm(request: AuthenticatedHttpRequest, batch_id: int) -> HttpResponse:
    batch = access.get_batch_for_user(request.user, batch_id)
    stashed = request.session.get(_session_key(batch))
    if request.POST.get("cancel"):
        _forget(request, batch)
        messages.info(request, "已取消，回盘文件未做任何变更")
        return redirect("payouts:detail", batch_id=batch.pk)
    path = _stash_dir() / stashed["token"] if stashed else None
    if stashed is None or path is None or not path.exists() \
            or request.POST.get("token") != stashed["token"]:
        messages.error(request, "请先上传回盘文件并查看核对结果，再确认")
        return redirect("payouts:detail", batch_id=batch.pk)
    paid_on = dt.date.fromisoformat(stashed["paid_on"]) if stashed["paid_on"] else None
    try:
        result = reconcile.reconcile(request.user, batch, path.read_bytes(), stashed["name"],
                                     paid_on=paid_on)
    except ClaimRefused as exc:
        messages.error(request, str(exc))
        return redirect("payouts:detail", batch_id=batch.pk)
    _forget(request, batch)
    if result.changes_nothing:
        messages.info(request, f"回盘文件 {result.file_name} 已核对过，未做任何变更")
    else:
        messages.success(request, f"已核对回盘文件 {result.file_name}：{result.summary()}")
    return redirect("payouts:detail", batch_id=batch.pk)
