"""A member files a hospital claim with two photographs; it reaches the grassroots
clerk's queue as a 会员自助申请, and the clerk who submits it becomes its filer."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from huzhu.audit.models import AuditEntry
from huzhu.claims import workflow
from huzhu.claims.models import Claim, ClaimMaterial
from huzhu.portal import filing
from tests.claims.conftest import add_materials
from tests.claims.materials.test_materials import jpeg, png
from tests.fixtures import PASSWORD
from tests.portal.conftest import sign_in

pytestmark = pytest.mark.django_db
D = dt.date
DAY = "2026-03-10"


def _key(scheme) -> str:
    return f"{scheme.code}:hospital"


def _file(client, scheme, **files):
    data = {"day": DAY, "benefit": _key(scheme), "event_date": DAY, "admit_date": "2026-03-05",
            "hospital": "吉林大学第一医院", "invoice_number": "INV-9001",
            "out_of_pocket": "12000.00", **files}
    return client.post(f"/member/claims/new/?day={DAY}&benefit={_key(scheme)}", data)


def test_offers_are_the_benefits_covering_the_day(client, member, changchun):
    sign_in(client, member)
    page = client.get(f"/member/claims/new/?day={DAY}").content.decode()
    assert "住院医疗补贴" in page and "非工伤意外伤害补贴" in page
    form = client.get(f"/member/claims/new/?day={DAY}&benefit={_key(changchun)}")
    page = form.content.decode()
    assert 'accept="image/*" capture="environment" multiple' in page
    assert "出院日期" in page and "医保报销后个人现金支付（元）" in page
    assert "医疗费发票" in page and "出院小结" in page
    assert "诊断编码" not in page  # the clerk codes the diagnosis from the photographs


def test_member_files_clerk_sees_it_and_submits(client, member, users, changchun):
    sign_in(client, member)
    response = _file(client, changchun,
                     m_invoice=SimpleUploadedFile("IMG_0001.jpg", jpeg(), "image/jpeg"),
                     m_discharge_summary=SimpleUploadedFile("IMG_0002.png", png(), "image/png"))
    claim = Claim.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/member/claims/{claim.pk}/"
    assert claim.state == Claim.State.DRAFT and claim.source == Claim.Source.MEMBER
    assert claim.member == member and claim.benefit == "hospital"
    assert str(claim.out_of_pocket) == "12000.00" and claim.admit_date == D(2026, 3, 5)
    assert claim.filed_by.username == workflow.MEMBER_FILER and not claim.filed_by.is_active
    kinds = sorted(ClaimMaterial.objects.filter(claim=claim).values_list("kind", "content_type"))
    assert kinds == [("discharge_summary", "image/png"), ("invoice", "image/jpeg")]
    assert AuditEntry.objects.filter(action=AuditEntry.Action.MATERIAL_UPLOADED).count() == 2
    page = client.get(f"/member/claims/{claim.pk}/").content.decode()
    assert "提交申请" in page and "本人" in page
    assert '<p class="fs-5" id="claim-state">待单位工会核对</p>' in page
    assert "草稿" not in page

    staff = client.__class__()
    staff.login(username="clerk_a1", password=PASSWORD)
    queue = staff.get("/claims/").content.decode()
    assert f'id="member-filed-{claim.pk}">会员自助申请' in queue
    only = staff.get("/claims/?source=member").content.decode()
    assert f"claim-row-{claim.pk}" in only
    manual = staff.get("/claims/?source=manual").content.decode()
    assert f"claim-row-{claim.pk}" not in manual
    # A clerk of another union does not see it.
    far = client.__class__()
    far.login(username="clerk_b1", password=PASSWORD)
    assert f"claim-row-{claim.pk}" not in far.get("/claims/").content.decode()

    clerk = users["clerk_a1"]
    add_materials(claim, clerk)  # the clerk completes what the member did not bring
    workflow.apply(clerk, claim.pk, "submit")
    claim.refresh_from_db()
    assert claim.state == Claim.State.SUBMITTED and claim.filed_by == clerk
    assert str(claim.computed) == "240.00"
    assert claim.history.get(action="submit").actor == clerk


def test_reviewer_who_submits_a_member_claim_may_not_review_it(client, member, users,
                                                                changchun):
    sign_in(client, member)
    _file(client, changchun)
    claim = Claim.objects.get()
    reviewer = users["reviewer_da"]
    add_materials(claim, users["clerk_a1"])
    assert workflow.why_not(reviewer, claim, "submit") is None
    workflow.apply(reviewer, claim.pk, "submit")
    claim.refresh_from_db()
    assert claim.filed_by == reviewer
    assert workflow.why_not(reviewer, claim, "first_pass") == (
        "这笔理赔由您登记，不能对自己提交的理赔初审通过，须由另一位审核人员办理（双人审核）")


def test_clerk_may_withdraw_a_member_draft_until_taken(client, member, users, changchun):
    sign_in(client, member)
    _file(client, changchun)
    claim = Claim.objects.get()
    assert workflow.why_not(users["clerk_a1"], claim, "withdraw") is None
    assert workflow.why_not(users["clerk_b1"], claim, "withdraw") == "该理赔不在您的管辖范围内"


def test_a_manual_claim_still_needs_its_own_filer(member, users, file_hospital):
    claim = file_hospital(member)
    other_clerk = users["clerk_a1"].__class__.objects.create_user(
        username="clerk_a1b", password=PASSWORD, role="clerk", union=users["clerk_a1"].union)
    assert workflow.why_not(other_clerk, claim, "withdraw") == \
        "只有经办人本人（clerk_a1）或管理员可以撤回"


def test_a_refused_photo_leaves_nothing(client, member, changchun, private_uploads):
    sign_in(client, member)
    response = _file(client, changchun,
                     m_invoice=SimpleUploadedFile("IMG_0001.jpg", jpeg(), "image/jpeg"),
                     m_discharge_summary=SimpleUploadedFile("virus.jpg", b"MZ\x90\x00" * 40,
                                                            "image/jpeg"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "出院小结“virus.jpg”：文件内容不是 PDF、JPEG 或 PNG" in page
    assert not Claim.objects.exists() and not ClaimMaterial.objects.exists()
    assert not [p for p in private_uploads.rglob("*") if p.is_file()]


def test_size_limit_is_the_staff_one(client, member, changchun, settings):
    settings.HUZHU_MATERIAL_MAX_BYTES = 100
    sign_in(client, member)
    response = _file(client, changchun,
                     m_invoice=SimpleUploadedFile("IMG_0001.jpg", jpeg() + b"\x00" * 200,
                                                  "image/jpeg"))
    assert "医疗费发票“IMG_0001.jpg”：文件超过 100 字节" in response.content.decode()
    assert not Claim.objects.exists()


def test_same_photo_twice_is_refused(client, member, changchun):
    sign_in(client, member)
    response = _file(client, changchun,
                     m_invoice=SimpleUploadedFile("a.jpg", jpeg(), "image/jpeg"),
                     m_discharge_summary=SimpleUploadedFile("b.jpg", jpeg(), "image/jpeg"))
    assert "出院小结“b.jpg”与“a.jpg”是同一张照片" in response.content.decode()
    assert not Claim.objects.exists()


def test_member_filer_is_one_inactive_account(db):
    first, second = filing.member_filer(), filing.member_filer()
    assert first == second and not first.is_active and not first.has_usable_password()


def test_select_all_under_the_member_filter_takes_only_member_claims(client, member, users,
                                                                     changchun, file_hospital):
    """选择全部 under 只看会员自助申请 keeps the filter: a clerk's own draft is not swept in."""
    from huzhu.claims import bulk

    sign_in(client, member)
    _file(client, changchun,
          m_invoice=SimpleUploadedFile("IMG_0001.jpg", jpeg(), "image/jpeg"))
    mine = Claim.objects.get(source=Claim.Source.MEMBER)
    other = file_hospital(member.__class__.objects.exclude(pk=member.pk)
                          .filter(union=member.union).first() or member, day=D(2026, 3, 12))
    staff = client.__class__()
    staff.login(username="clerk_a1", password=PASSWORD)
    page = staff.get("/claims/", {"source": "member", "state": "draft"}).content.decode()
    assert 'id="bulk-all-matching"' in page
    assert '<input type="hidden" name="source" value="member">' in page
    from django.http import QueryDict

    params = QueryDict("source=member&state=draft")
    assert bulk.matching_ids(users["clerk_a1"], params) == [mine.pk] != [other.pk]
    assert bulk.described(users["clerk_a1"], params).endswith("来源：会员自助申请）")
