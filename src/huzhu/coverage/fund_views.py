"""The fund ledger for finance and admins: balances and loss ratio per scheme and period,
one scheme's entries, booking a free scheme's funding, and reversing (冲正) a mistaken
entry with a second person's approval (the services: coverage.premiums and
coverage.reversals)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from huzhu.coverage import ledger, premiums, reversals
from huzhu.coverage.access import get_scheme_for_user
from huzhu.coverage.forms import ReversalDecisionForm, ReversalRequestForm, SubsidyForm
from huzhu.coverage.models import LedgerEntry, LedgerReversal, Period, Scheme
from huzhu.lib.errors import Refused
from huzhu.lib.http import AuthenticatedHttpRequest
from huzhu.lib.paging import keyset_page
from huzhu.lib.params import id_param
from huzhu.orgs import roles
from huzhu.orgs.models import User

FINANCE_ONLY = "只有财务和管理员可以办理冲正"
DECIDED_SHOWN = 20


@roles.capability_required("coverage.read_funds")
def fund_overview(request: AuthenticatedHttpRequest) -> HttpResponse:
    blocks = []
    pending = dict(LedgerReversal.objects.filter(state=LedgerReversal.State.PENDING)
                   .values_list("entry__scheme_id").annotate(n=Count("id")).order_by())
    for scheme in Scheme.objects.visible_to(request.user).select_related("union"):
        scheme.pending_reversals = pending.get(scheme.pk, 0)
        periods = [(p, ledger.summary(scheme, p)) for p in scheme.periods.order_by("-start")]
        total = ledger.summary(scheme)
        blocks.append((scheme, total, periods, negative_warnings(total, periods)))
    return render(request, "coverage/funds.html", {
        "blocks": blocks, "loss_ratio_definition": ledger.LOSS_RATIO_DEFINITION})


@roles.capability_required("coverage.read_funds")
def scheme_funds(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    """One scheme's ledger: balances by period, the reversal requests, and its entries,
    newest first, each reversed entry and each reversing entry marked."""
    scheme = get_scheme_for_user(request.user, code)
    kind = request.GET.get("kind", "")
    qs = LedgerEntry.objects.filter(scheme=scheme).select_related("period", "created_by")
    if kind in LedgerEntry.Kind.values:
        qs = qs.filter(kind=kind)
    page = keyset_page(qs, after=id_param(request.GET, "after"),
                       before=id_param(request.GET, "before"), count=True)
    live = {r.entry_id: r for r in LedgerReversal.objects.filter(
        entry__in=[e.pk for e in page.items],
        state__in=[LedgerReversal.State.PENDING, LedgerReversal.State.DONE])}
    rows = [(e, live.get(e.pk), _reversed_id(e), reversals.can_reverse(request.user, e)
             and e.pk not in live) for e in page.items]
    requests = LedgerReversal.objects.filter(entry__scheme=scheme).select_related(
        "entry__scheme__union", "entry__period", "requested_by", "decided_by")
    pending = [(r, reversals.can_decide(request.user, r))
               for r in requests.filter(state=LedgerReversal.State.PENDING).order_by("id")]
    decided = requests.exclude(state=LedgerReversal.State.PENDING)[:DECIDED_SHOWN]
    periods = [(p, ledger.summary(scheme, p)) for p in scheme.periods.order_by("-start")]
    total = ledger.summary(scheme)
    return render(request, "coverage/scheme_funds.html", {
        "scheme": scheme, "total": total, "periods": periods,
        "negative": negative_warnings(total, periods),
        "rows": rows, "page": page, "params": request.GET, "kind": kind,
        "kinds": LedgerEntry.Kind.choices, "pending": pending, "decided": decided,
        "decision_form": ReversalDecisionForm(),
        "loss_ratio_definition": ledger.LOSS_RATIO_DEFINITION})


def negative_warnings(total: ledger.FundSummary,
                      periods: list[tuple[Period, ledger.FundSummary]]) -> list[str]:
    """A line for a 结余 or 银行存款 below zero, naming the periods: a negative figure in
    the table alone reads like any other number, and it usually means a subsidy or a
    payment not yet booked."""
    lines = []
    for label, field, why in (
            ("结余", "fund_balance", "已给付超过互助金收入和补贴拨款，请核对补贴拨款是否已登记"),
            ("银行存款", "bank", "已给付超过已到账的互助金和补贴拨款，"
                                 "请核对缴费到账和补贴拨款是否已登记")):
        names = [p.name for p, s in periods if getattr(s, field) < 0]
        if not names and getattr(total, field) < 0:
            names = ["合计"]
        if names:
            lines.append(f"{label}为负（{'、'.join(names)}）：{why}")
    return lines


def _reversed_id(entry: LedgerEntry) -> int | None:
    """The number of the entry a reversing entry reverses (its reference reverse:<id>)."""
    if entry.kind != LedgerEntry.Kind.REVERSAL:
        return None
    tail = entry.reference.removeprefix("reverse:")
    return int(tail) if tail.isdigit() else None


def _finance(user: User) -> None:
    if not user.has_perm("coverage.register_payments"):
        raise PermissionDenied(FINANCE_ONLY)


@login_required
def request_reversal(request: AuthenticatedHttpRequest, entry_id: int) -> HttpResponse:
    # Out of scope: 404 before 403, as for every object.
    entry = get_object_or_404(
        LedgerEntry.objects.select_related("scheme__union", "period", "created_by")
        .filter(scheme__in=Scheme.objects.visible_to(request.user)), pk=entry_id)
    _finance(request.user)
    form = ReversalRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            reversals.request_reversal(request.user, entry.pk,
                                       reason=form.cleaned_data["reason"])
        except Refused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"已申请冲正第 {entry.pk} 号分录，待另一位财务人员审批")
            return redirect("coverage:scheme-funds", code=entry.scheme.code)
    return render(request, "coverage/reversal_form.html", {"form": form, "entry": entry})


def _decision(request: AuthenticatedHttpRequest, reversal_id: int, approve: bool
              ) -> HttpResponse:
    reversal = get_object_or_404(
        LedgerReversal.objects.select_related("entry__scheme")
        .filter(entry__scheme__in=Scheme.objects.visible_to(request.user)), pk=reversal_id)
    _finance(request.user)
    form = ReversalDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "审批意见最多 200 个字")
    else:
        note = form.cleaned_data["note"]
        try:
            if approve:
                done = reversals.approve(request.user, reversal.pk, note=note)
                messages.success(request, f"已冲正第 {reversal.entry_id} 号分录，"
                                          f"冲正分录为第 {done.reversing_entry_id} 号")
            else:
                reversals.reject(request.user, reversal.pk, note=note)
                messages.success(request, f"已驳回第 {reversal.entry_id} 号分录的冲正申请")
        except Refused as exc:
            messages.error(request, str(exc))
    return redirect("coverage:scheme-funds", code=reversal.entry.scheme.code)


@require_POST
@login_required
def approve_reversal(request: AuthenticatedHttpRequest, reversal_id: int) -> HttpResponse:
    return _decision(request, reversal_id, approve=True)


@require_POST
@login_required
def reject_reversal(request: AuthenticatedHttpRequest, reversal_id: int) -> HttpResponse:
    return _decision(request, reversal_id, approve=False)


@login_required
def subsidy(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    scheme = get_scheme_for_user(request.user, code)  # out of scope: 404 before 403
    if not request.user.has_perm("coverage.register_payments"):
        raise PermissionDenied("只有财务和管理员可以登记补贴拨款")
    form = SubsidyForm(request.POST or None, scheme=scheme)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            entry = premiums.fund_subsidy(request.user, scheme, data["period"],
                                          amount=data["amount"], booked_on=data["booked_on"],
                                          reference=data["reference"])
        except Refused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "已入账" if entry else "该文号已入账过，未重复入账")
            return redirect("coverage:funds")
    return render(request, "coverage/subsidy_form.html", {"form": form, "scheme": scheme})
