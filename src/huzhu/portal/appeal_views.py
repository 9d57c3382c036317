"""申请复核 on the member pages: a member asks that the rejection or the lowered amount
of one of their own claims be reviewed again, with a reason and optional photographs
(the rules and the writing are :mod:`huzhu.claims.appeals`)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from huzhu.claims import appeals
from huzhu.claims.appeals import AppealRefused
from huzhu.claims.models import Claim
from huzhu.portal.access import member_required
from huzhu.rules.schema import MATERIALS

# The photographs a member adds: the kinds a 复核 is usually about.
KINDS = ("medical_record", "invoice", "discharge_summary", "diagnosis_certificate",
         "settlement_statement")


@member_required
def appeal(request: HttpRequest, claim_id: int) -> HttpResponse:
    member = request.member  # type: ignore[attr-defined]
    # Only the member's own claims exist here: another member's claim id is a 404.
    claim = get_object_or_404(Claim.objects.filter(member=member)
                              .select_related("scheme__union", "member__union"), pk=claim_id)
    error = ""
    if request.method == "POST":
        uploads: list[tuple[str, Any]] = [(code, f) for code in KINDS
                                          for f in request.FILES.getlist(f"m_{code}")]
        try:
            opened = appeals.open_appeal(member, claim, request.POST.get("reason", ""), uploads)
        except AppealRefused as exc:
            error = str(exc)
        else:
            messages.success(request, f"复核申请已提交，我们将在 {opened.due_on.year}年"
                                      f"{opened.due_on.month}月{opened.due_on.day}日前答复")
            return redirect("portal:appeal", claim_id=claim.pk)
    return render(request, "portal/appeal.html", {
        "claim": claim, "nav": "claims", "error": error,
        "appeals": list(claim.appeals.order_by("-id")),
        "refusal": appeals.why_not_appealable(claim),
        "until": appeals.appeal_until(claim),
        "kinds": [(code, MATERIALS[code]) for code in KINDS],
        "reason": request.POST.get("reason", "") if error else "",
    }, status=400 if error else 200)
