"""Schemes and periods: the list, a scheme's rules and periods, setting them up, and a
period's units with their enrolment and premium state."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from huzhu.coverage import enrolment, ledger, reminders, schemes
from huzhu.coverage.access import get_period_for_user, get_scheme_for_user
from huzhu.coverage.forms import PayeeForm, PeriodForm, SchemeForm, StraightThroughForm
from huzhu.coverage.joining import covers_unit
from huzhu.coverage.models import Period, PremiumNotice, Scheme
from huzhu.imports import jobs
from huzhu.imports.views import ImportForm
from huzhu.lib.errors import Refused
from huzhu.lib.http import AuthenticatedHttpRequest
from huzhu.lib.money import MoneySum
from huzhu.lib.paging import keyset_page
from huzhu.lib.params import id_param
from huzhu.orgs import roles
from huzhu.orgs.access import get_unit_for_user
from huzhu.orgs.models import Unit, User, union_path
from huzhu.orgs.search import search_units
from huzhu.rules.summary import describe_policy


@login_required
def scheme_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    today = timezone.localdate()
    rows = []
    for scheme in Scheme.objects.visible_to(request.user).select_related("union"):
        current = scheme.periods.filter(start__lte=today, end__gte=today).first() or \
            scheme.periods.order_by("-start").first()
        enrolled = current.enrolments.filter(state="active").count() if current and \
            scheme.needs_enrolment else None
        rows.append((scheme, current, enrolled))
    return render(request, "coverage/scheme_list.html", {"rows": rows})


@roles.capability_required("coverage.manage_schemes")
def scheme_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = SchemeForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            scheme = schemes.create_scheme(
                request.user, union=data["union"], policy_name=data["policy_name"],
                policy_text=data.get("policy_text", ""), code=data["code"], name=data["name"],
                coverage_start=data["coverage_start"], mid_period=data["mid_period"],
                min_share=data["min_share"], share_of=data["share_of"],
                allow_retired=data["allow_retired"], payee_name=data["payee_name"],
                payee_bank=data["payee_bank"], payee_account=data["payee_account"],
                straight_through_upto=data["straight_through_upto"],
                sample_threshold=data["sample_threshold"],
                appeal_working_days=data["appeal_working_days"])
        except Refused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"已新建保障项目“{scheme.name}”")
            return redirect("coverage:scheme", code=scheme.code)
    return render(request, "coverage/scheme_form.html", {"form": form})


@login_required
def scheme_detail(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    scheme = get_scheme_for_user(request.user, code)
    policy = scheme.policy()
    periods = list(scheme.periods.annotate(
        enrolled=Count("enrolments", filter=Q(enrolments__state="active"))).order_by("-start"))
    return render(request, "coverage/scheme_detail.html", {
        "scheme": scheme, "policy": policy, "benefits": describe_policy(policy),
        "periods": periods, "funds": ledger.summary(scheme),
        "loss_ratio_definition": ledger.LOSS_RATIO_DEFINITION,
        "straight_through": schemes.straight_through_words(scheme)})


@roles.capability_required("coverage.manage_schemes")
def scheme_payee(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    """Edit the scheme's collection account (收款户名, 开户银行, 账号)."""
    scheme = get_scheme_for_user(request.user, code, manage=True)
    initial = {"payee_name": scheme.payee_name, "payee_bank": scheme.payee_bank,
               "payee_account": scheme.payee_account}
    form = PayeeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            schemes.set_payee(request.user, scheme, name=data["payee_name"],
                              bank=data["payee_bank"], account=data["payee_account"])
        except Refused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "收款账户已保存，之后打印的缴费通知单都使用新账户")
            return redirect("coverage:scheme", code=scheme.code)
    return render(request, "coverage/scheme_payee.html", {"form": form, "scheme": scheme})


