"""Claims: the work queue, one claim's page with its allowed steps, and filing a claim."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from huzhu.claims import deadlines, duplicates, editing, intake, queue, workflow
from huzhu.claims.access import get_claim_for_user
from huzhu.claims.flags import FLAG_LABELS
from huzhu.claims.forms import ClaimStepForm
from huzhu.claims.icd10 import options as icd10_options
from huzhu.claims.materials import required as materials
from huzhu.claims.models import Claim
from huzhu.claims.workflow import TRANSITIONS, ClaimRefused
from huzhu.lib import panels
from huzhu.lib.http import AuthenticatedHttpRequest
from huzhu.lib.paging import keyset_page
from huzhu.lib.params import id_param
from huzhu.members.access import get_member_for_user
from huzhu.rules.schema import MATERIALS


@login_required
def claim_queue(request: AuthenticatedHttpRequest) -> HttpResponse:
    f = queue.QueueFilter.from_params(request.user, request.GET)
    counts = queue.state_counts(request.user)
    total = queue.total_from_counts(f, counts)
    page = keyset_page(queue.filtered(request.user, f).select_related(
        "member__unit", "scheme"), after=id_param(request.GET, "after"),
        before=id_param(request.GET, "before"), count=total is None)
    if total is not None:
        page.total = total
    return render(request, "claims/queue.html", {
        "page": page, "params": request.GET, "f": f, "counts": counts,
        "states": [(s.value, s.label, counts.get(s.value, 0) if s in queue.OPEN else None)
                   for s in Claim.State],
        "state_param": request.GET.get("state", ""), "flags": FLAG_LABELS,
    })


@login_required
def claim_detail(request: AuthenticatedHttpRequest, claim_id: int) -> HttpResponse:
    claim = get_claim_for_user(request.user, claim_id)
    template = "claims/_claim.html" if request.htmx else "claims/detail.html"
    return render(request, template, _detail_context(request, claim))


def _detail_context(request: AuthenticatedHttpRequest, claim: Claim) -> dict:
    user = request.user
    lacking = materials.missing(claim)
    return {
        "claim": claim,
        "actions": workflow.allowed(user, claim),
        # Each step someone could take now that this user may not, with why; when no
        # step applies, what the state leaves to do and where.
        "refusals": workflow.refusals(user, claim),
        "state_note": workflow.state_note(claim),
        "history": list(claim.history.select_related("actor")),
        "required": materials.required(claim),
        "missing": lacking, "labels": MATERIALS,
        "deadline": deadlines.filing_deadline(claim),
        "late": deadlines.is_late(claim, timezone.localdate()),
        "reject_codes": Claim.RejectCode.choices,
        # Offered, as it always was, to those who could return the claim under review.
        "may_grant_late": claim.late_exception_by_id is None and
        workflow.why_not(user, claim, "return") is None,
        "panels": panels.render("claim", request, claim),
        # The duplicate rule's hold, and whether this user may lift it.
        "duplicates": duplicates.holding(claim) if claim.duplicate_override_by_id is None
        else [],
        "may_override": workflow.why_not(user, claim, "override_duplicate") is None,
        "may_edit": editing.why_not(user, claim) is None,
    }


@require_POST
@login_required
def claim_step(request: AuthenticatedHttpRequest, claim_id: int, step: str) -> HttpResponse:
    claim = get_claim_for_user(request.user, claim_id)
    if step not in workflow.CLAIM_PAGE:
        raise Http404
    form = ClaimStepForm(request.POST)
    notice = error = ""
    if not form.is_valid():
        error = form.error_text()  # nothing is asked of the workflow: nothing changes
    else:
        try:
            claim = workflow.apply(request.user, claim.pk, step, **form.step_data())
            notice = f"{TRANSITIONS[step].label}：{claim.get_state_display()}"
        except ClaimRefused as exc:
            error = str(exc)
    if request.htmx:
        # The partial has no message area of its own: the outcome is shown in it, not
        # queued for a later full page (where a refusal would appear out of context).
        claim = get_claim_for_user(request.user, claim_id)
        return render(request, "claims/_claim.html", {
            **_detail_context(request, claim), "step_notice": notice, "step_error": error})
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect("claims:detail", claim_id=claim_id)


def _reason_step(request: AuthenticatedHttpRequest, claim_id: int, step: str,
                 done: str) -> HttpResponse:
    """A step that records a reviewer's reason and leaves the state (the table's rows
    with target None), taken from a form of its own on the claim page."""
    claim = get_claim_for_user(request.user, claim_id)
    try:
        workflow.apply(request.user, claim.pk, step, reason=request.POST.get("reason", ""))
        messages.success(request, done)
    except ClaimRefused as exc:
        messages.error(request, str(exc))
    return redirect("claims:detail", claim_id=claim.pk)


@require_POST
@login_required
def override_duplicate(request: AuthenticatedHttpRequest, claim_id: int) -> HttpResponse:
    return _reason_step(request, claim_id, "override_duplicate",
                        "已确认非重复，可由另一位审核人员审批")


@require_POST
@login_required
def late_exception(request: AuthenticatedHttpRequest, claim_id: int) -> HttpResponse:
    return _reason_step(request, claim_id, "late_exception", "已记录逾期例外，经办人可以提交")


@login_required
def claim_edit(request: AuthenticatedHttpRequest, claim_id: int) -> HttpResponse:
    """Correcting a draft or returned claim's facts with its benefit's filing form (the
    checks, the history and the lock are :mod:`huzhu.claims.editing`'s)."""
    claim = get_claim_for_user(request.user, claim_id)
    refusal = editing.why_not(request.user, claim)
    if refusal:
        messages.error(request, refusal)
        return redirect("claims:detail", claim_id=claim.pk)
    data = request.POST if request.method == "POST" else None
    form = editing.form_for(claim, data)
    if data is not None and form.is_valid():
        try:
            changed = editing.edit(request.user, claim.pk, form.cleaned_data,
                                   data.get("version", ""))
        except ClaimRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"已修改：{'、'.join(changed)}" if changed
                             else "没有修改任何内容")
            return redirect("claims:detail", claim_id=claim.pk)
    return render(request, "claims/edit.html", {
        "claim": claim, "form": form, "version": data.get("version", "") if data is not None
        else editing.version(claim), "icd10": icd10_options(), "today": timezone.localdate(),
    })


