"""复核 (appeals): opened by a member or by a clerk after a call, within 60 days of the
rejection or the lowering, one open per claim, due 5 working days later; decided by a
reviewer who took no part in the original decision; a change goes through the engine
(never above it) and a raised paid claim is paid only the difference by the next batch."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from huzhu.audit.models import AuditEntry
from huzhu.claims import money_audit, queue
from huzhu.claims.appeals import AppealRefused, add_working_days, decide, open_appeal
from huzhu.claims.models import Appeal, Claim, ClaimEvent, ClaimMaterial, Payout
from huzhu.claims.payouts import build
from huzhu.claims.payouts.settle import mark_paid
from huzhu.claims.workflow import apply
from huzhu.coverage import ledger
from huzhu.notify.models import OutboxMessage
from huzhu.orgs.models import User
from tests.claims.materials.test_materials import png, upload
from tests.fixtures import PASSWORD

D = dt.date
TODAY = D(2026, 5, 1)  # a Friday (tests/claims/conftest.py)


@pytest.fixture(autouse=True)
def private_uploads(settings, tmp_path):
    settings.UPLOAD_ROOT = tmp_path / "uploads"
    return settings.UPLOAD_ROOT


@pytest.fixture
def third(users, tree):
    """A reviewer who took no part in any claim below."""
    users["reviewer_x"] = User.objects.create_user(username="reviewer_x", password=PASSWORD,
                                                   role="reviewer", union=tree["city"])
    return users["reviewer_x"]


def with_account(member, phone: str = "13800138001", account: str = "6222020200112345678"):
    member.set_bank_account(account)
    member.phone = phone
    member.save()
    return member


@pytest.fixture
def rejected(users, staff, file_hospital):
    """12,000 out of pocket (the engine: 2% = 240.00), rejected by reviewer_da."""
    claim = file_hospital(with_account(staff["m1"]))
    apply(users["clerk_a1"], claim.pk, "submit")
    return apply(users["reviewer_da"], claim.pk, "reject", reject_code="not_eligible",
                 note="不符合给付条件")


@pytest.fixture
def lowered(users, staff, file_hospital):
    """The engine's 240.00 lowered to 200.00 at 初审, approved by admin_city."""
    claim = file_hospital(with_account(staff["m2"], "13800138002", "6222020200118765432"))
    apply(users["clerk_a1"], claim.pk, "submit")
    apply(users["reviewer_da"], claim.pk, "first_pass", amount="200.00", note="发票缺一张")
    claim = apply(users["admin_city"], claim.pk, "approve")
    assert (claim.computed, claim.final) == (Decimal("240.00"), Decimal("200.00"))
    return claim


def head(claim: Claim) -> str:
    return (f"【{claim.scheme.union.name}】{claim.member.name}您好，"
            f"您的{claim.benefit_name}申请（{claim.number}）")


def test_due_date_counts_working_days():
    assert add_working_days(D(2026, 5, 1), 5) == D(2026, 5, 8)  # Fri → next Fri
    assert add_working_days(D(2026, 5, 4), 5) == D(2026, 5, 11)  # Mon → next Mon
    assert add_working_days(D(2026, 5, 2), 1) == D(2026, 5, 4)  # Sat → Mon


def test_member_opens_an_appeal_with_a_photo_and_is_told(rejected, users):
    member = rejected.member
    appeal = open_appeal(member, rejected, "我确实住院了，补充病历",
                         [("medical_record", upload(png(), "病历.png", "image/png"))])
    assert appeal.opened_by_member and appeal.opened_by is None
    assert (appeal.state, appeal.due_on, appeal.original_state) == ("open", D(2026, 5, 8),
                                                                   "rejected")
    material = ClaimMaterial.objects.get(claim=rejected, kind="medical_record")
    assert material.file_name == "病历.png"
    sms = OutboxMessage.objects.get(kind="claims.appeal_opened")
    assert sms.to == member.phone
    assert sms.text == f"{head(rejected)}的复核申请已受理，我们将在 2026年5月8日前答复。"
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.CLAIM_CHANGED).latest("pk")
    assert entry.summary == (f"理赔 {rejected.number}（{member.name} {rejected.benefit_name}）："
                             "会员本人申请复核，办理期限 2026-05-08")
    assert entry.changes["reason"] == "我确实住院了，补充病历"
    # Another member's claim is not theirs to appeal; a bad file changes nothing.
    with pytest.raises(AppealRefused, match="只能对本人的理赔申请复核"):
        open_appeal(_other_member(rejected), rejected, "理由")


