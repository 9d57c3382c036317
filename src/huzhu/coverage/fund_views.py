"""The fund ledger for finance and admins: balances and loss ratio per scheme and period,
and booking a free scheme's funding."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render

from huzhu.coverage import ledger, premiums
from huzhu.coverage.access import get_scheme_for_user
from huzhu.coverage.forms import SubsidyForm
from huzhu.coverage.models import Scheme
from huzhu.lib.errors import Refused
from huzhu.lib.http import AuthenticatedHttpRequest
from huzhu.orgs import roles


@roles.capability_required("coverage.read_funds")
def fund_overview(request: AuthenticatedHttpRequest) -> HttpResponse:
    blocks = []
    for scheme in Scheme.objects.visible_to(request.user).select_related("union"):
        periods = [(p, ledger.summary(scheme, p)) for p in scheme.periods.order_by("-start")]
        blocks.append((scheme, ledger.summary(scheme), periods))
    return render(request, "coverage/funds.html", {"blocks": blocks})


@login_required
def subsidy(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    scheme = get_scheme_for_user(request.user, code)  # out of scope: 404 before 403
    if not request.user.has_perm("coverage.register_payments"):
        raise PermissionDenied("只有财务和管理员可以登记补贴拨款")
    form = SubsidyForm(request.POST or None, scheme=scheme)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            entry = premiums.fund_subsidy(request.user, scheme, data["period"],
                                          amount=data["amount"], booked_on=data["booked_on"],
                                          reference=data["reference"])
        except Refused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "已入账" if entry else "该文号已入账过，未重复入账")
            return redirect("coverage:funds")
    return render(request, "coverage/subsidy_form.html", {"form": form, "scheme": scheme})
