"""Claims fixtures: Changchun's free scheme for the city with a 2026 period, and helpers
to file a claim with its materials."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import pytest

from huzhu.claims import intake
from huzhu.claims.models import Claim, ClaimMaterial
from huzhu.coverage import schemes
from tests.coverage.conftest import (  # noqa: F401  (fixtures)
    admin,
    free_scheme,
    period,
    premium_scheme,
    staff,
)

D = dt.date
TODAY = D(2026, 5, 1)


@pytest.fixture(autouse=True)
def today(monkeypatch):
    """Claims are filed within their deadlines on this day, whatever the calendar says:
    today's date and the clock that stamps records (a batch built, a claim filed) agree,
    so a payment date can be checked against both."""
    from django.utils import timezone

    real_now = timezone.now
    start = real_now()
    noon = timezone.make_aware(dt.datetime(TODAY.year, TODAY.month, TODAY.day, 12))
    monkeypatch.setattr(timezone, "localdate", lambda *args: TODAY)
    # The clock runs from noon of that day, so records still follow each other in time.
    monkeypatch.setattr(timezone, "now", lambda: noon + (real_now() - start))
    return TODAY


@pytest.fixture
def changchun(admin, free_scheme):  # noqa: F811
    schemes.create_period(admin, free_scheme, name="2026年", start=D(2026, 1, 1),
                          end=D(2026, 12, 31), premium=Decimal("0"), enrol_from=D(2026, 1, 1),
                          enrol_until=D(2026, 12, 31))
    return free_scheme


def add_materials(claim: Claim, user) -> None:
    from huzhu.claims.materials.required import missing

    for kind in missing(claim):
        ClaimMaterial.objects.create(claim=claim, kind=kind, file_name=f"{kind}.pdf",
                                     stored_path="/nonexistent", content_type="application/pdf",
                                     size=1, uploaded_by=user,
                                     # each file its own content: the same hash in another
                                     # member's claim is a review signal (flags.py)
                                     sha256=hashlib.sha256(f"{claim.pk}:{kind}".encode())
                                     .hexdigest())


@pytest.fixture
def file_hospital(users, changchun):
    """File a Changchun hospital claim for a member (as clerk_a1, materials attached)."""

    def make(member, out_of_pocket="12000.00", day=None, user="clerk_a1",
             materials=True, **facts) -> Claim:
        day = day or D(2026, 3, 10)
        offer = next(o for o in intake.offers(member, day) if o.benefit.code == "hospital")
        claim = intake.file_claim(users[user], member, offer, {
            "event_date": day, "admit_date": day - dt.timedelta(days=5),
            "out_of_pocket": Decimal(out_of_pocket), "diagnosis": "I21.9",
            "invoice_number": facts.pop("invoice_number", f"INV-{member.pk}-{day}"), **facts})
        if materials:
            add_materials(claim, users[user])
        return claim

    return make
