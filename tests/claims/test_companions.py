"""Issue 21, item 8: one application per stay. Once a stay's first claim is filed, the
claim page proposes every other benefit the stay's facts pay (the engine's amount), and
files the ticked ones as claims of their own with a copy of the materials."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from huzhu.claims import companions, intake
from huzhu.claims.materials import store
from huzhu.claims.models import Claim
from huzhu.claims.workflow import ClaimRefused, apply
from huzhu.coverage import enrolment
from huzhu.coverage.models import Enrolment
from tests.claims.materials.test_materials import pdf, upload
from tests.claims.test_views import login

D = dt.date


@pytest.fixture
def covered(users, units, staff, period, settings, tmp_path):
    """赵一 paid into Ningshan's premium scheme since 2025 (no waiting period left)."""
    settings.UPLOAD_ROOT = tmp_path / "uploads"
    staff["m1"].gender = "M"  # a man, whatever the generated ID number says
    staff["m1"].save()
    enrolment.enrol_unit(users["clerk_a1"], period, units["a1"], on=D(2026, 2, 1))
    Enrolment.objects.filter(member=staff["m1"]).update(
        state=Enrolment.State.ACTIVE, coverage_from=D(2026, 1, 1),
        first_enrolled=D(2025, 1, 1), paid_on=D(2026, 1, 1))
    return staff["m1"]


def stay(users, member, **facts) -> Claim:
    offer = next(o for o in intake.offers(member, D(2026, 3, 10))
                 if o.benefit.code == "hospital_aid")
    claim = intake.file_claim(users["clerk_a1"], member, offer, {
        "event_date": D(2026, 3, 10), "admit_date": D(2026, 3, 1), "hospital": "市中心医院",
        "out_of_pocket": Decimal("12000.00"), "diagnosis": "C50.9",
        "invoice_number": "FP-1", **facts})
    store.save_material(users["clerk_a1"], claim, "invoice", upload(pdf("发票"), "发票.pdf"))
    return claim


def test_the_stay_proposes_the_other_benefits_it_pays(users, covered):
    claim = stay(users, covered)
    found = {p.offer.benefit.code: p.amount for p in companions.proposals(claim)}
    # A man: the women's special-illness benefit is not proposed (the engine says so).
    assert covered.gender == "M"
    assert found == {"hospital_allowance": Decimal("240.00"),
                     "critical_illness": Decimal("10000.00")}


def test_filing_them_makes_claims_of_their_own_with_copied_materials(client, users, covered):
    claim = stay(users, covered)
    page = login(client, "clerk_a1").get(
        reverse("claims:detail", args=[claim.pk])).content.decode()
    assert 'id="claim-companions"' in page and "住院津贴" in page
    key = next(p.key for p in companions.proposals(claim)
               if p.offer.benefit.code == "hospital_allowance")
    response = client.post(reverse("claims:companions", args=[claim.pk]), {"benefit": [key]},
                           follow=True)
    allowance = Claim.objects.get(benefit="hospital_allowance")
    assert f"已一并登记：住院津贴 {allowance.number}（申请材料已一并复制）" in \
        response.content.decode()
    assert (allowance.admit_date, allowance.event_date, allowance.days) == (
        D(2026, 3, 1), D(2026, 3, 10), 9)
    assert allowance.invoice_number == "" and allowance.filed_by == users["clerk_a1"]
    copied = allowance.materials.get()
    original = claim.materials.get()
    assert (copied.kind, copied.file_name, copied.sha256) == (
        original.kind, original.file_name, original.sha256)
    assert copied.stored_path != original.stored_path  # its own file
    assert allowance.history.filter(
        note=f"与理赔 {claim.number} 同一次住院，一并申请").exists()
    # Filed once: no longer proposed, and a second post is refused, filing nothing.
    assert "hospital_allowance" not in {p.offer.benefit.code
                                        for p in companions.proposals(claim)}
    with pytest.raises(ClaimRefused, match="已不能一并申请"):
        companions.file_all(users["clerk_a1"], claim, [key])
    assert Claim.objects.filter(benefit="hospital_allowance").count() == 1
    # Another benefit and no shared invoice: the duplicate rule holds neither back.
    from huzhu.claims import duplicates

    assert duplicates.holding(allowance) == [] and duplicates.holding(claim) == []


def test_nothing_is_proposed_without_a_stay_or_once_submitted(users, covered):
    claim = stay(users, covered)
    from tests.claims.conftest import add_materials

    add_materials(claim, users["clerk_a1"])
    apply(users["clerk_a1"], claim.pk, "submit")
    assert companions.proposals(Claim.objects.get(pk=claim.pk)) == []


def test_a_reviewer_is_not_offered_the_clerks_filing(client, users, covered):
    claim = stay(users, covered)
    page = login(client, "reviewer_da").get(
        reverse("claims:detail", args=[claim.pk])).content.decode()
    assert 'id="claim-companions"' not in page
    client.post(reverse("claims:companions", args=[claim.pk]),
                {"benefit": ["ningshan-test:hospital_allowance"]})
    assert Claim.objects.count() == 1
