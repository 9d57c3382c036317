"""The same stay or invoice is not paid twice (claims.duplicates): a claim is held back at
approval and at batching while another live claim of the member has the same settlement,
an overlapping stay under the same benefit or the same invoice number, until a second
person records that it is not a duplicate. Two manual claims with one invoice number
were both paid 2,500.00 before."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from huzhu.claims import payouts
from huzhu.claims.models import Claim
from huzhu.claims.workflow import ClaimRefused, apply
from tests.fixtures import PASSWORD

D = dt.date
pytestmark = pytest.mark.django_db


def reviewed(users, claim: Claim) -> Claim:
    apply(users["clerk_a1"], claim.pk, "submit")
    return apply(users["reviewer_da"], claim.pk, "first_pass")


def test_the_same_invoice_twice_is_held_until_a_second_person_says_why(users, staff,
                                                                       file_hospital):
    first = reviewed(users, file_hospital(staff["m1"], day=D(2026, 3, 10), invoice_number="F-9"))
    again = reviewed(users, file_hospital(staff["m1"], day=D(2026, 4, 10), invoice_number="F-9"))
    with pytest.raises(ClaimRefused, match=rf"{first.number}（待复审，同一发票号 F-9）"):
        apply(users["admin_city"], again.pk, "approve")
    with pytest.raises(ClaimRefused, match="与本会员的理赔"):
        apply(users["admin_city"], first.pk, "approve")  # each holds the other
    assert set(Claim.objects.values_list("state", flat=True)) == {"second_review"}
    # A clerk may not lift it; a reviewer says why; another person approves.
    with pytest.raises(ClaimRefused, match="只有审核员可以确认非重复"):
        apply(users["clerk_a1"], again.pk, "override_duplicate", reason="两张发票")
    apply(users["reviewer_da"], again.pk, "override_duplicate", reason="医院重开发票，号码相同")
    approved = apply(users["admin_city"], again.pk, "approve")
    assert approved.state == "approved" and approved.duplicate_override_by == users["reviewer_da"]
    assert "确认非重复" in approved.history.get(action="override_duplicate").note


def test_who_lifted_the_hold_may_not_approve(users, staff, file_hospital):
    reviewed(users, file_hospital(staff["m1"], day=D(2026, 3, 10), invoice_number="F-1"))
    again = reviewed(users, file_hospital(staff["m1"], day=D(2026, 4, 10), invoice_number="F-1"))
    apply(users["admin_city"], again.pk, "override_duplicate", reason="不同的住院")
    with pytest.raises(ClaimRefused, match="确认非重复的人不能再审批"):
        apply(users["admin_city"], again.pk, "approve")


def test_an_overlapping_stay_under_the_same_benefit_is_held(users, staff, file_hospital):
    reviewed(users, file_hospital(staff["m1"], day=D(2026, 3, 10)))
    # 2026-03-08 → 03-12 overlaps 2026-03-05 → 03-10; another invoice number.
    again = reviewed(users, file_hospital(staff["m1"], day=D(2026, 3, 12),
                                          admit_date=D(2026, 3, 8)))
    with pytest.raises(ClaimRefused, match="同一保障项目住院期间重叠"):
        apply(users["admin_city"], again.pk, "approve")


def test_a_withdrawn_or_rejected_twin_holds_nothing(users, staff, file_hospital):
    first = file_hospital(staff["m1"], day=D(2026, 3, 10), invoice_number="F-2")
    again = reviewed(users, file_hospital(staff["m1"], day=D(2026, 4, 10), invoice_number="F-2"))
    apply(users["clerk_a1"], first.pk, "withdraw", note="重复登记")
    assert apply(users["admin_city"], again.pk, "approve").state == "approved"


def test_a_duplicate_that_slipped_through_is_not_batched(users, staff, file_hospital, changchun):
    """Claims approved before the rule (or changed behind its back) are stopped at the
    batch: finance is told which and why."""
    staff["m1"].set_bank_account("6222020200112233445")
    staff["m1"].save()
    a = file_hospital(staff["m1"], day=D(2026, 3, 10), invoice_number="F-3")
    b = file_hospital(staff["m1"], day=D(2026, 4, 10), invoice_number="F-3")
    Claim.objects.filter(pk__in=[a.pk, b.pk]).update(state="approved", final="240.00",
                                                     computed="240.00")
    with pytest.raises(ClaimRefused, match=rf"理赔 {a.number}：与本会员的理赔 {b.number}"):
        payouts.build_batch(users["finance_city"], changchun, [a.pk, b.pk])
    assert not Claim.objects.filter(state="in_batch").exists()


def test_the_claim_page_shows_the_hold_and_offers_the_override(client, users, staff,
                                                               file_hospital):
    first = reviewed(users, file_hospital(staff["m1"], day=D(2026, 3, 10), invoice_number="F-4"))
    again = reviewed(users, file_hospital(staff["m1"], day=D(2026, 4, 10), invoice_number="F-4"))
    assert client.login(username="reviewer_da", password=PASSWORD)
    page = client.get(reverse("claims:detail", args=[again.pk])).content.decode()
    assert 'id="duplicate-hold"' in page and first.number in page
    assert 'id="override-duplicate"' in page
    done = client.post(reverse("claims:override-duplicate", args=[again.pk]),
                       {"reason": "两次不同的住院"}, follow=True).content.decode()
    assert "已确认非重复" in done and "确认非重复：两次不同的住院" in done
    assert Claim.objects.get(pk=again.pk).duplicate_override_by == users["reviewer_da"]
    client.logout()
    assert client.login(username="clerk_a1", password=PASSWORD)
    page = client.get(reverse("claims:detail", args=[first.pk])).content.decode()
    assert 'id="duplicate-hold"' in page and 'id="override-duplicate"' not in page


def test_one_stay_may_pay_two_benefits_but_not_one_benefit_twice():
    """A proactive run files one claim per benefit a settled stay pays (a hospital subsidy
    and a critical-illness one): those are not duplicates of each other."""
    from huzhu.claims.duplicates import why

    def claim(benefit: str, pk: int) -> Claim:
        return Claim(pk=pk, scheme_id=1, benefit=benefit, settlement_id=7,
                     event_date=D(2026, 3, 10), admit_date=D(2026, 3, 1))

    assert why(claim("hospital", 1), claim("critical", 2)) == ""
    assert why(claim("hospital", 1), claim("hospital", 2)) == \
        "同一医保结算记录、同一保障项目住院期间重叠"
