"""The member pages (会员服务). Every page but signing in takes ``member_required``: the
member comes from the member session, never from ``request.user``, and what a page shows
is looked up by that member (another member's claim is a 404)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from huzhu.claims import intake
from huzhu.claims.models import Claim
from huzhu.notify.models import mask_phone
from huzhu.portal import bank as bank_service
from huzhu.portal import filing, signin
from huzhu.portal.access import (
    current_member,
    end_member_session,
    member_required,
    staff_signed_in,
    start_member_session,
)
from huzhu.portal.cover import member_cover
from huzhu.portal.forms import BankCodeForm, BankForm, CodeForm, PhoneForm
from huzhu.portal.timeline import missing, payments, timeline

PENDING = "portal_pending"
BANK_PENDING = "portal_bank_pending"


def _no_staff(request: HttpRequest) -> None:
    """A member page does not exist for a staff sign-in (the sign-in pages neither)."""
    if staff_signed_in(request):
        raise Http404


# ---------------------------------------------------------------- signing in

def login(request: HttpRequest) -> HttpResponse:
    _no_staff(request)
    if current_member(request) is not None:
        return redirect("portal:home")
    form = PhoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        phone = form.cleaned_data["phone"]
        try:
            row = signin.request_code(request, phone)
        except signin.Throttled as exc:
            form.add_error(None, str(exc))
        else:
            request.session[PENDING] = {"id": row.pk, "phone": phone}
            messages.info(request, signin.SENT)
            return redirect("portal:login-code")
    return render(request, "portal/login.html", {"form": form})


def login_code(request: HttpRequest) -> HttpResponse:
    _no_staff(request)
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or not isinstance(pending.get("id"), int):
        return redirect("portal:login")
    phone = str(pending.get("phone", ""))
    ask_id = signin.needs_id(request, phone)
    form = CodeForm(request.POST or None, ask_id=ask_id)
    if request.method == "POST" and form.is_valid():
        answer = signin.check_code(request, pending["id"], phone, form.cleaned_data["code"],
                                   form.cleaned_data.get("id_tail", ""))
        if answer.member is not None:
            request.session.pop(PENDING, None)
            start_member_session(request, answer.member)
            response = redirect("portal:home")
            signin.trust_device(response, request, answer.member)
            return response
        if answer.error == signin.SPENT:
            request.session.pop(PENDING, None)
            messages.error(request, answer.error)
            return redirect("portal:login")
        form.add_error(None, answer.error)
    return render(request, "portal/login_code.html", {
        "form": form, "phone_masked": mask_phone(phone), "ask_id": ask_id})


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    _no_staff(request)
    end_member_session(request)
    messages.info(request, "您已退出会员服务")
    return redirect("portal:login")


# ---------------------------------------------------------------- cover and claims

@member_required
def home(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    return render(request, "portal/home.html", {
        "member": request.member, "schemes": member_cover(request.member, today),  # type: ignore[attr-defined]
        "today": today, "nav": "home"})


def _claims_of(request: HttpRequest) -> QuerySet[Claim]:
    return Claim.objects.filter(member=request.member).select_related(  # type: ignore[attr-defined]
        "scheme", "member")


@member_required
def claim_list(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/claims.html", {
        "claims": _claims_of(request).order_by("-created_at", "-pk")[:200], "nav": "claims"})


@member_required
def claim_detail(request: HttpRequest, claim_id: int) -> HttpResponse:
    claim = get_object_or_404(_claims_of(request), pk=claim_id)
    return render(request, "portal/claim.html", {
        "claim": claim, "steps": timeline(claim), "missing": missing(claim),
        "paid": payments(claim), "nav": "claims"})


def _day(raw: str | None) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(raw or "")
    except ValueError:
        return None
    return day if day <= timezone.localdate() else None


def _key(offer: intake.Offer) -> str:
    return f"{offer.scheme.code}:{offer.benefit.code}"


@member_required
def claim_new(request: HttpRequest) -> HttpResponse:
    """Two steps, as the clerk's filing: the day (which decides the benefits on offer)
    and what happened, then the benefit's own form and the photographs."""
    member = request.member  # type: ignore[attr-defined]
    raw_day = request.GET.get("day") or request.POST.get("day")
    day = _day(raw_day)
    context: dict[str, object] = {"nav": "new", "today": timezone.localdate(), "day": day,
                                  "day_error": "日期应为今天或以前的日期" if raw_day and day is None
                                  else ""}
    if day is None:
        return render(request, "portal/claim_new.html", context)
    offers = intake.eligibility(member, day).offers
    key = request.GET.get("benefit") or request.POST.get("benefit", "")
    chosen = next((o for o in offers if _key(o) == key), None)
    context.update({"offers": [(_key(o), o) for o in offers], "chosen": chosen})
    if chosen is None:
        return render(request, "portal/claim_new.html", context)
    data = request.POST if request.method == "POST" else None
    form = intake.claim_form(chosen.benefit, data, initial={"event_date": day},
                             offered_on=day)
    # A member cannot be asked for ICD-10 codes: the clerk types them from the 诊断证明
    # photographed below when checking the claim (the edit page), before submitting.
    form.fields.pop("diagnosis", None)
    for field in form.fields.values():
        field.widget.attrs["class"] = field.widget.attrs.get("class", "") + " form-control-lg"
    kinds = filing.material_kinds(chosen)
    context.update({"form": form, "kinds": kinds, "key": key})
    if request.method == "POST" and form.is_valid():
        uploads = [(code, f) for code, _ in kinds for f in request.FILES.getlist(f"m_{code}")]
        try:
            claim = filing.file_member_claim(member, chosen, form.cleaned_data, uploads)
        except filing.FilingRefused as exc:
            context["upload_error"] = str(exc)
        else:
            messages.success(request, f"申请已提交（编号 {claim.number}），单位工会核对后提交审核，"
                                      "进展会以短信通知您")
            return redirect("portal:claim", claim_id=claim.pk)
    return render(request, "portal/claim_new.html", context)


# ---------------------------------------------------------------- bank account

@member_required
def bank(request: HttpRequest) -> HttpResponse:
    member = request.member  # type: ignore[attr-defined]
    form = BankForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            row = bank_service.request_change(member, form.cleaned_data["account"],
                                              form.cleaned_data["bank_name"])
        except bank_service.BankRefused as exc:
            form.add_error(None, str(exc))
        else:
            request.session[BANK_PENDING] = row.pk
            messages.info(request, f"验证码已发送至 {mask_phone(row.sent_to)}，5 分钟内有效")
            return redirect("portal:bank-confirm")
    return render(request, "portal/bank.html", {"member": member, "form": form, "nav": "bank"})


@member_required
def bank_confirm(request: HttpRequest) -> HttpResponse:
    member = request.member  # type: ignore[attr-defined]
    pending = request.session.get(BANK_PENDING)
    if not isinstance(pending, int):
        return redirect("portal:bank")
    form = BankCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = bank_service.confirm_change(member, pending, form.cleaned_data["code"])
        except bank_service.BankRefused as exc:
            form.add_error(None, str(exc))
        else:
            request.session.pop(BANK_PENDING, None)
            messages.success(request, f"银行账号已保存（尾号 {member.bank_last4}），"
                                      "已短信通知您的手机")
            return redirect("portal:bank")
    return render(request, "portal/bank_confirm.html", {"form": form, "nav": "bank"})
