"""Amounts on the fund pages read with exactly two places on SQLite, whose sums are
floats: many fen and a seven-digit amount add up to the fen, and the page says how the
books are checked in words, not a command."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from huzhu.coverage import ledger
from huzhu.coverage.models import Account, LedgerEntry
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
