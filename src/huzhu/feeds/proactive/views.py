"""The data officers' batch pages (免申即享测算): start a run on an imported feed (a
background task), follow its progress, read its outcomes and follow-up lists, download
its report. Starting or resuming a run is for data officers (admins in scope); anyone
who sees the feed sees its runs, and only the outcomes of their own members."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from huzhu.feeds.access import get_run_for_user
from huzhu.feeds.forms import RunForm
from huzhu.feeds.models.proactive import BatchRun, ProactiveSample, StayOutcome
from huzhu.feeds.proactive import followups, review
from huzhu.feeds.proactive import run as batch
from huzhu.feeds.proactive.followups import benefit_names
from huzhu.feeds.proactive.jobs import run_batch_job
from huzhu.feeds.proactive.report import write_report
from huzhu.lib.http import AuthenticatedHttpRequest
from huzhu.lib.paging import keyset_page
from huzhu.lib.params import id_param
from huzhu.orgs.roles import capability_required
from huzhu.orgs.scope import union_path

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOW = {"all": "全部", **dict(StayOutcome.Outcome.choices)}


@login_required
def run_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    qs = BatchRun.objects.visible_to(request.user).select_related("feed", "scheme", "user")
    page = keyset_page(qs, after=id_param(request.GET, "after"),
                       before=id_param(request.GET, "before"), count=True)
    return render(request, "feeds/runs.html", {"page": page, "params": request.GET})


@capability_required("feeds.import")
def run_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    initial = {"feed": id_param(request.GET, "feed")}
    form = RunForm(request.user, request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            run = batch.start_run(data["feed"], data["scheme"], user=request.user,
                                  engine=data["engine"])
        except batch.RunRefused as exc:
            form.add_error(None, str(exc))
        else:
            _enqueue(run)
            return redirect("feeds:run", run_id=run.pk)
    return render(request, "feeds/run_new.html", {"form": form})


def _enqueue(run: BatchRun) -> None:
    run_batch_job.enqueue(run.pk)


@require_POST
@capability_required("feeds.import")
def run_resume(request: AuthenticatedHttpRequest, run_id: int) -> HttpResponse:
    """An interrupted run goes back to the queue; its committed chunks stand."""
    run = get_run_for_user(request.user, run_id)
    if run.status == BatchRun.Status.FAILED or run.is_stuck():
        BatchRun.objects.filter(pk=run.pk).update(status=BatchRun.Status.PENDING, message="")
        _enqueue(run)
        messages.success(request, f"{run.title} 已重新排队，已生成的理赔不会重复生成")
    else:
        messages.info(request, f"{run.title} 当前为“{run.get_status_display()}”，无需继续")
    return redirect("feeds:run", run_id=run.pk)


def _context(request: AuthenticatedHttpRequest, run: BatchRun) -> dict:
    stale = run.is_stuck()
    return {"run": run, "stale": stale, "progress": run.progress(),
            "counts": [(code, label, (run.counts or {}).get(code, 0))
                       for code, label in StayOutcome.Outcome.choices]}


@login_required
def run_detail(request: AuthenticatedHttpRequest, run_id: int) -> HttpResponse:
    run = get_run_for_user(request.user, run_id)
    context = _context(request, run)
    show = request.GET.get("show", "all")
    show = show if show in SHOW else "all"
    if run.status == BatchRun.Status.DONE:
        rows = StayOutcome.objects.visible_to(request.user).filter(run=run) \
            .select_related("claim", "member")
        if show != "all":
            rows = rows.filter(outcome=show)
        page = keyset_page(rows, after=id_param(request.GET, "after"),
                           before=id_param(request.GET, "before"), count=True)
        # The policy's names of its benefits: the stored codes are for programs.
        names = benefit_names(run)
        for o in page.items:
            o.benefit_name = names.get(o.benefit, o.benefit)
        context["page"] = page
        context["follow_ups"] = followups.counts(run)
        context["review"] = _review_panel(request, run)
    context.update(show=show, filters=list(SHOW.items()), params=request.GET)
    return render(request, "feeds/run_detail.html", context)


@login_required
def run_progress(request: AuthenticatedHttpRequest, run_id: int) -> HttpResponse:
    run = get_run_for_user(request.user, run_id)
    return render(request, "feeds/_run_progress.html", _context(request, run))


@login_required
def run_report(request: AuthenticatedHttpRequest, run_id: int) -> HttpResponse:
    run = get_run_for_user(request.user, run_id)
    if run.status != BatchRun.Status.DONE:
        raise Http404("测算尚未完成")
    _only_whole_scope(request, run)
    handle = tempfile.TemporaryFile()
    write_report(run, handle, fmt="xlsx")
    handle.seek(0)
    day = timezone.localtime(run.created_at)
    name = f"免申即享测算-{day:%Y%m%d}-{Path(run.feed.file_name).stem}.xlsx"
    return FileResponse(handle, as_attachment=True, filename=name, content_type=XLSX)


def _only_whole_scope(request: AuthenticatedHttpRequest, run: BatchRun) -> None:
    """The report lists every row of the run: for those who see all the run's members."""
    prefix = union_path(request.user)
    node = run.union.path if run.union else None
    if prefix is not None and (node is None or not node.startswith(prefix)):
        raise Http404("该测算不在您的管辖范围内")