def _other_member(claim: Claim):
    from huzhu.members.models import Member
    return Member.objects.exclude(pk=claim.member_id).first()


def test_a_refused_file_leaves_no_appeal(rejected):
    with pytest.raises(AppealRefused, match=re.escape("病历“假.png”")):
        open_appeal(rejected.member, rejected, "理由",
                    [("medical_record", upload(b"not an image", "假.png", "image/png"))])
    assert not Appeal.objects.exists()
    assert not OutboxMessage.objects.filter(kind="claims.appeal_opened").exists()


def test_within_sixty_days_only(rejected, users):
    ClaimEvent.objects.filter(claim=rejected, action="reject").update(
        at=ClaimEvent.objects.get(claim=rejected, action="reject").at - dt.timedelta(days=61))
    with pytest.raises(AppealRefused, match=r"已超过申请复核的期限（原决定作出后 60 天内，"
                                            r"即 2026-04-30 前）"):
        open_appeal(users["clerk_a1"], rejected, "会员来电")
    ClaimEvent.objects.filter(claim=rejected, action="reject").update(
        at=ClaimEvent.objects.get(claim=rejected, action="reject").at + dt.timedelta(days=1))
    assert open_appeal(users["clerk_a1"], rejected, "会员来电").opened_by == users["clerk_a1"]


def test_only_a_rejection_or_a_lowering_is_appealed(users, staff, file_hospital):
    claim = file_hospital(with_account(staff["m3"], "13800138003", "6217000010012345678"))
    apply(users["clerk_a1"], claim.pk, "submit")
    apply(users["reviewer_da"], claim.pk, "first_pass")
    claim = apply(users["admin_city"], claim.pk, "approve")  # the engine's 240.00
    with pytest.raises(AppealRefused, match="只有不予给付或核减了金额的理赔可以申请复核"):
        open_appeal(claim.member, claim, "想多要")


def test_the_schemes_own_time_limit_sets_the_due_date(rejected, client, users):
    """复核办结时限 is the scheme's (5 working days unless it says otherwise), shown on
    the scheme's page."""
    scheme = rejected.scheme
    scheme.appeal_working_days = 10
    scheme.save(update_fields=["appeal_working_days"])
    appeal = open_appeal(rejected.member, rejected, "住院属实")
    assert appeal.due_on == D(2026, 5, 15)  # ten working days after Friday 1 May
    client.force_login(users["admin_city"])
    page = client.get(f"/coverage/{scheme.code}/").content.decode()
    assert "会员申请复核后 10 个工作日内作出复核决定" in page


def test_one_open_appeal_per_claim(rejected, users):
    first = open_appeal(rejected.member, rejected, "理由一")
    with pytest.raises(AppealRefused, match="这笔理赔已有正在办理的复核申请"):
        open_appeal(users["clerk_a1"], rejected, "理由二")
    with pytest.raises(IntegrityError), transaction.atomic():
        Appeal.objects.create(claim=rejected, reason="直接写库", due_on=TODAY,
                              original_state="rejected")
    assert Appeal.objects.get() == first


def test_four_eyes_original_people_may_not_decide(lowered, users, third):
    appeal = open_appeal(lowered.member, lowered, "少给了")
    for name, why in (("reviewer_da", "您参与过这笔理赔的原决定"),
                      ("admin_city", "您参与过这笔理赔的原决定"),
                      ("clerk_a1", "只有审核员可以办理复核")):
        with pytest.raises(AppealRefused, match=why):
            decide(users[name], appeal, "upheld", "维持")
    done = decide(third, appeal, "upheld", "核减有据：发票缺一张")
    assert (done.state, done.decided_by) == ("upheld", third)
    with pytest.raises(AppealRefused, match="该复核已办结（维持原决定）"):
        decide(third, done, "changed", "再改")
    sms = OutboxMessage.objects.get(kind="claims.appeal_decided")
    assert sms.text == f"{head(lowered)}经复核维持原决定。理由：核减有据：发票缺一张"
    # The decided decision is not appealed a second time.
    with pytest.raises(AppealRefused, match="这一决定已经复核过"):
        open_appeal(lowered.member, lowered, "再申请")