@login_required
def claim_new(request: AuthenticatedHttpRequest, member_id: int) -> HttpResponse:
    """Filing, in two steps: the event date (which decides the benefits on offer), then
    the chosen benefit's own form."""
    if not request.user.has_perm("orgs.write"):
        raise PermissionDenied("您的角色只能查看，不能登记理赔")
    member = get_member_for_user(request.user, member_id, write=True)
    day = _day(request.GET.get("day") or request.POST.get("day"))
    offers = intake.offers(member, day) if day else []
    chosen = _chosen(offers, request.GET.get("benefit") or request.POST.get("benefit", ""))
    form = None
    if chosen is not None:
        data = request.POST if request.method == "POST" else None
        form = intake.claim_form(chosen.benefit, data, initial={"event_date": day},
                                 offered_on=day)
        if data is not None and form.is_valid():
            claim = intake.file_claim(request.user, member, chosen, form.cleaned_data)
            messages.success(request, f"已登记理赔 {claim.number}，请上传申请材料后提交审核")
            return redirect("claims:detail", claim_id=claim.pk)
    return render(request, "claims/new.html", {
        "member": member, "day": day, "offers": offers, "chosen": chosen, "form": form,
        "icd10": icd10_options(), "today": timezone.localdate(),
        "key": (lambda o: f"{o.scheme.code}:{o.benefit.code}"),
    })


def _day(value: str | None) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if day and day <= timezone.localdate() else None


def _chosen(offers: list[intake.Offer], key: str) -> intake.Offer | None:
    for offer in offers:
        if f"{offer.scheme.code}:{offer.benefit.code}" == key:
            return offer
    return None