@login_required
def run_follow_up(request: AuthenticatedHttpRequest, run_id: int, kind: str) -> HttpResponse:
    run = get_run_for_user(request.user, run_id)
    if kind not in followups.LISTS or run.status != BatchRun.Status.DONE:
        raise Http404("没有这个跟进清单")
    _only_whole_scope(request, run)
    buffer = io.BytesIO()
    followups.write_xlsx(run, kind, buffer)
    buffer.seek(0)
    day = timezone.localtime(run.created_at)
    name = f"跟进清单-{followups.LISTS[kind][0][:12]}-{day:%Y%m%d}.xlsx"
    return FileResponse(buffer, as_attachment=True, filename=name, content_type=XLSX)


# ------------------------------------------------------------------ 抽样复核


def _review_panel(request: AuthenticatedHttpRequest, run: BatchRun) -> dict[str, Any]:
    """The 抽样复核 panel: before the draw, the run's straight-through claims (counted
    now) and the form; after it, the sample's progress and the decision."""
    user = request.user
    sample = (ProactiveSample.objects.filter(run=run)
              .select_related("drawn_by", "decided_by").first())
    if sample is None:
        refusal = review.why_not_draw(user, run)
        # Counted (signals and all) for those who may draw: at a city's run the signals'
        # queries take seconds, which a clerk's page view need not spend.
        return {"sample": None, "ceiling": run.scheme.straight_through_upto,
                "straight": review.straight_through(run) if refusal is None else None,
                "threshold": review.shown_percent(run.scheme.sample_threshold),
                "draw_refusal": refusal}
    sample.run = run
    seen = review.progress(sample)
    refusal = review.why_not_approve(user, sample)
    if refusal is None and seen.open:
        refusal = (f"样本中还有 {seen.open:,} 笔理赔未审完（共 {seen.size:,} 笔），"
                   "全部审完后才能批量核准")
    return {"sample": sample, "progress": seen,
            "percent": review.shown_percent(sample.percent),
            "threshold": review.shown_percent(sample.threshold),
            "over": seen.over(sample.threshold), "approve_refusal": refusal}


@require_POST
@login_required
def run_sample(request: AuthenticatedHttpRequest, run_id: int) -> HttpResponse:
    """Draw the run's sample (the service checks the role, the scope and the run)."""
    run = get_run_for_user(request.user, run_id)
    raw_seed = request.POST.get("seed", "").strip()
    try:
        if raw_seed and not raw_seed.isdigit():
            raise review.ReviewRefused(f"随机种子“{raw_seed[:20]}”应为不小于零的整数，"
                                       "或留空由系统生成")
        added = review.ids_for_numbers(run, request.POST.get("add", ""))
        sample = review.draw(request.user, run, percent=request.POST.get("percent", ""),
                             seed=int(raw_seed) if raw_seed else None, add=added)
    except review.ReviewRefused as exc:
        messages.error(request, f"未抽样：{exc}")
    else:
        messages.success(request, f"已抽取复核样本 {sample.size:,} 笔（第 {sample.pk} 号抽样复核"
                                  f"决定，随机种子 {sample.seed}），请按普通理赔办理初审、复审")
    return redirect("feeds:run", run_id=run.pk)


@require_POST
@login_required
def run_approve(request: AuthenticatedHttpRequest, run_id: int) -> HttpResponse:
    """The one decision on the run's other straight-through claims."""
    run = get_run_for_user(request.user, run_id)
    try:
        decision = review.approve(request.user, run)
    except review.ReviewRefused as exc:
        messages.error(request, f"不予批量核准：{exc}")
    else:
        if decision.refusal:
            messages.error(request, f"不予批量核准：{decision.refusal}")
        elif decision.already:
            messages.info(request, decision.message)
        else:
            messages.success(request, decision.message)
    return redirect("feeds:run", run_id=run.pk)
