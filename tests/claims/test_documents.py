"""The documents a union office prints: 理赔申请表, 理赔审批表, 给付通知书 and 付款审批单 —
their Chinese text read back from the PDF, amounts with two places and in words, masked
numbers; each downloadable only by those who may see its object (404 across unions) and
each download on the audit log as 下载文件."""

from __future__ import annotations

import io
import re

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from pypdf import PdfReader

from huzhu.audit.models import AuditEntry
from huzhu.claims.documents import pdfs
from huzhu.claims.models import Claim
from huzhu.claims.payouts.build import build_batch
from huzhu.claims.payouts.settle import mark_paid
from huzhu.claims.templatetags.computation_words import computation_steps
from huzhu.claims.workflow import apply
from huzhu.coverage import pdf
from huzhu.lib.errors import Refused
from huzhu.orgs.models import User
from tests.claims.conftest import TODAY
from tests.conftest import missing
from tests.fixtures import PASSWORD


@pytest.fixture(autouse=True)
def cjk_font():
    try:
        return pdf.font_name()
    except pdf.PdfFontMissing as exc:
        missing(str(exc))


def flat(data: bytes) -> str:
    """All text, whitespace removed: a table cell or a wrapped line may break anywhere."""
    assert data.startswith(b"%PDF-")
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))


def with_account(member, account: str, bank: str = ""):
    member.set_bank_account(account)
    member.bank_name = bank
    member.save()
    return member


def approved(file_hospital, users, member, out_of_pocket="12000.00") -> Claim:
    claim = file_hospital(member, out_of_pocket=out_of_pocket)
    apply(users["clerk_a1"], claim.pk, "submit")
    apply(users["reviewer_da"], claim.pk, "first_pass")
    return apply(users["admin_city"], claim.pk, "approve")


@pytest.fixture
def claims(users, staff, file_hospital):
    m1 = with_account(staff["m1"], "6222020200112345678", "中国工商银行长春分行")
    m2 = with_account(staff["m2"], "6222020200118765432")
    return {"c1": approved(file_hospital, users, m1),  # 12,000 × 2% = 240
            "c2": approved(file_hospital, users, m2, out_of_pocket="15000.00")}  # 300


def test_the_application_form(users, staff, file_hospital):
    member = with_account(staff["m1"], "6222020200112345678", "中国工商银行长春分行")
    claim = file_hospital(member)
    text = flat(pdfs.application_pdf(claim))
    for expected in ("职工互助保障理赔申请表", f"理赔编号：{claim.number}", "登记日期：2026-05-01",
                     f"姓名{member.name}", f"身份证号{member.id_number_masked}",
                     "银行账号6222***********5678", "开户行中国工商银行长春分行",
                     f"申请项目{claim.benefit_name}", "事件日期2026-03-10", "入院日期2026-03-05",
                     "医保报销后个人现金支付12,000.00元", "诊断编码I21.9",
                     "申请人（签字）：", "经办人（签字）：", "日期：年月日"):
        assert expected in text, expected
    assert member.id_number not in text and "6222020200112345678" not in text


def test_the_approval_form_names_the_people_and_the_computation(users, claims):
    claim = claims["c1"]
    text = flat(pdfs.approval_pdf(claim))
    for expected in ("职工互助保障理赔审批表", f"申请人{claim.member.name}", "办理状态已审批待给付",
                     "测算金额240.00元", "核定金额240.00元", "核定金额（大写）人民币贰佰肆拾元整",
                     "经办人（登记）clerk_a12026-05-01", "初审人reviewer_da2026-05-01",
                     "复审人admin_city2026-05-01", "负责人（签字）："):
        assert expected in text, expected
    steps = computation_steps(claim)
    assert steps  # the sentences the claim page shows, numbered, each whole
    for i, step in enumerate(steps, start=1):
        words = re.sub(r"\s+", "", step)
        assert f"{i}.{words}" in text


def test_a_claim_not_yet_reviewed_prints_blank_reviewer_lines(users, staff, file_hospital):
    claim = file_hospital(staff["m1"])
    text = flat(pdfs.approval_pdf(claim))
    assert "测算金额尚未测算" in text and "核定金额尚未核定" in text
    assert "初审人复审人" in text.replace("经办人（登记）clerk_a12026-05-01", "")


