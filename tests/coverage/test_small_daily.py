"""Issue 21, item 13 ("small but daily") on the coverage pages: one loss-ratio definition
on 互助金账 and 统计, and a clerk's period page totalled over the clerk's own union."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from huzhu.coverage import enrolment, ledger, premiums
from huzhu.coverage.models import Account, LedgerEntry, PremiumNotice
from tests.coverage.conftest import TODAY
from tests.coverage.test_views import login

D = dt.date


@pytest.fixture
def notice(users, units, staff, period):
    enrolment.enrol_unit(users["clerk_a1"], period, units["a1"], on=TODAY)
    return PremiumNotice.objects.get(unit=units["a1"])


def _payout(period, amount: str, on: dt.date, ref: str) -> None:
    ledger.post(scheme=period.scheme, period=period, kind=LedgerEntry.Kind.PAYOUT,
                debit=Account.BENEFIT_EXPENSE, credit=Account.BANK, amount=Decimal(amount),
                reference=ref, booked_on=on)


def test_the_loss_ratio_is_cash_paid_over_premiums_received_by_payment_date(
        users, notice, period):
    # 600.00 due, 320.00 received in 2026: accrued income would give 40 / 600 = 6.7%.
    premiums.register_payment(users["finance_city"], notice.pk, amount=Decimal("320.00"),
                              paid_on=D(2026, 2, 12), bank_reference="B-1")
    _payout(period, "40.00", D(2026, 5, 1), "payout:t1")
    # Paid in 2027 for a 2026 claim: a 2027 figure, as on 统计.
    _payout(period, "100.00", D(2027, 1, 5), "payout:t2")
    s = ledger.summary(period.scheme, period)
    assert s.premium_income == Decimal("600.00") and s.payouts == Decimal("140.00")
    assert s.loss_ratio == Decimal("12.5")  # 40.00 ÷ 320.00
    assert ledger.summary(period.scheme).loss_ratio == Decimal("43.8")  # 140 ÷ 320


def test_both_pages_show_the_same_definition(client, users, notice, period):
    body = login(client, "finance_city").get(reverse("coverage:funds")).content.decode()
    assert ledger.LOSS_RATIO_DEFINITION in body
    assert "赔付率 = 付款日期在期内的给付金额 ÷ 到账日期在期内的已收互助金" in body
    from huzhu.reports.figures import DEFINITIONS
    assert dict(DEFINITIONS)["赔付率"].startswith(ledger.LOSS_RATIO_DEFINITION)


def test_a_clerks_period_page_totals_the_clerks_own_union(client, users, units, staff, period,
                                                          tree):
    enrolment.enrol_unit(users["clerk_a1"], period, units["a1"], on=TODAY)
    enrolment.enrol_unit(users["admin_city"], period, units["a2"], on=TODAY)
    notice = PremiumNotice.objects.get(unit=units["a1"])
    premiums.register_payment(users["finance_city"], notice.pk, amount=Decimal("150.00"),
                              paid_on=TODAY, bank_reference="B-9")
    url = reverse("coverage:period", args=[period.pk])
    body = login(client, "clerk_a1").get(url).content.decode()
    assert (f"{tree['a1'].name}本期参保 4 人，已缴费 1 人；应收 600.00 元，尚未到账 450.00 元。"
            in body)
    body = login(client, "admin_city").get(url).content.decode()
    assert "全期参保 6 人，已缴费 1 人；应收 900.00 元，尚未到账 750.00 元。" in body


def test_an_entry_booked_without_a_date_takes_the_day_in_beijing(monkeypatch, period):
    from django.utils import timezone

    # 20:30 UTC on 31 December is 04:30 on 1 January in Beijing.
    moment = dt.datetime(2026, 12, 31, 20, 30, tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    entry = ledger.post(scheme=period.scheme, period=period, kind=LedgerEntry.Kind.ADJUSTMENT,
                        debit=Account.BANK, credit=Account.SUBSIDY_INCOME,
                        amount=Decimal("1.00"), reference="adjust:tz")
    assert entry is not None and entry.booked_on == D(2027, 1, 1)
