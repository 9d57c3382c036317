"""Amounts on the fund pages read with exactly two places on SQLite, whose sums are
floats: many fen and a seven-digit amount add up to the fen, and the page says how the
books are checked in words, not a command. The printable notice and certificate, which
list members, are audited downloads."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from huzhu.audit.models import AuditEntry
from huzhu.coverage import enrolment, ledger
from huzhu.coverage.models import Account, Enrolment, LedgerEntry, PremiumNotice
from tests.coverage.conftest import TODAY
from tests.fixtures import PASSWORD

pytestmark = pytest.mark.django_db


def _subsidy(scheme, amount: str, ref: str) -> None:
    ledger.post(scheme=scheme, period=None, kind=LedgerEntry.Kind.SUBSIDY,
                debit=Account.BANK, credit=Account.SUBSIDY_INCOME, amount=Decimal(amount),
                reference=ref)


def test_fund_totals_are_exact_to_the_fen(client, free_scheme):
    for i in range(200):
        _subsidy(free_scheme, "0.01", f"fen{i}")
    _subsidy(free_scheme, "1196623.97", "big")
    funds = ledger.summary(free_scheme)
    assert str(funds.subsidy_income) == "1196625.97"
    assert str(funds.bank) == "1196625.97"
    assert str(funds.payouts) == "0.00"

    assert client.login(username="finance_city", password=PASSWORD)
    body = client.get(reverse("coverage:funds")).content.decode()
    assert "1,196,625.97</td>" in body
    assert "1,196,625.970" not in body
    scheme_page = client.get(reverse("coverage:scheme", args=[free_scheme.code]))
    assert "补贴拨款 1,196,625.97 元" in scheme_page.content.decode()


def test_one_fen_reads_0_01(client, free_scheme):
    _subsidy(free_scheme, "0.01", "one")
    assert str(ledger.summary(free_scheme).subsidy_income) == "0.01"
    assert client.login(username="auditor_city", password=PASSWORD)
    body = client.get(reverse("coverage:funds")).content.decode()
    assert ">0.01</td>" in body and "0.0100" not in body


def test_the_check_of_the_books_is_said_in_words(client, free_scheme):
    assert client.login(username="finance_city", password=PASSWORD)
    body = client.get(reverse("coverage:funds")).content.decode()
    assert "huzhu ledger" not in body
    assert "对账检查" in body


def test_the_ledger_check_reads_its_totals_to_the_fen(free_scheme):
    for i in range(3):
        _subsidy(free_scheme, "0.10", f"dime{i}")
    first = ledger.check_all()[0]
    assert first.ok
    assert first.detail == "3 笔分录，借方合计 = 贷方合计 = 0.30"


def test_the_notice_and_certificate_downloads_are_on_the_audit_log(client, users, units,
                                                                   staff, period):
    enrolment.enrol_unit(users["clerk_a1"], period, units["a1"], on=TODAY)
    notice = PremiumNotice.objects.get(unit=units["a1"])
    assert client.login(username="finance_city", password=PASSWORD)
    assert client.get(reverse("coverage:notice-pdf", args=[notice.pk])).status_code == 200
    entry = AuditEntry.objects.latest("id")
    assert entry.action == AuditEntry.Action.FILE_DOWNLOADED
    assert entry.actor == users["finance_city"]
    assert entry.summary == f"下载缴费通知单 {notice.number}（{units['a1'].name}，{period}）"
    e = Enrolment.objects.filter(unit=units["a1"]).select_related("member").first()
    assert client.get(reverse("coverage:certificate", args=[e.pk])).status_code == 200
    entry = AuditEntry.objects.latest("id")
    assert entry.action == AuditEntry.Action.FILE_DOWNLOADED
    assert entry.summary == f"下载参保凭证（{e.member.name}，{period}）"
    assert client.login(username="auditor_city", password=PASSWORD)
    body = client.get(reverse("audit:log") + "?action=file.downloaded").content.decode()
    assert f"缴费通知 {notice.number}" in body and f"会员 {e.member.name}" in body
    assert "文件格式</span>：<span class=\"data-text\">PDF 文件</span>" in body


def test_the_scheme_page_says_50_percent(client, premium_scheme):
    premium_scheme.min_share = Decimal("0.500")
    premium_scheme.save()
    assert client.login(username="admin_city", password=PASSWORD)
    body = client.get(reverse("coverage:scheme", args=[premium_scheme.code])).content.decode()
    assert "参保不低于 50%" in body and "0.500" not in body
