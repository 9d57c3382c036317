"""Issue 22 (4): a claim whose invoice number another union's claim also carries gives no
hint of that claim — no "另有 N 笔不在您的管辖范围内", no count, no signal — while claims
the user may see are still named and counted."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.urls import reverse

from huzhu.claims.models import Claim
from tests.fixtures import PASSWORD

pytestmark = pytest.mark.django_db
_numbers = itertools.count(1)


@pytest.fixture
def claim_for(users, free_scheme):
    def make(member, invoice: str) -> Claim:
        return Claim.objects.create(
            number=f"H{next(_numbers):09d}", member=member, scheme=free_scheme,
            benefit="hospital", benefit_name="住院医疗补贴", state=Claim.State.DRAFT,
            event_date=dt.date(2026, 3, 10), diagnosis="I21.9", invoice_number=invoice,
            computed=Decimal("1000.00"), filed_by=users["clerk_a1"])

    return make


def page(client, user, claim: Claim) -> str:
    assert client.login(username=user.username, password=PASSWORD)
    answer = client.get(reverse("claims:detail", args=[claim.pk]))
    assert answer.status_code == 200
    return answer.content.decode()


def test_another_unions_invoice_leaves_no_trace(client, users, make_member, claim_for):
    mine = claim_for(make_member("a1", name="甲会员"), "FP-22-0001")
    claim_for(make_member("b1", name="乙会员"), "FP-22-0001")
    claim_for(make_member("b1", name="丙会员"), "FP-22-0001")
    html = page(client, users["clerk_a1"], mine)
    assert 'id="claim-flags"' in html
    assert "不在您的管辖范围内" not in html and "另有" not in html
    assert "发票号重复" not in html and "另见于" not in html
    assert 'id="no-flags"' in html


def test_claims_in_scope_are_named_and_only_they_are_counted(client, users, make_member,
                                                             claim_for):
    mine = claim_for(make_member("a1", name="甲会员"), "FP-22-0002")
    near = claim_for(make_member("a1", name="丁会员"), "FP-22-0002")
    far = claim_for(make_member("b1", name="乙会员"), "FP-22-0002")
    html = page(client, users["clerk_a1"], mine)
    assert "发票号 FP-22-0002 另见于 1 笔理赔" in html
    assert near.number in html and far.number not in html
    assert "不在您的管辖范围内" not in html and "另有" not in html
    client.logout()
    html = page(client, users["admin_city"], mine)
    assert "发票号 FP-22-0002 另见于 2 笔理赔" in html
    assert near.number in html and far.number in html
