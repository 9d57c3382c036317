"""The claim workflow: every step and its refusals (wrong role, wrong scope, the same
person twice), the money at submission and approval, one review when the scheme says."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from huzhu.audit.models import AuditEntry
from huzhu.claims import workflow
from huzhu.claims.models import Claim, ClaimMaterial
from huzhu.claims.workflow import ClaimRefused, apply

D = dt.date


def test_a_hospital_claim_goes_from_draft_to_approved_by_two_reviewers(users, staff,
                                                                      file_hospital):
    claim = file_hospital(staff["m1"])
    assert claim.state == "draft" and claim.number.startswith("LP2026")
    claim = apply(users["clerk_a1"], claim.pk, "submit")
    assert claim.state == "submitted" and claim.computed == Decimal("240.00")  # 12,000 × 2%
    assert claim.computation["band"] == "(10000,20000]" and claim.policy_hash
    claim = apply(users["reviewer_da"], claim.pk, "first_pass")
    assert claim.state == "second_review" and claim.first_reviewed_by == users["reviewer_da"]
    claim = apply(users["admin_city"], claim.pk, "approve")
    assert claim.state == "approved" and claim.final == Decimal("240.00")
    history = list(claim.history.values_list("action", flat=True))
    assert history == ["file", "submit", "first_pass", "approve"]
    assert AuditEntry.objects.filter(action=AuditEntry.Action.CLAIM_CHANGED).count() == 3


def test_four_eyes(users, staff, file_hospital):
    claim = file_hospital(staff["m1"], user="reviewer_da")
    apply(users["reviewer_da"], claim.pk, "submit")
    with pytest.raises(ClaimRefused, match="自己提交"):
        apply(users["reviewer_da"], claim.pk, "first_pass")
    apply(users["admin_city"], claim.pk, "first_pass")
    with pytest.raises(ClaimRefused, match="您已做过初审，复审须由另一位审核人员办理"):
        apply(users["admin_city"], claim.pk, "approve")
    with pytest.raises(ClaimRefused, match="自己提交"):
        apply(users["reviewer_da"], claim.pk, "approve")
    assert Claim.objects.get(pk=claim.pk).state == "second_review"


def test_wrong_role_and_wrong_scope_are_refused(users, staff, file_hospital):
    claim = file_hospital(staff["m1"])
    apply(users["clerk_a1"], claim.pk, "submit")
    with pytest.raises(ClaimRefused, match="角色"):
        apply(users["clerk_a1"], claim.pk, "first_pass")
    with pytest.raises(ClaimRefused, match="角色"):
        apply(users["finance_city"], claim.pk, "first_pass")
    other = users["clerk_b1"]
    with pytest.raises(ClaimRefused, match="管辖范围"):
        apply(other, claim.pk, "withdraw")
    with pytest.raises(ClaimRefused, match=r"^已是“待初审”状态，未重复办理$"):
        apply(users["clerk_a1"], claim.pk, "submit")  # already submitted: sent twice
    with pytest.raises(ClaimRefused, match=r"^理赔当前为“待初审”，不能复审通过$"):
        apply(users["admin_city"], claim.pk, "approve")


def test_materials_are_required_before_review(users, staff, file_hospital):
    claim = file_hospital(staff["m1"], materials=False)
    expected = "缺少申请材料：医疗费发票、出院小结、医保结算单、身份证、银行卡"
    with pytest.raises(ClaimRefused, match=expected):
        apply(users["clerk_a1"], claim.pk, "submit")


def test_a_late_claim_needs_a_reviewers_exception(users, staff, file_hospital, monkeypatch):
    from django.utils import timezone

    claim = file_hospital(staff["m1"], day=D(2026, 1, 5))
    monkeypatch.setattr(timezone, "localdate", lambda: D(2026, 3, 10))  # 64 days > 60
    with pytest.raises(ClaimRefused, match="已超过申请期限（2026-03-06 前）"):
        apply(users["clerk_a1"], claim.pk, "submit")
    with pytest.raises(ClaimRefused, match="只有审核员"):
        apply(users["clerk_a1"], claim.pk, "late_exception", reason="住院期间无法申请")
    apply(users["reviewer_da"], claim.pk, "late_exception", reason="住院期间无法申请")
    assert apply(users["clerk_a1"], claim.pk, "submit").state == "submitted"


def test_a_reviewer_may_lower_never_raise_and_must_say_why(users, staff, file_hospital):
    claim = file_hospital(staff["m1"])
    apply(users["clerk_a1"], claim.pk, "submit")
    with pytest.raises(ClaimRefused, match="不能高于测算金额"):
        apply(users["reviewer_da"], claim.pk, "first_pass", amount="240.01")
    with pytest.raises(ClaimRefused, match="须写明原因"):
        apply(users["reviewer_da"], claim.pk, "first_pass", amount="200.00")
    claim = apply(users["reviewer_da"], claim.pk, "first_pass", amount="200.00",
                  note="部分费用不属于报销范围")
    claim = apply(users["admin_city"], claim.pk, "approve")
    assert (claim.computed, claim.final) == (Decimal("240.00"), Decimal("200.00"))
    assert claim.reduction_reason == "部分费用不属于报销范围"


def test_one_review_suffices_up_to_the_schemes_limit(users, staff, file_hospital, changchun):
    changchun.single_review_upto = Decimal("5000.00")
    changchun.save()
    small = file_hospital(staff["m1"])
    apply(users["clerk_a1"], small.pk, "submit")
    assert apply(users["reviewer_da"], small.pk, "first_pass").state == "approved"
    big = file_hospital(staff["m2"], out_of_pocket="400000.00")  # 10% = 40,000
    apply(users["clerk_a1"], big.pk, "submit")
    assert apply(users["reviewer_da"], big.pk, "first_pass").state == "second_review"


def test_approval_recomputes_against_what_was_approved_since(users, staff, file_hospital):
    """Two large claims of one member in a year, each computing 40,000 alone: the yearly
    cap of 50,000 leaves 10,000 for the second, whatever order they were submitted."""
    first = file_hospital(staff["m1"], out_of_pocket="400000.00", day=D(2026, 4, 1))
    second = file_hospital(staff["m1"], out_of_pocket="400000.00", day=D(2026, 4, 10))
    for c in (first, second):
        apply(users["clerk_a1"], c.pk, "submit")
        apply(users["reviewer_da"], c.pk, "first_pass")
    assert Claim.objects.get(pk=second.pk).computed == Decimal("40000.00")
    assert apply(users["admin_city"], first.pk, "approve").final == Decimal("40000.00")
    second = apply(users["admin_city"], second.pk, "approve")
    assert second.final == Decimal("10000.00") and second.computation["cap"] == "cap_per_year"
    third = file_hospital(staff["m1"], out_of_pocket="400000.00", day=D(2026, 4, 20))
    apply(users["clerk_a1"], third.pk, "submit")
    apply(users["reviewer_da"], third.pk, "first_pass")
    capped = r"本次可给付 0\.00 元（超过每人每年累计上限（50,000\.00 元））"
    with pytest.raises(ClaimRefused, match=capped):
        apply(users["admin_city"], third.pk, "approve")


def test_return_reject_and_withdraw(users, staff, file_hospital):
    claim = file_hospital(staff["m1"])
    apply(users["clerk_a1"], claim.pk, "submit")
    with pytest.raises(ClaimRefused, match="请选择需要补充的材料"):
        apply(users["reviewer_da"], claim.pk, "return")
    claim = apply(users["reviewer_da"], claim.pk, "return", missing=["invoice"], note="发票不清晰")
    assert claim.state == "returned" and claim.missing_materials == ["invoice"]
    # The invoice uploaded before the return does not answer it: a new one must come.
    with pytest.raises(ClaimRefused, match="缺少申请材料：医疗费发票"):
        apply(users["clerk_a1"], claim.pk, "submit")
    ClaimMaterial.objects.create(claim=claim, kind="invoice", file_name="发票（重拍）.pdf",
                                 stored_path="/nonexistent", content_type="application/pdf",
                                 size=1, sha256="1" * 64, uploaded_by=users["clerk_a1"])
    claim = apply(users["clerk_a1"], claim.pk, "submit")
    with pytest.raises(ClaimRefused, match="请写明不予给付的具体说明"):
        apply(users["reviewer_da"], claim.pk, "reject", reject_code="duplicate")
    claim = apply(users["reviewer_da"], claim.pk, "reject", reject_code="duplicate",
                  note="与 LP2026 重复")
    assert claim.state == "rejected" and claim.final is None
    other = file_hospital(staff["m2"])
    assert apply(users["clerk_a1"], other.pk, "withdraw").state == "withdrawn"


def test_the_allowed_actions_follow_the_table(users, staff, file_hospital):
    claim = file_hospital(staff["m1"])
    assert [t.name for t in workflow.allowed(users["clerk_a1"], claim)] == ["submit",
                                                                           "withdraw"]
    assert workflow.allowed(users["auditor_city"], claim) == []
    claim = apply(users["clerk_a1"], claim.pk, "submit")
    assert [t.name for t in workflow.allowed(users["reviewer_da"], claim)] == [
        "first_pass", "return", "reject"]


def test_state_changes_write_sms_to_the_outbox(users, staff, file_hospital):
    from huzhu.members.models import Member
    from huzhu.notify.models import OutboxMessage

    Member.objects.filter(pk=staff["m1"].pk).update(phone="13800001111")
    claim = file_hospital(Member.objects.get(pk=staff["m1"].pk))
    apply(users["clerk_a1"], claim.pk, "submit")
    apply(users["reviewer_da"], claim.pk, "first_pass")
    apply(users["admin_city"], claim.pk, "approve")
    kinds = list(OutboxMessage.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["claims.submitted", "claims.approved"]
    assert "核定给付 240.00 元" in OutboxMessage.objects.get(kind="claims.approved").text


def test_a_return_for_a_material_the_benefit_does_not_list_is_still_enforced(
        client, users, staff, file_hospital):
    """Returned for 病历 (not among the hospital subsidy's materials): the page and the
    submit step both say it is missing until one is uploaded."""
    from django.urls import reverse

    from tests.fixtures import PASSWORD

    claim = file_hospital(staff["m1"])
    apply(users["clerk_a1"], claim.pk, "submit")
    apply(users["reviewer_da"], claim.pk, "return", missing=["medical_record"], note="补病历")
    with pytest.raises(ClaimRefused, match="缺少申请材料：病历"):
        apply(users["clerk_a1"], claim.pk, "submit")
    assert client.login(username="clerk_a1", password=PASSWORD)
    page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert "所需材料已齐全" not in page and "病历" in page
    ClaimMaterial.objects.create(claim=claim, kind="medical_record", file_name="病历.pdf",
                                 stored_path="/nonexistent", content_type="application/pdf",
                                 size=1, sha256="2" * 64, uploaded_by=users["clerk_a1"])
    assert apply(users["clerk_a1"], claim.pk, "submit").state == "submitted"