@roles.capability_required("coverage.manage_schemes")
def scheme_straight_through(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    """Edit the scheme's review by exception (免申即享直通金额上限, 抽样阈值)."""
    scheme = get_scheme_for_user(request.user, code, manage=True)
    initial = {"straight_through_upto": scheme.straight_through_upto,
               "sample_threshold": scheme.sample_threshold}
    form = StraightThroughForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            schemes.set_straight_through(request.user, scheme,
                                         upto=data["straight_through_upto"],
                                         threshold=data["sample_threshold"])
        except Refused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "免申即享抽样复核规则已保存，之后抽取的样本按新规则办理")
            return redirect("coverage:scheme", code=scheme.code)
    return render(request, "coverage/scheme_straight.html", {"form": form, "scheme": scheme})


@login_required
def period_create(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    scheme = get_scheme_for_user(request.user, code, manage=True)
    form = PeriodForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            period = schemes.create_period(request.user, scheme, **form.cleaned_data)
        except Refused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"已新建互助期“{period.name}”")
            return redirect("coverage:period", period_id=period.pk)
    return render(request, "coverage/period_form.html", {"form": form, "scheme": scheme,
                                                         "period": None})


@login_required
def period_edit(request: AuthenticatedHttpRequest, period_id: int) -> HttpResponse:
    period = get_period_for_user(request.user, period_id, manage=True)
    form = PeriodForm(request.POST or None, instance=Period.objects.get(pk=period.pk))
    if period.closed:
        messages.error(request, f"{period}已结束，不能修改")
        return redirect("coverage:period", period_id=period.pk)
    if request.method == "POST" and form.is_valid():
        changed = {k: form.cleaned_data[k] for k in form.changed_data}
        try:
            schemes.update_period(request.user, period, **changed)
        except Refused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "已保存" if changed else "没有修改")
            return redirect("coverage:period", period_id=period.pk)
    return render(request, "coverage/period_form.html", {"form": form, "scheme": period.scheme,
                                                         "period": period})


@require_POST
@login_required
def period_advance(request: AuthenticatedHttpRequest, period_id: int) -> HttpResponse:
    period = get_period_for_user(request.user, period_id, manage=True)
    try:
        period = schemes.advance(request.user, period)
        messages.success(request, f"{period}：{period.get_state_display()}")
    except Refused as exc:
        messages.error(request, str(exc))
    return redirect("coverage:period", period_id=period.pk)


NOTICE_FILTERS = {"unpaid": "未缴", "partial": "部分缴纳", "paid": "已缴清", "none": "未参保"}


@login_required
def period_detail(request: AuthenticatedHttpRequest, period_id: int) -> HttpResponse:
    """The period's units in the user's scope, with enrolled and paid counts."""
    period = get_period_for_user(request.user, period_id)
    scheme = period.scheme
    q = request.GET.get("q", "").strip()[:50]
    state = request.GET.get("state", "")
    units = search_units(request.user, q).filter(union__path__startswith=scheme.union.path)
    if state in ("unpaid", "partial", "paid"):
        units = units.filter(premium_notices__period=period, premium_notices__state=state)
    elif state == "none":
        units = units.exclude(premium_notices__period=period)
    page = keyset_page(units.select_related("union"), after=id_param(request.GET, "after"),
                       before=id_param(request.GET, "before"), count=True)
    counts = enrolment.unit_counts(period, [u.pk for u in page.items])
    notices = {n.unit_id: n for n in PremiumNotice.objects.filter(
        period=period, unit_id__in=[u.pk for u in page.items])}
    rows = [(u, counts.get(u.pk, {}), notices.get(u.pk)) for u in page.items]
    return render(request, "coverage/period_detail.html", {
        "period": period, "scheme": scheme, "page": page, "rows": rows, "q": q,
        "state": state, "filters": NOTICE_FILTERS, "params": request.GET,
        "totals": _period_totals(request.user, period),
        "previous": scheme.periods.filter(start__lt=period.start).order_by("-start").first(),
    })


