"""One unit in one period: its members' enrolment, enrolling and withdrawing, its premium
notice with payments, and the printable notice and certificates."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.coverage import enrolment, premiums
from huzhu.coverage.access import get_enrolment_for_user, get_notice_for_user, get_period_for_user
from huzhu.coverage.forms import PaymentForm, WithdrawForm
from huzhu.coverage.joining import eligible_statuses
from huzhu.coverage.models import Enrolment, PremiumNotice
from huzhu.coverage.pdf import certificate_pdf as render_certificate
from huzhu.coverage.pdf import premium_notice_pdf, premium_receipt_pdf, receipt_number
from huzhu.coverage.views import unit_in_scheme
from huzhu.lib.errors import Refused
from huzhu.lib.http import AuthenticatedHttpRequest
from huzhu.lib.paging import keyset_page
from huzhu.lib.params import id_param
from huzhu.members.models import Member
from huzhu.orgs.models import Unit
from huzhu.rules.money import yuan

SHOWN_MEMBERS = 500


@login_required
def unit_period(request: AuthenticatedHttpRequest, period_id: int, unit_id: int) -> HttpResponse:
    period = get_period_for_user(request.user, period_id)
    unit = unit_in_scheme(request, period, unit_id)
    members = list(Member.objects.visible_to(request.user).filter(unit=unit)
                   .order_by("name", "id")[:SHOWN_MEMBERS])
    enrolled = {e.member_id: e for e in Enrolment.objects.filter(period=period, unit=unit)}
    notice = PremiumNotice.objects.filter(period=period, unit=unit).first()
    statuses = set(eligible_statuses(period.scheme))
    rows = [(m, enrolled.get(m.pk), m.status in statuses) for m in members]
    return render(request, "coverage/unit_period.html", {
        "period": period, "scheme": period.scheme, "unit": unit, "rows": rows,
        "notice": notice, "payments": list(notice.payments.select_related("registered_by"))
        if notice else [],
        "payment_form": PaymentForm(), "withdraw_form": WithdrawForm(),
        "truncated": len(members) == SHOWN_MEMBERS,
    })


@require_POST
@login_required
def enrol(request: AuthenticatedHttpRequest, period_id: int, unit_id: int) -> HttpResponse:
    period = get_period_for_user(request.user, period_id)
    unit = unit_in_scheme(request, period, unit_id)
    chosen = request.POST.getlist("member")
    ids = [int(i) for i in chosen if i.isdigit()] if request.POST.get("which") == "selected" \
        else None
    if ids == []:
        messages.error(request, "请先勾选要参保的会员")
        return redirect("coverage:unit", period_id=period.pk, unit_id=unit.pk)
    try:
        outcome = enrolment.enrol_unit(request.user, period, unit, member_ids=ids)
        messages.success(request, outcome.summary())
    except Refused as exc:
        messages.error(request, str(exc))
    return redirect("coverage:unit", period_id=period.pk, unit_id=unit.pk)


@require_POST
@login_required
def withdraw(request: AuthenticatedHttpRequest, enrolment_id: int) -> HttpResponse:
    e = get_enrolment_for_user(request.user, enrolment_id)
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        messages.error(request, "请填写有效的退保日期")
    else:
        try:
            enrolment.withdraw(request.user, e, on=form.cleaned_data["on"],
                               reason=form.cleaned_data["reason"])
            messages.success(request, f"{e.member.name}已退出{e.period.name}")
        except Refused as exc:
            messages.error(request, str(exc))
    return redirect("coverage:unit", period_id=e.period_id, unit_id=e.unit_id)


@require_POST
@login_required
def register_payment(request: AuthenticatedHttpRequest, notice_id: int) -> HttpResponse:
    notice = get_notice_for_user(request.user, notice_id, pay=True)
    form = PaymentForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, "；".join(errors))
    else:
        try:
            payment, created = premiums.register_payment(request.user, notice.pk,
                                                         **form.cleaned_data)
            messages.success(request, f"已登记缴费 {yuan(payment.amount)} 元" if created else
                             f"流水号 {payment.bank_reference} 已登记过，未重复入账")
        except Refused as exc:
            messages.error(request, str(exc))
    return redirect("coverage:unit", period_id=notice.period_id, unit_id=notice.unit_id)


@login_required
def notice_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Finance's list: notices in scope, unpaid first."""
    state = request.GET.get("state", "")
    qs = PremiumNotice.objects.filter(unit__in=Unit.objects.visible_to(request.user))\
        .select_related("unit", "period__scheme")
    if state in PremiumNotice.State.values:
        qs = qs.filter(state=state)
    page = keyset_page(qs, after=id_param(request.GET, "after"),
                       before=id_param(request.GET, "before"), count=True)
    return render(request, "coverage/notice_list.html", {
        "page": page, "params": request.GET, "state": state,
        "states": PremiumNotice.State.choices})


def _pdf_response(data: bytes, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(False, name)
    return response


@login_required
def notice_pdf(request: AuthenticatedHttpRequest, notice_id: int) -> HttpResponse:
    notice = get_notice_for_user(request.user, notice_id)
    data = premium_notice_pdf(notice)
    # It lists the unit's enrolled members: who took it is on the record, like an export.
    log.record(request.user, AuditEntry.Action.FILE_DOWNLOADED, notice,
               union_path=notice.unit.union.path,
               summary=f"下载缴费通知单 {notice.number}（{notice.unit.name}，{notice.period}）",
               changes={"notice": notice.number, "format": "pdf"})
    return _pdf_response(data, f"缴费通知单-{notice.number}.pdf")


@login_required
def certificate_pdf(request: AuthenticatedHttpRequest, enrolment_id: int) -> HttpResponse:
    e = get_enrolment_for_user(request.user, enrolment_id)
    stamp = timezone.localdate().strftime("%Y%m%d")
    data = render_certificate(e)
    log.record(request.user, AuditEntry.Action.FILE_DOWNLOADED, e.member,
               summary=f"下载参保凭证（{e.member.name}，{e.period}）",
               changes={"period": str(e.period), "format": "pdf"})
    return _pdf_response(data, f"参保凭证-{e.member.name}-{stamp}.pdf")


@login_required
def receipt_pdf(request: AuthenticatedHttpRequest, notice_id: int) -> HttpResponse:
    """The receipt of a notice paid in full (缴费收据), for whoever may see the notice."""
    notice = get_notice_for_user(request.user, notice_id)
    try:
        data = premium_receipt_pdf(notice)
    except Refused as exc:
        messages.error(request, str(exc))
        return redirect("coverage:unit", period_id=notice.period_id, unit_id=notice.unit_id)
    number = receipt_number(notice)
    log.record(request.user, AuditEntry.Action.FILE_DOWNLOADED, notice,
               union_path=notice.unit.union.path,
               summary=f"下载缴费收据 {number}（{notice.unit.name}，{notice.period}，"
                       f"{yuan(notice.amount_paid)} 元）",
               changes={"notice": notice.number, "format": "pdf", "文件": "缴费收据"})
    return _pdf_response(data, f"缴费收据-{number}.pdf")
