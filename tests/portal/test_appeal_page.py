"""申请复核 on the member pages: the member asks for a review of their rejected claim with
a reason and a photograph; the staff side sees it; another member's claim is a 404, and
so is the page with a staff sign-in."""

from __future__ import annotations

import pytest
from django.urls import reverse

from huzhu.claims.models import Appeal, ClaimMaterial
from huzhu.claims.workflow import apply
from huzhu.notify.models import OutboxMessage
from tests.claims.materials.test_materials import png, upload
from tests.fixtures import PASSWORD
from tests.portal.conftest import sign_in


@pytest.fixture
def rejected(users, member, file_hospital):
    claim = file_hospital(member)
    apply(users["clerk_a1"], claim.pk, "submit")
    return apply(users["reviewer_da"], claim.pk, "reject", reject_code="not_eligible",
                 note="诊断不在保障范围")


def test_member_asks_for_a_review_with_a_photo(client, member, rejected):
    sign_in(client, member)
    url = reverse("portal:appeal", args=[rejected.pk])
    page = client.get(url).content.decode()
    assert "原决定：不予给付（不符合给付条件，诊断不在保障范围）" in page
    assert 'capture="environment"' in page and "可申请至 2026年6月30日" in page
    response = client.post(url, {"reason": "诊断书写错了，已重新开具",
                                 "m_diagnosis_certificate": upload(png(), "诊断.png",
                                                                   "image/png")})
    assert response.status_code == 302 and response["Location"] == url
    appeal = Appeal.objects.get(claim=rejected)
    assert appeal.opened_by_member and appeal.reason == "诊断书写错了，已重新开具"
    assert ClaimMaterial.objects.filter(claim=rejected, kind="diagnosis_certificate").exists()
    assert OutboxMessage.objects.filter(kind="claims.appeal_opened", to=member.phone).exists()
    page = client.get(url).content.decode()
    assert "复核申请已提交，我们将在 2026年5月8日前答复" in page
    assert "我们将在 2026年5月8日 前答复" in page and 'id="appeal-form"' not in page


def test_a_refused_photo_is_named_and_nothing_is_written(client, member, rejected):
    sign_in(client, member)
    response = client.post(reverse("portal:appeal", args=[rejected.pk]), {
        "reason": "理由", "m_invoice": upload(b"not an image", "发票.png", "image/png")})
    assert response.status_code == 400
    assert "医疗费发票“发票.png”" in response.content.decode()
    assert not Appeal.objects.exists()


def test_a_claim_with_nothing_to_appeal_says_why(client, member, users, file_hospital):
    claim = file_hospital(member)
    sign_in(client, member)
    page = client.get(reverse("portal:appeal", args=[claim.pk])).content.decode()
    assert "只有不予给付或核减了金额的理赔可以申请复核。" in page
    assert 'id="appeal-form"' not in page


def test_another_members_claim_is_404(client, member, other, rejected):
    sign_in(client, other)
    url = reverse("portal:appeal", args=[rejected.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"reason": "冒名"}).status_code == 404
    assert not Appeal.objects.exists()


def test_staff_sign_in_gets_404(client, rejected):
    client.login(username="clerk_a1", password=PASSWORD)
    assert client.get(reverse("portal:appeal", args=[rejected.pk])).status_code == 404
