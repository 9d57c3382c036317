"""复核 on the staff side: the claim page's 复核 section (a panel), a clerk opening a 复核
for a member who called, a reviewer deciding one, and the queue's 复核 tab. The
services (and every rule) are :mod:`huzhu.claims.appeals`."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from huzhu.claims import appeals, queue
from huzhu.claims.access import get_claim_for_user
from huzhu.claims.appeals import AppealRefused
from huzhu.claims.models import Appeal, Claim
from huzhu.lib.http import AuthenticatedHttpRequest
from huzhu.rules.money import yuan
from huzhu.rules.schema import MATERIALS

# The material kind a 复核's files are kept as when none is chosen.
DEFAULT_KIND = "medical_record"


def panel_context(request: HttpRequest, claim: Claim) -> dict[str, Any] | None:
    """The claim page's 复核 section: the claim's appeals, the decision form for whoever
    may decide the open one (or why they may not), and 为会员申请复核 for a clerk within
    the time limit. Nothing for a claim with no appeal that none may be opened on."""
    user = request.user
    listed = list(claim.appeals.select_related("decided_by", "opened_by").order_by("-id"))
    current = next((a for a in listed if a.is_open), None)
    open_refusal = appeals.why_not_open(user, claim)  # type: ignore[arg-type]
    if not listed and open_refusal is not None:
        return None
    today = timezone.localdate()
    return {
        "claim": claim, "appeals": listed, "current": current, "today": today,
        "overdue": current is not None and appeals.is_overdue(current, today),
        "decide_refusal": (appeals.why_not_decide(user, current)  # type: ignore[arg-type]
                           if current is not None else None),
        "may_open": open_refusal is None, "until": appeals.appeal_until(claim),
        "kinds": list(MATERIALS.items()), "default_kind": DEFAULT_KIND,
        "ceiling": yuan(claim.computed) if claim.computed is not None else "",
    }


def _files(request: HttpRequest) -> list[tuple[str, Any]]:
    kind = request.POST.get("kind") or DEFAULT_KIND
    return [(kind, f) for f in request.FILES.getlist("files")]


@login_required
@require_POST
def appeal_open(request: AuthenticatedHttpRequest, claim_id: int) -> HttpResponse:
    """为会员申请复核: a clerk records the member's request made by phone."""
    claim = get_claim_for_user(request.user, claim_id)
    try:
        appeal = appeals.open_appeal(request.user, claim, request.POST.get("reason", ""),
                                     _files(request))
    except AppealRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"已为会员申请复核，办理期限 {appeal.due_on:%Y-%m-%d}")
    return redirect("claims:detail", claim_id=claim.pk)


@login_required
@require_POST
def appeal_decide(request: AuthenticatedHttpRequest, appeal_id: int) -> HttpResponse:
    appeal = get_object_or_404(
        Appeal.objects.filter(claim__in=Claim.objects.visible_to(request.user)), pk=appeal_id)
    try:
        done = appeals.decide(request.user, appeal, request.POST.get("decision", ""),
                              request.POST.get("reason", ""), request.POST.get("amount") or None)
    except AppealRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"复核已办结：{done.get_state_display()}")
    return redirect("claims:detail", claim_id=appeal.claim_id)


@login_required
def appeal_queue(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The queue's 复核 tab: open appeals in scope, overdue first and marked."""
    counts = queue.state_counts(request.user)
    rows = queue.appeal_rows(request.user)
    return render(request, "claims/queue.html", {
        "appeals_view": True, "appeal_rows": rows, "state_param": "appeals",
        "states": [(s.value, s.label, counts.get(s.value, 0) if s in queue.OPEN else None)
                   for s in Claim.State],
        "f": queue.QueueFilter(()), "page": None,
    })
