"""Transfer requests (转会申请): the ones to decide, and the ones sent."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from huzhu.lib.http import AuthenticatedHttpRequest
from huzhu.members import transfers
from huzhu.members.models import TransferRequest
from huzhu.orgs.access import write_required

SHOWN = 100


@login_required
def transfer_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    base = TransferRequest.objects.select_related(
        "member", "member__unit", "to_unit__union", "requested_by", "decided_by")
    return render(request, "members/transfers.html", {
        "incoming": list(base.incoming(request.user)[:SHOWN]),
        "outgoing": list(base.outgoing(request.user)[:SHOWN]),
    })


@require_POST
@write_required
def transfer_decide(request: AuthenticatedHttpRequest, transfer_id: int) -> HttpResponse:
    pending = get_object_or_404(TransferRequest.objects.incoming(request.user), pk=transfer_id)
    accept = request.POST.get("decision") == "accept"
    note = " ".join(request.POST.get("note", "").split())
    done = transfers.decide(request.user, pending, accept=accept, note=note)
    messages.success(request, f"已{done.get_state_display()}：{done.name_given} → {done.to_unit}")
    return redirect("members:transfers")
