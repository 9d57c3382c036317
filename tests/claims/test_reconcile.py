"""The bank's result file (回盘文件) reconciled against a batch: paid, failed and 退票 in one
file (states, ledger, SMS, audit, the money audit and the ledger check after), a wrong
amount refused with nothing applied, the same file again changing nothing, GBK CSV in
the 代发 layout by 序号, xlsx, and the page's upload, preview and confirmation."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from huzhu.audit.models import AuditEntry
from huzhu.claims import money_audit
from huzhu.claims.ledger import paid_totals_by_period
from huzhu.claims.models import Claim, Payout, PayoutBatch
from huzhu.claims.payouts import build, files, reconcile
from huzhu.claims.payouts.reconcile import ReconcileRefused
from huzhu.coverage import ledger
from huzhu.coverage.models import Account, LedgerEntry
from huzhu.notify.models import OutboxMessage
from tests.claims.payouts import test_payouts as base

# The payout tests' fixtures: three approved claims of members with accounts, and more.
ready, clerk_a2 = base.ready, base.clerk_a2
login, with_account = base.login, base.with_account

TODAY = dt.date(2026, 5, 1)


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def batch(users, ready, changchun, staff):
    """The three ready claims in one batch (all 甲区's members), its bank file written."""
    with_account(staff["a2x"], "6217000010012345678", "13800138003")  # a phone for the SMS
    made = build.build_batches(users["finance_city"], changchun).batches
    assert len(made) == 1
    files.write_bank_file(users["finance_city"], made[0], "csv")
    return made[0]


def result_file(ready, second_amount: str = "300.00") -> bytes:
    """A bank's 代发 result: a title line, the header, c1 paid, c2 failed, c3 退票, and the
    total line echoed back."""
    n = {k: ready[k].number for k in ("c1", "c2", "c3")}
    return csv_bytes([
        ["代发业务处理结果明细", "", "", "", "", "", ""],
        ["序号", "户名", "理赔编号", "交易金额", "交易日期", "处理结果", "失败原因"],
        ["1", "赵一", n["c1"], "240.00", "2026-05-01", "成功", ""],
        ["2", "钱二", n["c2"], second_amount, "2026-05-01", "失败", "户名与账号不符"],
        ["3", "郑甲", n["c3"], "1,200.00", "2026-05-01", "退票", "账户已销户"],
        ["合计 3 笔", "", "", "1740.00", "", "", ""],
    ], "utf-8-sig")


def state_of(claim: Claim) -> tuple[str, str]:
    payout = Payout.objects.filter(claim=claim).order_by("-pk").first()
    return Claim.objects.get(pk=claim.pk).state, payout.state if payout else ""


def snapshot() -> tuple:
    return (list(Payout.objects.order_by("pk").values_list("state", "paid_on", "returned_on",
                                                             "failure_reason")),
            list(Claim.objects.order_by("pk").values_list("state", flat=True)),
            LedgerEntry.objects.count(), OutboxMessage.objects.count(),
            AuditEntry.objects.exclude(summary__startswith="给付操作被拒绝").count())


def test_a_result_file_with_a_failure_and_a_return(users, ready, batch):
    finance = users["finance_city"]
    outbox_before = set(OutboxMessage.objects.values_list("pk", flat=True))
    preview = reconcile.plan(finance, batch, result_file(ready), "回盘.csv")
    assert (len(preview.paid), len(preview.failed), len(preview.returned)) == (1, 1, 1)
    assert preview.errors == [] and Payout.objects.filter(state="pending").count() == 3

    done = reconcile.reconcile(finance, batch, result_file(ready), "回盘.csv")
    assert done.summary() == ("付款成功 1 笔 240.00 元，付款失败 1 笔 300.00 元，"
                              "退票 1 笔 1,200.00 元")
    assert state_of(ready["c1"]) == ("paid", "paid")
    assert state_of(ready["c2"]) == ("approved", "failed")
    assert state_of(ready["c3"]) == ("approved", "returned")
    p1, p2, p3 = (batch.payouts.get(claim=ready[k]) for k in ("c1", "c2", "c3"))
    assert p1.paid_on == TODAY and p2.failure_reason == "户名与账号不符"
    assert (p3.paid_on, p3.returned_on, p3.failure_reason) == (TODAY, TODAY, "账户已销户")
    assert Claim.objects.get(pk=ready["c3"].pk).paid_at is None
    assert PayoutBatch.objects.get(pk=batch.pk).state == "closed"

    entries = list(LedgerEntry.objects.filter(kind="payout").order_by("pk").values_list(
        "reference", "debit", "credit", "amount", "booked_on"))
    assert entries == [
        (f"payout:{p1.pk}", Account.BENEFIT_EXPENSE, Account.BANK, Decimal("240.00"), TODAY),
        (f"payout:{p3.pk}", Account.BENEFIT_EXPENSE, Account.BANK, Decimal("1200.00"), TODAY),
        (f"payout-return:{p3.pk}", Account.BANK, Account.BENEFIT_EXPENSE, Decimal("1200.00"),
         TODAY)]
    assert sum(paid_totals_by_period().values()) == Decimal("240.00")

    sms = {m.kind: m.text for m in OutboxMessage.objects.exclude(pk__in=outbox_before)}
    union = batch.scheme.union.name
    assert sms == {
        "claims.paid": f"【{union}】赵一您好，您的住院医疗补贴申请（{ready['c1'].number}）"
                       "已给付 240.00 元，请查收。",
        "claims.payout_returned": f"【{union}】郑甲您好，您的住院医疗补贴申请"
                                  f"（{ready['c3'].number}）给付的 1,200.00 元被银行退回"
                                  "（账户已销户），请尽快到单位工会更正银行账号，更正后将重新给付。"}

    history = Claim.objects.get(pk=ready["c3"].pk).history.last()
    assert (history.action, history.from_state, history.to_state) == (
        "payout_return", "in_batch", "approved")
    reconciled = AuditEntry.objects.get(action=AuditEntry.Action.PAYOUT_RECONCILED)
    assert reconciled.changes["成功笔数"] == 1 and reconciled.changes["退票金额"] == "1200.00"
    assert "付款成功 1 笔 240.00 元" in reconciled.summary and "批次已完成" in reconciled.summary
    returned = AuditEntry.objects.get(action=AuditEntry.Action.PAYOUT_RETURNED)
    assert returned.changes["claim"] == ready["c3"].number
    assert "1,200.00 元被银行退票" in returned.summary

    assert all(c.ok for c in ledger.check_all()), [c.detail for c in ledger.check_all()]
    assert all(c.ok for c in money_audit.run()), [c.findings for c in money_audit.run()]

    # The failed claim is ready again; the returned one waits for a corrected account.
    ready_now = build.readiness(finance, batch.scheme)
    assert (ready_now.count, ready_now.total, ready_now.awaiting_correction) == (
        1, Decimal("300.00"), 1)


def test_the_same_file_again_changes_nothing(users, ready, batch):
    finance = users["finance_city"]
    reconcile.reconcile(finance, batch, result_file(ready), "回盘.csv")
    before = snapshot()
    again = reconcile.reconcile(finance, batch, result_file(ready), "回盘.csv")
    assert again.changes_nothing and again.unchanged == 3
    assert snapshot() == before


def test_a_wrong_amount_is_refused_and_nothing_is_applied(users, ready, batch):
    finance = users["finance_city"]
    before = snapshot()
    with pytest.raises(ReconcileRefused) as refused:
        reconcile.reconcile(finance, batch, result_file(ready, "310.00"), "回盘.csv")
    assert str(refused.value) == (
        f"回盘文件有 1 处不符，未做任何变更：回盘.csv 第 4 行“金额”：310.00 元与批次中理赔 "
        f"{ready['c2'].number} 的给付金额 300.00 元不符")
    assert snapshot() == before
    assert Payout.objects.filter(state="pending").count() == 3
    assert AuditEntry.objects.filter(summary__contains="第 4 行“金额”").exists()


def test_rows_that_do_not_match_are_each_named(users, ready, batch):
    finance = users["finance_city"]
    n = ready["c1"].number
    data = csv_bytes([
        ["序号", "户名", "理赔编号", "金额", "状态", "失败原因"],
        ["1", "赵一", n, "240.00", "成功", ""],
        ["1", "赵一", n, "240.00", "成功", ""],
        ["9", "某人", "LP0000000", "10.00", "成功", ""],
        ["2", "钱二", ready["c2"].number, "300.00", "处理中", ""],
        ["3", "张三", ready["c3"].number, "1200.00", "成功", ""],
        ["", "", "", "abc", "失败", ""],
    ])
    result = reconcile.plan(finance, batch, data, "r.csv")
    assert result.errors == [
        f"r.csv 第 3 行“理赔编号”：与第 2 行是同一笔给付（理赔 {n}）",
        "r.csv 第 4 行“理赔编号”：LP0000000 不在批次 " + batch.number + " 中",
        "r.csv 第 5 行“状态”：“处理中”无法识别，应为 成功、失败 或 退票（已退回）",
        f"r.csv 第 6 行“户名”：张三 与理赔 {ready['c3'].number} 的会员姓名 郑甲 不符",
        "r.csv 第 7 行“序号”：“”不是序号（应为正整数）",
        "r.csv 第 7 行“金额”：“abc”不是金额（应为大于零、最多两位小数的数）",
        "r.csv 第 7 行“失败原因”：失败或退票须写明银行的原因（失败原因或备注列）"]
    with pytest.raises(ReconcileRefused, match="回盘文件有 7 处不符，未做任何变更"):
        reconcile.reconcile(finance, batch, data, "r.csv")
    assert Payout.objects.filter(state="pending").count() == 3


def test_a_gbk_csv_in_the_daifa_layout_by_sequence_number(users, ready, changchun, staff):
    finance = users["finance_city"]
    batch = build.build_batches(finance, changchun).batches[0]
    sent = files.write_bank_file(finance, batch, "csv", layout="daifa", encoding="gbk")
    lines = list(csv.reader(io.StringIO(sent.decode("gbk"))))
    assert lines[0][:4] == ["序号", "收款人账号", "收款人户名", "金额（元）"]
    # The bank echoes 序号, the masked account and the name, with its own status words.
    back = [["序号", "客户账号", "户名", "金额", "交易状态", "备注"]]
    for seq, account, name, amount, *_ in lines[1:]:
        status, note = ("交易失败", "账户冻结") if seq == "2" else ("交易成功", "")
        back.append([seq, account, name, amount, status, note])
    done = reconcile.reconcile(finance, batch, csv_bytes(back, "gbk"), "回盘GBK.csv",
                               paid_on=dt.date(2026, 5, 1))
    assert (len(done.paid), len(done.failed), len(done.returned)) == (2, 1, 0)
    assert state_of(ready["c2"]) == ("approved", "failed")
    assert Payout.objects.get(claim=ready["c2"]).failure_reason == "账户冻结"
    assert state_of(ready["c3"]) == ("paid", "paid")


def test_an_xlsx_result_with_an_excel_date(users, ready, batch):
    finance = users["finance_city"]
    rows: list[list[object]] = [["流水号", "户名", "金额(元)", "交易日期", "状态", "失败原因"]]
    for seq, name, amount in ((1, "赵一", 240), (2, "钱二", 300.0), (3, "郑甲", 1200)):
        rows.append([seq, name, amount, dt.datetime(2026, 5, 1), "成功", None])
    done = reconcile.reconcile(finance, batch, xlsx_bytes(rows), "回盘.xlsx")
    assert len(done.paid) == 3 and done.paid_total == Decimal("1740.00")
    assert set(Payout.objects.values_list("paid_on", flat=True)) == {TODAY}
    assert all(c.ok for c in ledger.check_all())


def test_a_date_before_the_batch_or_after_today_is_refused(users, ready, batch):
    data = csv_bytes([["理赔编号", "金额", "状态", "日期"],
                      [ready["c1"].number, "240", "成功", "2026-04-30"],
                      [ready["c2"].number, "300", "成功", "2026/5/2"]])
    result = reconcile.plan(users["finance_city"], batch, data, "r.csv")
    assert result.errors == [
        f"r.csv 第 2 行“日期”：付款日期 2026-04-30 早于批次的建立日期 2026-05-01"
        f"（理赔 {ready['c1'].number}）",
        f"r.csv 第 3 行“日期”：2026-05-02 晚于今天（理赔 {ready['c2'].number}）"]


def test_the_page_previews_then_applies(client, users, ready, batch):
    c = login(client, "finance_city")
    url = reverse("payouts:reconcile", args=[batch.pk])
    bad = c.post(url, {"return_file": SimpleUploadedFile("回盘.csv",
                                                         result_file(ready, "310.00"))})
    body = bad.content.decode()
    assert "有 1 处与批次不符" in body and "回盘.csv 第 4 行“金额”" in body
    assert 'id="reconcile-confirm"' not in body
    page = c.post(url, {"return_file": SimpleUploadedFile("回盘.csv", result_file(ready))})
    body = page.content.decode()
    assert "付款成功 1 笔，合计 240.00 元" in body and "退票 1 笔，合计 1,200.00 元" in body
    assert Payout.objects.filter(state="pending").count() == 3  # a preview changes nothing
    token = c.session[f"payouts.return:{batch.pk}"]["token"]
    done = c.post(reverse("payouts:reconcile-confirm", args=[batch.pk]), {"token": token},
                  follow=True).content.decode()
    assert "已核对回盘文件 回盘.csv：付款成功 1 笔 240.00 元" in done
    assert 'id="batch-returned">1 笔 · 1,200.00 元' in done
    assert "已退票" in done and "（待更正账号）" in done
    assert state_of(ready["c3"]) == ("approved", "returned")
    again = c.post(reverse("payouts:reconcile-confirm", args=[batch.pk]), {"token": token},
                   follow=True).content.decode()
    assert "请先上传回盘文件" in again
