"""Members: list and search, detail, create and edit, full-number reveal, xlsx export."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from huzhu.audit import limits, log
from huzhu.audit.models import AuditEntry
from huzhu.lib import panels
from huzhu.lib.http import AuthenticatedHttpRequest
from huzhu.lib.paging import keyset_page
from huzhu.lib.params import id_param
from huzhu.members import saved_search, transfers
from huzhu.members.access import get_member_for_user
from huzhu.members.forms import MemberForm, snapshot
from huzhu.members.models import Member, TransferRequest
from huzhu.members.search import MemberQuery, search_members
from huzhu.orgs.access import write_required
from huzhu.orgs.models import Union, Unit


@login_required
def member_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The list; a search posts its text, which then travels as a session token."""
    if request.method == "POST":
        return _posted_search(request)
    token = request.GET.get("s", "")
    text = saved_search.recall(request, token) if token else ""
    query = MemberQuery.from_params(request.GET, q=text or "")
    context = _list_context(request, query, expired=bool(token) and text is None)
    if not request.htmx:
        context["pending_transfers"] = TransferRequest.objects.incoming(request.user).filter(
            state=TransferRequest.State.PENDING).count()
    template = "members/_results.html" if request.htmx else "members/list.html"
    return render(request, template, context)


def _posted_search(request: AuthenticatedHttpRequest) -> HttpResponse:
    query = MemberQuery.from_params(request.POST)
    params = query.filters()
    refused = ""
    if query.q:
        params["s"] = saved_search.remember(request, query.q)
        if query.by_number:
            try:
                limits.check(request.user, limits.SEARCH)
            except limits.LookupLimitReached as exc:
                refused = str(exc)
    url = reverse("members:list") + (f"?{urlencode(params)}" if params else "")
    if not request.htmx:
        if refused:
            messages.error(request, refused)
            return redirect("members:list")
        _spend_number_search(request, query)
        return redirect(url)
    if refused:
        response = render(request, "members/_refused.html", {"message": refused})
    else:
        context = _list_context(request, query, token=params.get("s", ""))
        _spend_number_search(request, query, found=context["page"].total)
        response = render(request, "members/_results.html", context)
    response["HX-Push-Url"] = url  # the address bar shows the token, never the text
    return response


def _spend_number_search(request: AuthenticatedHttpRequest, query: MemberQuery,
                         found: int | None = None) -> None:
    if query.by_number:
        shown = "" if found is None else f"，结果 {found} 条"
        limits.spend(request.user, limits.SEARCH, f"{query.describe()}{shown}",
                      {"kind": query.kind})


def _list_context(request: AuthenticatedHttpRequest, query: MemberQuery, *, expired: bool = False,
                  token: str = "") -> dict:
    # Prefetch, not select_related: with a join SQLite sorts whole joined rows of the
    # scope before LIMIT (300 ms for a district of a million-member city, not 3 ms).
    page = keyset_page(
        search_members(request.user, query).prefetch_related("unit", "union"),
        after=id_param(request.GET, "after"), before=id_param(request.GET, "before"),
        count=True,
    )
    union = Union.objects.visible_to(request.user).filter(pk=query.union_id).first()
    unit = Unit.objects.visible_to(request.user).filter(pk=query.unit_id).first()
    token = token or request.GET.get("s", "")
    params = QueryDict(mutable=True)
    params.update({**query.filters(), **({"s": token} if token else {})})
    return {
        "query": query,
        "params": params,
        "token": token,
        "expired": expired,
        "described": query.describe(union.name if union else "", unit.name if unit else ""),
        "page": page,
        "statuses": Member.Status.choices,
        "occupations": Member.Occupation.choices,
        "union": union,
        "unit": unit,
        "unit_choices": _unit_choices(request.user),
        "full_numbers": request.user.has_perm("members.see_full_id"),
    }


UNIT_SELECT_LIMIT = 300


def _unit_choices(user) -> list:
    """Units for the filter's drop-down, when there are few enough to list (a clerk's)."""
    units = list(Unit.objects.visible_to(user).order_by("name", "id")
                 .values_list("id", "name")[: UNIT_SELECT_LIMIT + 1])
    return units if len(units) <= UNIT_SELECT_LIMIT else []


@login_required
def member_detail(request: AuthenticatedHttpRequest, member_id: int) -> HttpResponse:
    member = get_member_for_user(request.user, member_id)
    family = list(member.family_members.visible_to(request.user)[:20])
    # A family head of another union stays unnamed: the link would tell who they are.
    head_visible = member.family_head_id is not None and Member.objects.visible_to(
        request.user).filter(pk=member.family_head_id).exists()
    return render(request, "members/detail.html", {
        "member": member, "family": family, "head_visible": head_visible,
        "incoming_transfers": member.transfer_requests.filter(state="pending").count(),
        "panels": panels.render("member", request, member),
    })


@never_cache
@require_POST
@login_required
def reveal(request: AuthenticatedHttpRequest, member_id: int, field: str) -> HttpResponse:
    """Show one full number, once, and record that this user saw it."""
    if field not in ("id_number", "bank_account"):
        raise Http404
    member = get_member_for_user(request.user, member_id, full_numbers=True)
    if field == "id_number":
        value, action = member.id_number, AuditEntry.Action.ID_VIEWED
        summary = f"查看会员“{member.name}”的完整身份证号"
    else:
        value, action = member.bank_account, AuditEntry.Action.BANK_VIEWED
        summary = f"查看会员“{member.name}”的完整银行账号"
    log.record(request.user, action, member, summary=summary)
    return render(request, "members/_revealed.html", {"value": value, "field": field})


@write_required
def member_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    unit_id = id_param(request.GET, "unit")
    form = MemberForm(request.POST or None, user=request.user,
                      initial={"unit": unit_id} if unit_id else None)
    if request.method == "POST" and form.is_valid():
        if form.transfer_target is not None:
            transfers.request_transfer(
                request.user, form.transfer_target, form.cleaned_data["unit"],
                name_given=form.cleaned_data["name"])
            messages.success(request, "已向该职工原所属工会发出转会申请，对方同意后即转入所选单位")
            return redirect("members:transfers")
        with transaction.atomic():
            member = form.save()
            log.record(request.user, AuditEntry.Action.MEMBER_CREATED, member,
                       summary=f"新增会员“{member.name}”", changes=form.audit_changes(None))
        messages.success(request, f"已新增会员“{member.name}”")
        return redirect("members:detail", member_id=member.pk)
    return render(request, "members/form.html", {"form": form, "member": None})


@write_required
def member_edit(request: AuthenticatedHttpRequest, member_id: int) -> HttpResponse:
    member = get_member_for_user(request.user, member_id, write=True)
    before = snapshot(member)
    form = MemberForm(request.POST or None, instance=member, user=request.user)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            member = form.save()
            changes = form.audit_changes(before)
            if changes:
                log.record(request.user, AuditEntry.Action.MEMBER_UPDATED, member,
                           summary=f"修改会员“{member.name}”", changes=changes)
        messages.success(request, "已保存" if changes else "没有修改")
        return redirect("members:detail", member_id=member.pk)
    return render(request, "members/form.html", {"form": form, "member": member})
