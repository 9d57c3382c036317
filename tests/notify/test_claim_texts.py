"""The claims' SMS texts in the outbox, the payout audit entries and pages, with amounts
a reviewer lowered to fen: every amount reads with exactly two places (SQLite's float
sums read "880.300000000000" before), and the texts are the ones the member gets."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from huzhu.audit.models import AuditEntry
from huzhu.claims import notifications
from huzhu.claims.models import Claim
from huzhu.claims.payouts.bank_file import export_batch
from huzhu.claims.payouts.build import build_batch
from huzhu.claims.payouts.settle import batch_totals, mark_paid
from huzhu.claims.workflow import apply
from huzhu.coverage import ledger
from huzhu.notify.models import OutboxMessage
from tests.claims.conftest import (  # noqa: F401  (fixtures)
    admin,
    changchun,
    file_hospital,
    free_scheme,
    staff,
    today,
)
from tests.fixtures import PASSWORD

pytestmark = pytest.mark.django_db
AMOUNT = re.compile(r"(?<![\d.,])(\d[\d,]*(?:\.\d+)?)\s*元")
READ = re.compile(r"\d{1,3}(?:,\d{3})*\.\d{2}")  # 1,234.50: grouped, two places


def bad_amounts(text: str) -> list[str]:
    """The amounts before 元 in ``text`` that do not read like 1,234.50."""
    return [a for a in AMOUNT.findall(text) if not READ.fullmatch(a)]


def _approved(file_hospital, users, member, phone: str, account: str, out_of_pocket: str,  # noqa: F811
              final: str) -> Claim:
    member.phone = phone
    member.set_bank_account(account)
    member.save()
    claim = file_hospital(member, out_of_pocket=out_of_pocket)
    apply(users["clerk_a1"], claim.pk, "submit")
    apply(users["reviewer_da"], claim.pk, "first_pass", amount=Decimal(final),
          note="按发票核减")
    return apply(users["admin_city"], claim.pk, "approve")


@pytest.fixture
def paid(users, staff, file_hospital, changchun):  # noqa: F811
    claims = [
        _approved(file_hospital, users, staff["m1"], "13800138001", "6222020200112345678",
                  "12000.00", "0.01"),
        _approved(file_hospital, users, staff["m2"], "13800138002", "6222020200118765432",
                  "15000.00", "0.29"),
        _approved(file_hospital, users, staff["m3"], "13800138003", "6217000010012345678",
                  "44000.00", "880.00"),
    ]
    finance = users["finance_city"]
    batch = build_batch(finance, changchun)
    export_batch(finance, batch, "csv")
    mark_paid(finance, batch, dt.date(2026, 5, 1))
    return claims, batch


def test_the_members_sms_say_two_places(paid):
    texts = {m.to: [] for m in OutboxMessage.objects.all()}
    for m in OutboxMessage.objects.order_by("id"):
        texts[m.to].append(m.text)
    approved = [t for t in texts["13800138003"] if "已审批" in t]
    assert approved and "已审批，核定给付 880.00 元，将尽快转入您的银行账户。" in approved[0]
    assert any("已给付 0.01 元，请查收。" in t for t in texts["13800138001"])
    assert any("已给付 0.29 元，请查收。" in t for t in texts["13800138002"])
    for message in OutboxMessage.objects.all():
        assert not bad_amounts(message.text), message.text
        assert message.params.get("amount", "") in ("", "0.01", "0.29", "880.00")


def test_a_claim_with_six_places_still_texts_two(paid):
    claims, _batch = paid
    claim = Claim.objects.get(pk=claims[2].pk)
    claim.final = Decimal("880.000000")  # as the engine's decimal(38,6) once gave it
    assert notifications.text_for(claim, "claims.approved").endswith(
        "已审批，核定给付 880.00 元，将尽快转入您的银行账户。")
    assert notifications.text_for(claim, "claims.paid").endswith("已给付 880.00 元，请查收。")


def test_payout_totals_and_their_audit_entries_are_exact(client, users, paid, changchun):  # noqa: F811
    _claims, batch = paid
    totals = batch_totals(batch)
    assert str(totals.total) == "880.30" and str(totals.paid_total) == "880.30"
    assert str(ledger.summary(changchun).payouts) == "880.30"
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.PAYOUT_CHANGED).order_by("id")
    built, exported, settled = entries
    assert built.summary.endswith("：3 笔，合计 880.30 元")
    assert "银行转账文件（CSV 文件，脱敏账号，3 笔，合计 880.30 元）" in exported.summary
    assert exported.changes["total"] == "880.30"
    assert "3 笔，合计 880.30 元" in settled.summary and settled.changes["total"] == "880.30"
    for e in AuditEntry.objects.all():
        assert not bad_amounts(e.summary), e.summary
        for key in ("amount", "total"):
            if e.changes.get(key):
                assert re.fullmatch(r"\d+\.\d{2}", e.changes[key]), e.changes
    assert client.login(username="finance_city", password=PASSWORD)
    page = client.get(reverse("payouts:list")).content.decode()
    assert "880.30" in page and "880.3000" not in page


def test_the_audit_log_shows_the_amounts_in_yuan(client, paid):
    assert client.login(username="auditor_city", password=PASSWORD)
    body = client.get(reverse("audit:log") + "?action=claims.payout").content.decode()
    assert '合计金额</span>：<span class="data-text">880.30 元</span>' in body
    assert "给付批次 GF2026" in body and "payoutbatch" not in body
