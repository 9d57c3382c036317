"""Claims: the work queue, one claim's page with its allowed steps, and filing a claim."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from huzhu.audit import limits, log
from huzhu.audit.models import AuditEntry
from huzhu.claims import (
    bulk,
    bulk_jobs,
    companions,
    deadlines,
    duplicates,
    editing,
    intake,
    queue,
    workflow,
)
from huzhu.claims import queue_export as queue_export_file
from huzhu.claims.access import get_claim_for_user
from huzhu.claims.flags import FLAG_LABELS
from huzhu.claims.forms import ClaimStepForm
from huzhu.claims.icd10 import options as icd10_options
from huzhu.claims.materials import required as materials
from huzhu.claims.materials.store import MaterialRefused
from huzhu.claims.models import BulkJob, Claim
from huzhu.claims.workflow import TRANSITIONS, ClaimRefused
from huzhu.lib import panels
from huzhu.lib.http import AuthenticatedHttpRequest
from huzhu.lib.paging import keyset_page
from huzhu.lib.params import id_param
from huzhu.members import saved_search
from huzhu.members.access import get_member_for_user
from huzhu.orgs.models import User
from huzhu.rules.columns import stay_days
from huzhu.rules.schema import MATERIALS


def _search_text(request: AuthenticatedHttpRequest, params: QueryDict) -> str:
    """The queue's search text, kept in the session under the token ``s`` of ``params``."""
    token = params.get("s", "")
    return (saved_search.recall(request, token) or "") if token else ""


def _queue_filter(request: AuthenticatedHttpRequest, params: QueryDict) -> queue.QueueFilter:
    return queue.QueueFilter.from_params(request.user, params,
                                         q=_search_text(request, params))