def test_a_filer_who_is_a_reviewer_may_not_decide(rejected, users, tree, third):
    appeal = open_appeal(rejected.member, rejected, "理由")
    # The clerk who submitted it, promoted since, still took part.
    users["clerk_a1"].role = "reviewer"
    users["clerk_a1"].save()
    with pytest.raises(AppealRefused, match="您参与过这笔理赔的原决定"):
        decide(users["clerk_a1"], appeal, "upheld", "维持")


def test_a_rejection_changed_is_approved_at_the_engines_amount_never_above(rejected, third):
    appeal = open_appeal(rejected.member, rejected, "住院属实")
    too_much = re.escape("改定金额 300.00 元不能高于重新测算的金额 240.00 元")
    with pytest.raises(AppealRefused, match=too_much):
        decide(third, appeal, "changed", "材料属实", amount="300")
    assert Claim.objects.get(pk=rejected.pk).state == "rejected"
    done = decide(third, appeal, "changed", "补充病历证明住院属实")
    claim = Claim.objects.get(pk=rejected.pk)
    assert (claim.state, claim.final, claim.computed) == ("approved", Decimal("240.00"),
                                                         Decimal("240.00"))
    assert (claim.reject_code, done.new_amount, done.state) == ("", Decimal("240.00"), "changed")
    event = claim.history.get(action="appeal")
    assert (event.from_state, event.to_state, event.actor) == ("rejected", "approved", third)
    assert event.note == "复核改变原决定：补充病历证明住院属实；核定 240.00 元（原不予给付）"
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.CLAIM_CHANGED).latest("pk")
    assert entry.summary == (f"理赔 {claim.number}（{claim.member.name} {claim.benefit_name}）："
                             "复核改变原决定：补充病历证明住院属实；核定 240.00 元（原不予给付）")
    assert entry.changes["state"] == ["不予给付", "已审批待给付"]
    assert entry.changes["amount"] == [None, "240.00"]
    sms = OutboxMessage.objects.get(kind="claims.appeal_decided")
    assert sms.text == (f"{head(claim)}经复核改为核定给付 240.00 元，将尽快转入您的银行账户。"
                        "理由：补充病历证明住院属实")


def test_a_rejection_changed_to_a_lower_typed_amount(rejected, third):
    appeal = open_appeal(rejected.member, rejected, "住院属实")
    decide(third, appeal, "changed", "部分发票不予认可", amount="180.50")
    claim = Claim.objects.get(pk=rejected.pk)
    assert (claim.final, claim.reduction_reason) == (Decimal("180.50"), "部分发票不予认可")


def test_a_raised_paid_claim_pays_only_the_difference(lowered, users, third, changchun):
    finance = users["finance_city"]
    first = build.build_batches(finance, changchun).batches[0]
    assert mark_paid(finance, first, TODAY) == 1
    assert Claim.objects.get(pk=lowered.pk).state == "paid"
    appeal = open_appeal(users["clerk_a1"], lowered, "会员来电：发票已补齐")
    with pytest.raises(AppealRefused, match=re.escape("改定金额须高于原核定金额 200.00 元")):
        decide(third, appeal, "changed", "不变", amount="200.00")
    decide(third, appeal, "changed", "补齐的发票属实")
    claim = Claim.objects.get(pk=lowered.pk)
    assert (claim.state, claim.final) == ("approved", Decimal("240.00"))
    sms = OutboxMessage.objects.get(kind="claims.appeal_decided")
    assert sms.text == (f"{head(claim)}经复核改为核定给付 240.00 元，已给付 200.00 元，差额 "
                        "40.00 元将尽快转入您的银行账户。理由：补齐的发票属实")
    assert claim.history.get(action="appeal").note == (
        "复核改变原决定：补齐的发票属实；核定 240.00 元（原核定 200.00 元，已给付 200.00 元，"
        "待补付差额 40.00 元）")
    # The books hold while the difference is owed, and the next batch pays only it.
    assert all(c.ok for c in money_audit.run()), [c.findings for c in money_audit.run()]
    assert build.readiness(finance, changchun).total == Decimal("40.00")
    second = build.build_batches(finance, changchun).batches[0]
    assert list(second.payouts.values_list("claim_id", "amount")) == [
        (claim.pk, Decimal("40.00"))]
    assert mark_paid(finance, second, TODAY) == 1
    claim = Claim.objects.get(pk=lowered.pk)
    assert claim.state == "paid"
    assert sorted(Payout.objects.filter(claim=claim, state="paid")
                  .values_list("amount", flat=True)) == [Decimal("40.00"), Decimal("200.00")]
    # The member is told of the difference, not of the whole amount a second time.
    told = OutboxMessage.objects.filter(kind="claims.paid").order_by("pk").last()
    assert told is not None and told.text == (
        f"{head(claim)}已补发差额 40.00 元（累计给付 240.00 元），请查收。")
    assert all(c.ok for c in money_audit.run()), [c.findings for c in money_audit.run()]
    assert all(c.ok for c in ledger.check_all())
    # Paid in full: nothing is owed, and no further batch pays it again.
    assert not build.ready_claims(finance, changchun).filter(pk=claim.pk).exists()