def _period_totals(user: User, period: Period) -> dict[str, object]:
    """The period's enrolled and paid members, premiums due and not yet received — over
    the user's own subtree when it is narrower than the scheme (a clerk sees their union's
    figures, not the city's, which would include units they cannot see)."""
    prefix = union_path(user)
    if prefix is None or period.scheme.union.path.startswith(prefix):
        # The active enrolments only, counted from the (period, state, paid_on) index
        # alone: COUNT(paid_on) counts the paid ones.
        totals = period.enrolments.filter(state="active").aggregate(
            enrolled=Count("*"), paid=Count("paid_on"))
        funds = ledger.summary(period.scheme, period)
        return {**totals, "due": funds.premium_income, "receivable": funds.receivable,
                "union": None}
    totals = period.enrolments.filter(
        state="active", unit__union__path__startswith=prefix).aggregate(
        enrolled=Count("*"), paid=Count("paid_on"))
    notices = PremiumNotice.objects.filter(period=period, unit__union__path__startswith=prefix)
    due = notices.aggregate(s=MoneySum("amount_due"))["s"] or Decimal("0.00")
    paid = notices.aggregate(s=MoneySum("amount_paid"))["s"] or Decimal("0.00")
    return {**totals, "due": due, "receivable": due - paid, "union": user.union}


@require_POST
@login_required
def period_renew(request: AuthenticatedHttpRequest, period_id: int) -> HttpResponse:
    period = get_period_for_user(request.user, period_id)
    previous = period.scheme.periods.filter(start__lt=period.start).order_by("-start").first()
    if previous is None:
        messages.error(request, "没有上一个互助期可以续保")
        return redirect("coverage:period", period_id=period.pk)
    try:
        outcome = enrolment.renew(request.user, previous, period)
    except Refused as exc:
        messages.error(request, str(exc))
        return redirect("coverage:period", period_id=period.pk)
    messages.success(request, f"从{previous.name}续保：{outcome.summary()}")
    for unit, reason in outcome.refused[:20]:
        messages.error(request, f"{unit.name}：{reason}")
    return redirect("coverage:period", period_id=period.pk)


def unit_in_scheme(request: AuthenticatedHttpRequest, period: Period, unit_id: int) -> Unit:
    """The unit, if the user sees it and the period's scheme covers it (else 404)."""
    unit = get_unit_for_user(request.user, unit_id)
    if not covers_unit(period.scheme, unit):
        raise Http404
    return unit


@require_POST
@login_required
def period_upload(request: AuthenticatedHttpRequest, period_id: int) -> HttpResponse:
    """An enrolment list for this period, run by the import worker like a members file."""
    period = get_period_for_user(request.user, period_id)
    if not request.user.has_perm("orgs.write"):
        raise PermissionDenied("您的角色只能查看，不能办理参保")
    form = ImportForm({"kind": "enrolments", "valid_only": ""}, request.FILES,
                      kinds_shown="all")
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, "；".join(errors))
        return redirect("coverage:period", period_id=period.pk)
    job = jobs.create_job(kind="enrolments", uploaded=form.cleaned_data["file"],
                          user=request.user, valid_only=False, options={"period": period.pk})
    return redirect("imports:detail", job_id=job.pk)


@require_POST
@login_required
def period_remind(request: AuthenticatedHttpRequest, period_id: int) -> HttpResponse:
    """Write renewal and unpaid-premium reminders to the outbox (each goes out once)."""
    period = get_period_for_user(request.user, period_id, manage=True)
    today = timezone.localdate()
    which = request.POST.get("which")
    if which == "renewal":
        done = reminders.remind_renewal(period, today)
        messages.success(request, done.summary("续保提醒"))
    else:
        done = reminders.remind_unpaid(period, today)
        messages.success(request, done.summary("缴费提醒"))
    return redirect("coverage:period", period_id=period.pk)
