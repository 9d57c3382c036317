"""The member page's claims section: their claims and what was paid this year."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.http import HttpRequest
from django.utils import timezone

from huzhu.claims.models import Claim
from huzhu.members.models import Member


def member_panel(request: HttpRequest, member: Member) -> dict:
    year = timezone.localdate().year
    claims = list(Claim.objects.filter(member=member).order_by("-event_date", "-id")[:20])
    paid: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for name, amount in Claim.objects.filter(member=member, state__in=Claim.GIVEN,
                                             event_date__year=year).values_list(
            "benefit_name", "final"):
        paid[name] += amount or Decimal("0.00")
    return {"member": member, "claims": claims, "paid": sorted(paid.items()), "year": year}