def test_the_audit_names_a_claim_paid_more_than_its_final(lowered, users, changchun):
    finance = users["finance_city"]
    batch = build.build_batches(finance, changchun).batches[0]
    mark_paid(finance, batch, TODAY)
    other = build._new_batch(finance, changchun)
    Payout.objects.create(batch=other, claim=lowered, amount=Decimal("40.00"), state="paid",
                          paid_on=TODAY)
    check = next(c for c in money_audit.run() if c.name == "付款与核定金额、日期一致")
    assert check.findings[0] == f"理赔 {lowered.number} 付款 240.00 元，核定金额为 200.00 元"


def test_in_batch_claims_wait_for_the_bank(lowered, users, third, changchun):
    build.build_batches(users["finance_city"], changchun)
    appeal = open_appeal(lowered.member, lowered, "少给了")
    with pytest.raises(AppealRefused, match="正在给付批次中等待银行付款结果"):
        decide(third, appeal, "changed", "改")


def test_queue_lists_overdue_first_and_marks_them(client, rejected, lowered, users, third):
    late = open_appeal(lowered.member, lowered, "少给了")
    fresh = open_appeal(rejected.member, rejected, "住院属实")
    Appeal.objects.filter(pk=late.pk).update(due_on=D(2026, 4, 28))
    Appeal.objects.filter(pk=fresh.pk).update(due_on=D(2026, 5, 6))
    rows = queue.appeal_rows(third)
    assert [(r.appeal.pk, r.overdue) for r in rows] == [(late.pk, True), (fresh.pk, False)]
    client.login(username="reviewer_x", password=PASSWORD)
    page = client.get(reverse("claims:appeals")).content.decode()
    assert page.index(f'id="appeal-row-{late.pk}"') < page.index(f'id="appeal-row-{fresh.pk}"')
    assert f'id="appeal-overdue-{late.pk}"' in page
    assert f'id="appeal-overdue-{fresh.pk}"' not in page
    # The queue's other tabs link to it; a clerk of another union sees none of them.
    assert 'id="state-appeals"' in client.get(reverse("claims:queue")).content.decode()
    assert queue.appeal_rows(users["clerk_b1"]) == []


def test_claim_page_decides_and_a_clerk_opens_for_a_caller(client, rejected, users, third):
    client.login(username="clerk_a1", password=PASSWORD)
    page = client.get(reverse("claims:detail", args=[rejected.pk])).content.decode()
    assert "为会员申请复核" in page and "可申请至 2026-06-30" in page
    client.post(reverse("claims:appeal-open", args=[rejected.pk]), {"reason": "会员来电"})
    appeal = Appeal.objects.get(claim=rejected)
    assert appeal.opened_by == users["clerk_a1"] and not appeal.opened_by_member
    client.login(username="reviewer_da", password=PASSWORD)
    page = client.get(reverse("claims:detail", args=[rejected.pk])).content.decode()
    assert 'id="appeal-refusal"' in page and "您参与过这笔理赔的原决定" in page
    client.login(username="reviewer_x", password=PASSWORD)
    page = client.get(reverse("claims:detail", args=[rejected.pk])).content.decode()
    assert 'id="appeal-decide"' in page and "办理期限 2026-05-08" in page
    client.post(reverse("claims:appeal-decide", args=[appeal.pk]),
                {"decision": "changed", "reason": "住院属实", "amount": ""})
    assert Claim.objects.get(pk=rejected.pk).final == Decimal("240.00")
    page = client.get(reverse("claims:detail", args=[rejected.pk])).content.decode()
    assert "改变原决定</strong>，核定 240.00 元" in page