@login_required
def claim_queue(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _posted_search(request)
    f = _queue_filter(request, request.GET)
    counts = queue.state_counts(request.user)
    total = queue.total_from_counts(f, counts)
    page = keyset_page(queue.filtered(request.user, f).select_related(
        "member__unit", "member__union", "scheme"), after=id_param(request.GET, "after"),
        before=id_param(request.GET, "before"), count=total is None)
    if total is not None:
        page.total = total
    _note_four_eyes(request.user, page.items)
    return render(request, "claims/queue.html", {
        "page": page, "params": request.GET, "f": f, "counts": counts,
        "states": [(s.value, s.label, counts.get(s.value, 0) if s in queue.OPEN else None)
                   for s in Claim.State],
        "state_param": request.GET.get("state", ""), "flags": FLAG_LABELS,
        "benefits": queue.benefit_choices(request.user),
        "search_expired": bool(request.GET.get("s")) and not f.q,
        # Bulk steps (批量办理) the role may take; the filter goes with the bulk form so
        # "全部符合筛选条件" selects what the queue lists.
        "bulk_steps": bulk.offered(request.user),
        "filter_params": [(k, request.GET[k]) for k in bulk.FILTER_PARAMS if request.GET.get(k)],
    })


def _posted_search(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The filter form is posted: its search text (a name, an ID number) is kept in the
    session and the list's address carries a token, as the member list does; a search
    by ID number counts against the day's limit of number searches."""
    post = request.POST
    params = QueryDict(mutable=True)
    for key in bulk.FILTER_PARAMS:
        if post.get(key) and key != "s":
            params[key] = post[key]
    text = post.get("q", "").strip()[:50]
    if text:
        member_query = queue.QueueFilter(states=(), q=text).member_query
        if member_query is not None and member_query.by_number:
            try:
                limits.check(request.user, limits.SEARCH)
            except limits.LookupLimitReached as exc:
                messages.error(request, str(exc))
                return redirect("claims:queue")
            limits.spend(request.user, limits.SEARCH,
                         f"理赔查询：{member_query.describe()}", {"kind": member_query.kind})
        params["s"] = saved_search.remember(request, text)
    return redirect(reverse("claims:queue") + (f"?{params.urlencode()}" if params else ""))


def _note_four_eyes(user: User, claims: list[Claim]) -> None:
    """On each claim awaiting 复审 that ``user`` — a reviewer — may not approve by four
    eyes (they filed it or did its 初审), who may: ``claim.approve_note``."""
    if not user.has_perm("claims.review"):
        return
    candidates: list[User] | None = None
    for claim in claims:
        if claim.state != Claim.State.SECOND_REVIEW or user.pk not in (
                claim.filed_by_id, claim.first_reviewed_by_id):
            continue
        if candidates is None:
            candidates = workflow.step_candidates("approve")
        why = workflow.why_not(user, claim, "approve") or ""
        names = "、".join(str(u) for u in workflow.who_else_may(claim, "approve", candidates))
        claim.approve_note = (f"{why}：可由 {names} 复审" if names else
                              f"{why}：本辖区没有其他可以复审的人员，请联系上级工会")


@require_POST
@login_required
def queue_export(request: AuthenticatedHttpRequest) -> HttpResponse | FileResponse:
    """The queue's list, exactly as filtered, as an xlsx file (a POST, like every export:
    a link on another site cannot start it); the download is in the audit log."""
    f = _queue_filter(request, request.POST)
    claims = queue.filtered(request.user, f)
    too_many = queue_export_file.too_many(claims)
    if too_many is not None:
        messages.error(request, f"符合条件的理赔有 {too_many:,} 笔，超过一次可导出的 "
                                f"{queue_export_file.MAX_ROWS:,} 笔，请缩小筛选范围后再导出")
        return redirect(reverse("claims:queue") + _query(request.POST))
    buffer = io.BytesIO()
    described = bulk.described(request.user, request.POST, q=f.q).removeprefix(
        "全部符合筛选条件的理赔")
    rows = queue_export_file.write_xlsx(claims, buffer, described)
    log.record(request.user, AuditEntry.Action.FILE_DOWNLOADED,
               union_path=request.user.union.path if request.user.union else "",
               summary=f"导出理赔清单 {rows:,} 笔{described}", changes={"rows": rows})
    buffer.seek(0)
    name = f"理赔清单-{timezone.localdate():%Y%m%d}.xlsx"
    return FileResponse(buffer, as_attachment=True, filename=name,
                        content_type=queue_export_file.XLSX)


@require_POST
@login_required
def bulk_select(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The queue's bulk form: freeze the ticked claims (or every claim the filter finds)
    and ask to confirm. Nothing changes here."""
    post = request.POST
    back = reverse("claims:queue") + _query(post)
    ids: list[int] | list[str]  # the claims found, or those ticked (the form's text)
    if post.get("all_matching") == "1":
        q = _search_text(request, post)
        ids = bulk.matching_ids(request.user, post, q=q)
        described = bulk.described(request.user, post, q=q)
    else:
        ids, described = post.getlist("ids"), "勾选的理赔"
    try:
        job = bulk_jobs.prepare(request.user, ids, post.get("step", ""), described)
    except bulk.BulkRefused as exc:
        messages.error(request, str(exc))
        return redirect(back)
    return redirect(reverse("claims:bulk-job", args=[job.pk]) + _query(post))


def _query(params: QueryDict) -> str:
    """The queue's filter from ``params``, as a query string (back to the same list)."""
    kept = QueryDict(mutable=True)
    for key in bulk.FILTER_PARAMS:
        if value := params.get(key):
            kept[key] = value
    return f"?{kept.urlencode()}" if kept else ""


def _bulk_job(request: AuthenticatedHttpRequest, job_id: int) -> BulkJob:
    """The user's own bulk job (nobody else's exists for them)."""
    job = BulkJob.objects.filter(pk=job_id, user=request.user).first()
    if job is None:
        raise Http404("没有这项批量办理")
    return job.recover_if_stuck()


@login_required
def bulk_job(request: AuthenticatedHttpRequest, job_id: int) -> HttpResponse:
    """A bulk step's page: the confirmation while it is a draft, then its progress, then
    how many moved and each refused claim with why (paged)."""
    job = _bulk_job(request, job_id)
    t = TRANSITIONS[job.step]
    context: dict[str, Any] = {
        "job": job, "step": t, "back": reverse("claims:queue") + _query(request.GET),
        "progress": job.progress(), "labels": MATERIALS,
        "reject_codes": Claim.RejectCode.choices,
        "background_over": bulk_jobs.BACKGROUND_OVER}
    if job.status == BulkJob.Status.DONE:
        context["refused"] = _refused_page(request, job)
    return render(request, "claims/bulk.html", context)


REFUSED_PAGE = 50


def _refused_page(request: AuthenticatedHttpRequest, job: BulkJob) -> dict[str, Any]:
    rows = job.refused
    pages = max(1, -(-len(rows) // REFUSED_PAGE))
    try:
        number = min(max(1, int(request.GET.get("page", "1"))), pages)
    except ValueError:
        number = 1
    start = (number - 1) * REFUSED_PAGE
    return {"rows": rows[start:start + REFUSED_PAGE], "number": number, "pages": pages,
            "count": len(rows), "first": start + 1,
            "prev": number - 1 if number > 1 else None,
            "next": number + 1 if number < pages else None}


@login_required
def bulk_progress(request: AuthenticatedHttpRequest, job_id: int) -> HttpResponse:
    job = _bulk_job(request, job_id)
    response = render(request, "claims/_bulk_progress.html", {"job": job,
                                                               "progress": job.progress()})
    if not job.running:  # finished: the whole page shows the result (a link if no htmx)
        response["HX-Redirect"] = reverse("claims:bulk-job", args=[job.pk])
    return response


@require_POST
@login_required
def bulk_run(request: AuthenticatedHttpRequest, job_id: int) -> HttpResponse:
    """Confirmed: run the step (at once, or in the background for a large selection).
    The same form sent twice finds the job taken and shows its result."""
    job = _bulk_job(request, job_id)
    form = ClaimStepForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.error_text())
        return redirect("claims:bulk-job", job_id=job.pk)
    try:
        bulk_jobs.start(request.user, job, form.step_data())
    except bulk.BulkRefused as exc:
        messages.error(request, str(exc))
    return redirect("claims:bulk-job", job_id=job.pk)


@login_required
def claim_detail(request: AuthenticatedHttpRequest, claim_id: int) -> HttpResponse:
    claim = get_claim_for_user(request.user, claim_id)
    template = "claims/_claim.html" if request.htmx else "claims/detail.html"
    return render(request, template, _detail_context(request, claim))


def _detail_context(request: AuthenticatedHttpRequest, claim: Claim) -> dict[str, Any]:
    user = request.user
    lacking = materials.missing(claim)
    # Days in hospital follow from the dates (算入不算出), shown even for a benefit that
    # does not ask for them; a number typed lower than the dates allow is shown as typed.
    computed_days = stay_days(claim.admit_date, claim.event_date) if claim.admit_date else None
    required = materials.required(claim)
    return {
        "stay_days": claim.days or computed_days, "stay_computed": computed_days,
        "claim": claim,
        "actions": workflow.allowed(user, claim),
        # Each step someone could take now that this user may not, with why; when no
        # step applies, what the state leaves to do and where.
        "refusals": workflow.refusals(user, claim),
        "state_note": workflow.state_note(claim),
        "history": list(claim.history.select_related("actor")),
        "required": required,
        # A return asks for this benefit's materials, the missing ones ticked; the full
        # list only when the settlement supplied them all (a proactive claim).
        "return_choices": required or list(MATERIALS),
        "missing": lacking, "labels": MATERIALS,
        "deadline": deadlines.filing_deadline(claim),
        "late": deadlines.is_late(claim, deadlines.filed_on(claim, timezone.localdate())),
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
        # The stay's other benefits (one application per stay), for those who file it.
        "companions": companions.proposals(claim) if _may_file_for(user, claim) else [],
    }


def _may_file_for(user: User, claim: Claim) -> bool:
    return (user.has_perm("claims.file") and claim.state in companions.PROPOSED_IN
            and claim.admit_date is not None
            and workflow.reviewer_off_filers_desk(user, claim) is None)


@require_POST
@login_required
def file_companions(request: AuthenticatedHttpRequest, claim_id: int) -> HttpResponse:
    """File the ticked benefits of the same stay, each a claim with a copy of the
    materials (:mod:`huzhu.claims.companions`)."""
    claim = get_claim_for_user(request.user, claim_id)
    if not _may_file_for(request.user, claim):
        messages.error(request, "这笔理赔现在不能一并申请其他项目")
        return redirect("claims:detail", claim_id=claim.pk)
    try:
        filed = companions.file_all(request.user, claim, request.POST.getlist("benefit"))
    except (ClaimRefused, MaterialRefused) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "已一并登记：" + "、".join(
            f"{c.benefit_name} {c.number}" for c in filed) + "（申请材料已一并复制）")
    return redirect("claims:detail", claim_id=claim.pk)


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
    # Before any fact or material: which benefits apply on the day, and why not the
    # others (the engine's reasons); only those that apply may be filed.
    found = intake.eligibility(member, day) if day else intake.Eligibility()
    offers = found.offers
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
        "open": found.open, "closed": found.closed, "warnings": found.warnings,
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
