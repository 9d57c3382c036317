"""MoneySum and sum_fen_sql: money totals exact to the fen on SQLite (the default
database), where a plain Sum adds floats and reads back 15 significant digits."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Q, Sum

from huzhu.coverage import ledger, schemes
from huzhu.coverage.models import Account, LedgerEntry
from huzhu.lib.money import MoneySum, from_fen, sum_fen_sql
from huzhu.rules.money import yuan

pytestmark = pytest.mark.django_db


@pytest.fixture
def scheme(users, tree):
    return schemes.create_scheme(users["admin_city"], union=tree["city"],
                                 policy_name="changchun-2023")


def _post(scheme, amount: str, ref: str, credit: str = Account.SUBSIDY_INCOME) -> None:
    ledger.post(scheme=scheme, period=None, kind=LedgerEntry.Kind.ADJUSTMENT,
                debit=Account.BANK, credit=credit, amount=Decimal(amount), reference=ref)


def test_many_fen_and_large_amounts_sum_exactly(scheme):
    for i in range(1000):
        _post(scheme, "0.01", f"f{i}")
    _post(scheme, "1196623.97", "big")
    _post(scheme, "0.29", "odd")
    total = LedgerEntry.objects.aggregate(t=MoneySum("amount"))["t"]
    assert total == Decimal("1196634.26")
    assert str(total) == "1196634.26"
    assert yuan(total) == "1,196,634.26"


def test_a_single_fen_reads_two_places(scheme):
    _post(scheme, "0.01", "one")
    total = LedgerEntry.objects.aggregate(t=MoneySum("amount"))["t"]
    assert str(total) == "0.01"
    if connection.vendor == "sqlite":
        # What the pages printed before: Django's float sum at 15 digits.
        assert str(LedgerEntry.objects.aggregate(t=Sum("amount"))["t"]) == "0.0100000000000000"


def test_grouped_filtered_and_empty_sums(scheme):
    _post(scheme, "808214.28", "a")
    _post(scheme, "0.10", "b")
    _post(scheme, "69987.50", "c", credit=Account.PREMIUM_INCOME)
    rows = dict(LedgerEntry.objects.values_list("credit").annotate(s=MoneySum("amount"))
                .order_by())
    assert {k: str(v) for k, v in rows.items()} == {
        Account.SUBSIDY_INCOME: "808214.38", Account.PREMIUM_INCOME: "69987.50"}
    filtered = LedgerEntry.objects.aggregate(
        t=MoneySum("amount", filter=Q(credit=Account.PREMIUM_INCOME)))["t"]
    assert str(filtered) == "69987.50"
    assert LedgerEntry.objects.filter(reference="none").aggregate(
        t=MoneySum("amount"))["t"] is None
    assert str(LedgerEntry.objects.filter(reference="none").aggregate(
        t=MoneySum("amount", default=Decimal("0.00")))["t"]) == "0.00"
    # A total compared in SQL is in yuan, like the column.
    big = (LedgerEntry.objects.values("credit").annotate(s=MoneySum("amount"))
           .filter(s__gt=Decimal("100000")).values_list("credit", flat=True))
    assert list(big) == [Account.SUBSIDY_INCOME]


def test_hand_written_sum_in_fen(scheme):
    for i in range(300):
        _post(scheme, "0.07", f"s{i}")
    _post(scheme, "999999999.99", "max")
    table = LedgerEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sum_fen_sql('amount', connection.vendor)} FROM {table}")
        (value,) = cursor.fetchone()
    assert str(from_fen(value)) == "1000000020.99"
    assert str(from_fen(None)) == "0.00"