def test_the_payment_notice_once_paid(users, claims, changchun):
    claim = claims["c1"]
    with pytest.raises(Refused, match=f"理赔 {claim.number} 目前为“已审批待给付”，"
                                      "确认付款后才能打印给付通知书"):
        pdfs.payment_notice_pdf(claim)
    batch = build_batch(users["finance_city"], changchun)
    mark_paid(users["finance_city"], batch, TODAY)
    claim.refresh_from_db()
    text = flat(pdfs.payment_notice_pdf(claim))
    for expected in ("职工互助保障给付通知书", f"给付批次：{batch.number}",
                     "核定给付240.00元，已于2026-05-01转入您尾号5678的银行账户，请查收",
                     "给付金额240.00元", "给付金额（大写）人民币贰佰肆拾元整",
                     "付款日期2026-05-01", "收款账号尾号5678", "开户行中国工商银行长春分行"):
        assert expected in text, expected
    assert "6222020200112345678" not in text


def test_the_batch_payment_approval(users, claims, changchun):
    batch = build_batch(users["finance_city"], changchun)
    text = flat(pdfs.batch_approval_pdf(batch))
    for expected in ("互助金付款审批单", f"给付批次：{batch.number}", "给付笔数2笔",
                     "付款金额540.00元", "付款金额（大写）人民币伍佰肆拾元整",
                     f"{claims['c1'].benefit_name}2540.00", "合计2540.00",
                     "经办（签字）：", "审核（签字）：", "负责人（签字）："):
        assert expected in text, expected


def _downloaded() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=AuditEntry.Action.FILE_DOWNLOADED)
                .order_by("id"))


def test_the_downloads_are_scoped_and_audited(client, users, claims, changchun, tree):
    claim = claims["c1"]
    assert client.login(username="clerk_a1", password=PASSWORD)
    for name, title in (("application", "理赔申请表"), ("approval", "理赔审批表")):
        response = client.get(reverse(f"documents:{name}", args=[claim.pk]))
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF-")
        entry = _downloaded()[-1]
        assert entry.actor == users["clerk_a1"] and entry.object_id == str(claim.pk)
        assert entry.summary == f"下载{title}（理赔 {claim.number}，{claim.member.name}）"
        assert entry.changes["文件"] == title
    # Not paid yet: back to the claim page with the reason, nothing downloaded.
    early = client.get(reverse("documents:payment-notice", args=[claim.pk]), follow=True)
    assert "确认付款后才能打印给付通知书" in early.content.decode() and len(_downloaded()) == 2
    # Another district's clerk: the claim does not exist for them.
    assert client.login(username="clerk_b1", password=PASSWORD)
    for name in ("application", "approval", "payment-notice"):
        assert client.get(reverse(f"documents:{name}", args=[claim.pk])).status_code == 404
    batch = build_batch(users["finance_city"], changchun)
    url = reverse("documents:batch-approval", args=[batch.pk])
    assert client.get(url).status_code == 403  # a clerk's role never sees batches
    other = User.objects.create_user(username="finance_db", password=PASSWORD,
                                     role="finance", union=tree["db"])
    assert client.login(username=other.username, password=PASSWORD)
    assert client.get(url).status_code == 404
    assert len(_downloaded()) == 2
    assert client.login(username="finance_city", password=PASSWORD)
    page = client.get(reverse("payouts:detail", args=[batch.pk])).content.decode()
    assert f'href="{url}" id="batch-approval-pdf"' in page
    assert client.get(url).status_code == 200
    entry = _downloaded()[-1]
    assert entry.summary == f"下载付款审批单（给付批次 {batch.number}，2 笔，合计 540.00 元）"
    mark_paid(users["finance_city"], batch, TODAY)
    response = client.get(reverse("documents:payment-notice", args=[claim.pk]))
    assert response.status_code == 200
    assert _downloaded()[-1].summary == (f"下载给付通知书（理赔 {claim.number}，"
                                         f"{claim.member.name}）")


def test_the_claim_page_card_of_links(claims):
    claim = claims["c1"]
    card = render_to_string("claims/documents/_links.html", {"claim": claim})
    assert reverse("documents:application", args=[claim.pk]) in card
    assert reverse("documents:approval", args=[claim.pk]) in card
    assert "给付通知书" not in card  # offered once paid
    claim.state = Claim.State.PAID
    assert reverse("documents:payment-notice", args=[claim.pk]) in render_to_string(
        "claims/documents/_links.html", {"claim": claim})
