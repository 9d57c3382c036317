"""Subsidy income (补贴拨款): booked by finance at the scheme's node or above, only into a
scheme funded by subsidy, dated within the period and not after today. A district
finance user once booked 1,000,000.00 into the city's scheme dated 2099-01-01."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from huzhu.audit.models import AuditEntry
from huzhu.coverage import premiums, schemes
from huzhu.coverage.models import LedgerEntry
from huzhu.coverage.refusals import CoverageRefused
from huzhu.orgs.models import User
from tests.fixtures import PASSWORD

D = dt.date
pytestmark = pytest.mark.django_db


@pytest.fixture
def free_period(admin, free_scheme):
    return schemes.create_period(admin, free_scheme, name="2026年", start=D(2026, 1, 1),
                                 end=D(2026, 12, 31), premium=Decimal("0"),
                                 enrol_from=D(2026, 1, 1), enrol_until=D(2026, 12, 31))


def book(user, scheme, period, day, amount="1000000.00"):
    return premiums.fund_subsidy(user, scheme, period, amount=Decimal(amount), booked_on=day,
                                 reference="长工发〔2026〕12号")


def test_city_finance_books_a_subsidy_within_the_period(users, free_scheme, free_period):
    entry = book(users["finance_city"], free_scheme, free_period, D(2026, 1, 21))
    assert entry.amount == Decimal("1000000.00") and entry.booked_on == D(2026, 1, 21)


@pytest.mark.parametrize(("day", "why"), [
    (D(2099, 1, 1), "不在2026年内"), (D(2025, 12, 31), "不在2026年内"),
])
def test_a_date_outside_the_period_is_refused_audited_and_books_nothing(
        users, free_scheme, free_period, day, why):
    with pytest.raises(CoverageRefused, match=why):
        book(users["finance_city"], free_scheme, free_period, day)
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.SUBSIDY).exists()
    assert AuditEntry.objects.filter(action=AuditEntry.Action.COVERAGE_REFUSED,
                                     summary__contains="到账日期").exists()


def test_a_date_after_today_is_refused(users, free_scheme, free_period, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: D(2026, 3, 1))
    with pytest.raises(CoverageRefused, match="晚于今天"):
        book(users["finance_city"], free_scheme, free_period, D(2026, 3, 2))


def test_district_finance_may_not_book_into_the_citys_scheme(users, tree, free_scheme,
                                                             free_period):
    district = User.objects.create_user("finance_da", password=PASSWORD, role="finance",
                                        union=tree["da"])
    with pytest.raises(CoverageRefused, match="由测试市总工会或其上级工会的财务登记"):
        book(district, free_scheme, free_period, D(2026, 1, 21))
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.SUBSIDY).exists()


def test_a_premium_scheme_takes_no_subsidy(users, period):
    with pytest.raises(CoverageRefused, match="缴费互助项目"):
        book(users["finance_city"], period.scheme, period, D(2026, 1, 21))


def test_the_page_shows_the_refusal(client, users, free_scheme, free_period):
    assert client.login(username="finance_city", password=PASSWORD)
    page = client.post(reverse("coverage:subsidy", args=[free_scheme.code]), {
        "period": free_period.pk, "amount": "1000000.00", "booked_on": "2099-01-01",
        "reference": "X-1"})
    assert page.status_code == 200 and "到账日期 2099-01-01 不在2026年内" in page.content.decode()
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.SUBSIDY).exists()


def test_a_negative_balance_is_said_in_words(client, users, free_scheme, free_period):
    """Paid out before the subsidy is booked: 结余 and 银行存款 below zero get a line that
    says what it means and what to check; once booked, the line is gone."""
    from huzhu.coverage import ledger
    from huzhu.coverage.models import Account

    ledger.post(scheme=free_scheme, period=free_period, kind=LedgerEntry.Kind.PAYOUT,
                debit=Account.BENEFIT_EXPENSE, credit=Account.BANK, amount=Decimal("500.00"),
                reference="payout:test", booked_on=D(2026, 2, 1))
    assert client.login(username="finance_city", password=PASSWORD)
    expected = ["结余为负（2026年）：已给付超过互助金收入和补贴拨款，请核对补贴拨款是否已登记",
                "银行存款为负（2026年）：已给付超过已到账的互助金和补贴拨款，"
                "请核对缴费到账和补贴拨款是否已登记"]
    for url in (reverse("coverage:funds"), reverse("coverage:scheme-funds",
                                                   args=[free_scheme.code])):
        page = client.get(url).content.decode()
        assert "-500.00" in page
        for n, line in enumerate(expected, 1):
            assert f'id="fund-negative-{n}">{line}</div>' in page
    book(users["finance_city"], free_scheme, free_period, D(2026, 1, 21))
    assert "为负" not in client.get(reverse("coverage:funds")).content.decode()
