"""Premiums and the fund ledger: partial payments, which enrolments are paid, coverage
from the payment, refusals, idempotence, the ledger check, append-only in the database."""

from __future__ import annotations

import datetime as dt
import re
import threading
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, connections, transaction

from huzhu.audit.models import AuditEntry
from huzhu.coverage import enrolment, ledger, premiums
from huzhu.coverage.models import Enrolment, LedgerEntry, Payment, PremiumNotice
from huzhu.coverage.refusals import CoverageRefused
from tests.coverage.conftest import TODAY

D = dt.date


@pytest.fixture
def notice(users, units, staff, period):
    enrolment.enrol_unit(users["clerk_a1"], period, units["a1"], on=TODAY)
    return PremiumNotice.objects.get(unit=units["a1"])


def pay(users, notice, amount, ref, user="finance_city", on=TODAY):
    return premiums.register_payment(users[user], notice.pk, amount=Decimal(amount),
                                     paid_on=on, bank_reference=ref)


def test_a_partial_payment_covers_enrolments_in_order(users, notice, staff):
    pay(users, notice, "320.00", "B-001", on=D(2026, 2, 12))
    notice.refresh_from_db()
    assert notice.state == "partial" and notice.amount_paid == Decimal("320.00")
    paid = list(Enrolment.objects.filter(paid_on__isnull=False).order_by("id")
                .values_list("member__name", flat=True))
    assert paid == ["赵一", "钱二"]  # 2 × 150 = 300 ≤ 320 < 450
    first = Enrolment.objects.get(member=staff["m1"])
    assert first.coverage_from == D(2026, 2, 12) == first.first_enrolled
    assert Enrolment.objects.get(member=staff["m3"]).coverage_from is None
    pay(users, notice, "280.00", "B-002")
    notice.refresh_from_db()
    assert notice.state == "paid" and Enrolment.objects.filter(paid_on=None).count() == 0
    s = ledger.summary(notice.period.scheme, notice.period)
    assert (s.bank, s.receivable, s.premium_income) == (Decimal("600.00"), 0, Decimal("600.00"))


def test_overpayment_and_wrong_roles_are_refused_and_audited(users, notice):
    with pytest.raises(CoverageRefused, match=r"超过尚欠金额 600\.00 元"):
        pay(users, notice, "600.01", "B-1")
    with pytest.raises(CoverageRefused, match="只有财务和管理员"):
        pay(users, notice, "10.00", "B-2", user="clerk_a1")
    with pytest.raises(CoverageRefused, match="最多两位小数"):
        pay(users, notice, "10.001", "B-3")
    assert Payment.objects.count() == 0 and LedgerEntry.objects.filter(kind="premium_paid")\
        .count() == 0
    assert AuditEntry.objects.filter(action=AuditEntry.Action.PAYMENT_REFUSED).count() == 3


def test_a_retried_registration_counts_once(users, notice):
    first, created = pay(users, notice, "150.00", "B-9")
    again, created_again = pay(users, notice, "150.00", " B-9 ")
    assert created and not created_again and first.pk == again.pk
    notice.refresh_from_db()
    assert notice.amount_paid == Decimal("150.00")
    assert LedgerEntry.objects.filter(kind="premium_paid").count() == 1


def test_the_database_refuses_an_overpaid_notice(notice):
    with pytest.raises(DatabaseError), transaction.atomic():
        PremiumNotice.objects.filter(pk=notice.pk).update(amount_paid=Decimal("600.01"))


def test_the_ledger_is_append_only_in_the_database(notice):
    entry = LedgerEntry.objects.first()
    with pytest.raises(PermissionError):
        entry.save()
    for sql in ("UPDATE coverage_ledgerentry SET amount = 1",
                "DELETE FROM coverage_ledgerentry"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as c:
            c.execute(sql)
    assert LedgerEntry.objects.get(pk=entry.pk).amount == Decimal("600.00")


def test_ledger_check_after_a_mixed_sequence_and_a_planted_discrepancy(users, notice, units,
                                                                       staff, capsys):
    pay(users, notice, "300.00", "B-1")
    enrolment.enrol_unit(users["reviewer_da"], notice.period, units["a2"], on=TODAY)
    enrolment.withdraw(users["clerk_a1"], Enrolment.objects.get(member=staff["m4"]), on=TODAY)
    a2 = PremiumNotice.objects.get(unit=units["a2"])
    pay(users, a2, "300.00", "B-2")
    checks = ledger.check_all()
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    # The total reads to the fen, as an accountant writes it (SQLite's sum had more digits).
    assert re.search(r"= [\d,]+\.\d\d$", checks[0].detail), checks[0].detail
    call_command("ledger_check")
    assert "通过" in capsys.readouterr().out
    # a notice changed behind the ledger's back: the check names it
    PremiumNotice.objects.filter(pk=a2.pk).update(amount_due=Decimal("450.00"))
    with pytest.raises(SystemExit) as stop:
        call_command("ledger_check")
    assert stop.value.code == 1
    assert "应收互助金" in capsys.readouterr().out


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_payments_on_one_notice_never_double_count(users, units, staff, period):
    """Two finance users register payments for one notice at the same moment, 20 times:
    the notice never exceeds what is owed and the ledger matches the payments."""
    enrolment.enrol_unit(users["clerk_a1"], period, units["a1"], on=TODAY)
    notice = PremiumNotice.objects.get()
    results: list[str] = []

    def register(ref: str) -> None:
        try:
            pay(users, notice, "100.00", ref)
            results.append("ok")
        except CoverageRefused:
            results.append("refused")
        finally:
            connections.close_all()

    for round_ in range(20):
        threads = [threading.Thread(target=register, args=(f"R{round_}-{i}",)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    notice.refresh_from_db()
    assert results.count("ok") == 6 and notice.amount_paid == Decimal("600.00")
    assert sum(p.amount for p in Payment.objects.all()) == Decimal("600.00")
    assert all(c.ok for c in ledger.check_all())
