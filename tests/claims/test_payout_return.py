"""退票: a transfer paid, then returned by the bank (the account closed). The payout is
returned, the ledger mirrors its payment, the claim waits for a corrected account, the
member is told, and once the account is corrected the next batch pays it — a second
payout of the same claim, which the database's constraints allow."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from huzhu.audit.models import AuditEntry
from huzhu.claims import money_audit
from huzhu.claims.ledger import paid_totals_by_period
from huzhu.claims.models import Claim, Payout
from huzhu.claims.payouts import build, files, reconcile
from huzhu.claims.payouts.reconcile import ReconcileRefused
from huzhu.claims.workflow import ClaimRefused
from huzhu.coverage import ledger
from huzhu.coverage.models import Account, LedgerEntry
from huzhu.notify.models import OutboxMessage
from tests.claims.payouts import test_payouts as base

ready, clerk_a2, with_account = base.ready, base.clerk_a2, base.with_account
TODAY = dt.date(2026, 5, 1)


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def all_paid(ready) -> bytes:
    return csv_bytes([["理赔编号", "金额", "状态", "交易日期"]]
                     + [[ready[k].number, str(ready[k].final), "成功", "2026-05-01"]
                        for k in ("c1", "c2", "c3")])


def bounce(claim: Claim, status: str = "已退回") -> bytes:
    return csv_bytes([["理赔编号", "金额", "状态", "日期", "备注"],
                      [claim.number, str(claim.final), status, "2026-05-01", "账户已销户"]])


def books_hold() -> None:
    assert all(c.ok for c in ledger.check_all()), [c.detail for c in ledger.check_all()]
    assert all(c.ok for c in money_audit.run()), [c.findings for c in money_audit.run()]


def test_paid_returned_corrected_and_paid_again(users, ready, changchun, staff):
    finance = users["finance_city"]
    member = with_account(staff["a2x"], "6217000010012345678", "13800138003")
    c3 = ready["c3"]
    first = build.build_batches(finance, changchun).batches[0]
    files.write_bank_file(finance, first, "xlsx")
    reconcile.reconcile(finance, first, all_paid(ready), "回盘一.csv")
    paid = Payout.objects.get(claim=c3)
    assert paid.state == "paid" and Claim.objects.get(pk=c3.pk).state == "paid"
    books_hold()
    from huzhu.reports import paid as report_rows
    from huzhu.reports.models import PaidPayout

    report_rows.refresh()
    assert PaidPayout.objects.filter(payout_id=paid.pk).exists()

    # Weeks later the bank returns one transfer: the account was closed.
    done = reconcile.reconcile(finance, first, bounce(c3), "退票.csv")
    assert (len(done.paid), len(done.failed), len(done.returned)) == (0, 0, 1)
    paid.refresh_from_db()
    assert (paid.state, paid.paid_on, paid.returned_on, paid.failure_reason) == (
        "returned", TODAY, TODAY, "账户已销户")
    assert paid.account_hash == member.bank_account_hash
    claim = Claim.objects.get(pk=c3.pk)
    assert (claim.state, claim.paid_at) == ("approved", None)
    mirror = LedgerEntry.objects.get(reference=f"payout-return:{paid.pk}")
    original = LedgerEntry.objects.get(reference=f"payout:{paid.pk}")
    assert (mirror.debit, mirror.credit) == (original.credit, original.debit) == (
        Account.BANK, Account.BENEFIT_EXPENSE)
    assert (mirror.amount, mirror.scheme_id, mirror.period_id, mirror.kind) == (
        original.amount, original.scheme_id, original.period_id, "payout")
    assert sum(paid_totals_by_period().values()) == Decimal("540.00")
    # The fund page's 赔付率 counts the returned transfer out, not twice over; the
    # statistics' paid rows lose it too.
    assert ledger.summary(changchun).paid_in_dates == Decimal("540.00")
    report_rows.refresh()
    assert not PaidPayout.objects.filter(payout_id=paid.pk).exists()
    assert PaidPayout.objects.count() == 2
    sms = OutboxMessage.objects.get(kind="claims.payout_returned")
    assert sms.to == "13800138003" and sms.text == (
        f"【{changchun.union.name}】郑甲您好，您的住院医疗补贴申请（{c3.number}）给付的 "
        "1,200.00 元被银行退回（账户已销户），请尽快到单位工会更正银行账号，更正后将重新给付。")
    audit = AuditEntry.objects.get(action=AuditEntry.Action.PAYOUT_RETURNED)
    assert audit.changes["amount"] == "1200.00" and audit.changes["reason"] == "账户已销户"
    books_hold()

    # The same 退票 file again, and the first result file again: nothing changes.
    entries = LedgerEntry.objects.count()
    assert reconcile.reconcile(finance, first, bounce(c3), "退票.csv").changes_nothing
    assert reconcile.reconcile(finance, first, all_paid(ready), "回盘一.csv").changes_nothing
    assert LedgerEntry.objects.count() == entries
    assert OutboxMessage.objects.filter(kind="claims.payout_returned").count() == 1

    # 待更正账号: not paid again to the closed account.
    waiting = build.readiness(finance, changchun)
    assert (waiting.count, waiting.awaiting_correction) == (0, 1)
    assert list(build.awaiting_correction(finance, changchun)) == [claim]
    with pytest.raises(ClaimRefused, match="没有可以加入给付批次的理赔"):
        build.build_batches(finance, changchun)
    with pytest.raises(ClaimRefused, match="待更正账号"):
        build.build_batch(finance, changchun, claim_ids=[c3.pk])

    # The member gives a new account: the next batch pays it.
    with_account(member, "6228480010000000017")
    assert build.readiness(finance, changchun).count == 1
    second = build.build_batches(finance, changchun).batches[0]
    assert list(second.payouts.values_list("claim_id", "amount")) == [(c3.pk, Decimal("1200.00"))]
    files.write_bank_file(finance, second, "csv")
    again = csv_bytes([["序号", "金额", "处理结果"], ["1", "1200.00", "成功"]])
    reconcile.reconcile(finance, second, again, "回盘二.csv")
    assert Claim.objects.get(pk=c3.pk).state == "paid"
    assert list(Payout.objects.filter(claim=c3).order_by("pk").values_list("state", flat=True)) \
        == ["returned", "paid"]
    assert sum(paid_totals_by_period().values()) == Decimal("1740.00")
    books_hold()


def test_a_return_of_a_failed_payout_is_refused(users, ready, changchun):
    finance = users["finance_city"]
    batch = build.build_batches(finance, changchun).batches[0]
    fail = csv_bytes([["理赔编号", "金额", "状态", "失败原因"],
                      [ready["c1"].number, "240.00", "失败", "户名不符"]])
    reconcile.reconcile(finance, batch, fail, "失败.csv")
    with pytest.raises(ReconcileRefused) as refused:
        reconcile.reconcile(finance, batch, bounce(ready["c1"], "退票"), "退票.csv")
    assert f"退票.csv 第 2 行“状态”：该笔给付已是“付款失败”，银行回盘为“退票”，不能变更（理赔 " \
        f"{ready['c1'].number}）" in str(refused.value)


def test_the_database_allows_pay_return_pay_but_not_two_paid_in_one_batch(users, ready, changchun):
    finance = users["finance_city"]
    batch = build.build_batches(finance, changchun).batches[0]
    payout = batch.payouts.get(claim=ready["c1"])
    Payout.objects.filter(pk=payout.pk).update(state="returned", paid_on=TODAY,
                                               returned_on=TODAY)
    Payout.objects.create(batch=batch, claim=ready["c1"], amount=payout.amount, state="paid",
                          paid_on=TODAY)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payout.objects.create(batch=batch, claim=ready["c1"], amount=payout.amount,
                              state="paid", paid_on=TODAY)
    with pytest.raises(IntegrityError), transaction.atomic():
        # A 退票 without its dates.
        Payout.objects.filter(pk=payout.pk).update(returned_on=None)


def test_a_difference_paid_by_reconciliation_is_told_as_such(users, ready, changchun):
    """A 复核 raised a paid claim (here by hand: 240.00 → 280.00): the next batch pays
    the 40.00 difference, and the member's SMS says so (the text reads the claim's paid
    payouts, which reconciliation reads in bulk)."""
    finance = users["finance_city"]
    first = build.build_batches(finance, changchun).batches[0]
    reconcile.reconcile(finance, first, all_paid(ready), "回盘一.csv")
    c1 = ready["c1"]
    Claim.objects.filter(pk=c1.pk).update(computed=Decimal("280.00"), final=Decimal("280.00"),
                                          state="approved")
    second = build.build_batch(finance, changchun, claim_ids=[c1.pk])
    assert list(second.payouts.values_list("amount", flat=True)) == [Decimal("40.00")]
    files.write_bank_file(finance, second, "csv")
    reconcile.reconcile(finance, second, csv_bytes([["序号", "金额", "状态"],
                                                    ["1", "40.00", "成功"]]), "回盘二.csv")
    text = OutboxMessage.objects.filter(kind="claims.paid", member=c1.member_id) \
        .order_by("-pk").values_list("text", flat=True).first()
    assert text == (f"【{changchun.union.name}】赵一您好，您的住院医疗补贴申请（{c1.number}）"
                    "已补发差额 40.00 元（累计给付 280.00 元），请查收。")
