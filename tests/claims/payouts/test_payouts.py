"""Payout batches: built from approved claims, one open batch per claim (the service and
the database), paid once with one ledger entry per payout however often it is asked,
failed payouts back to the queue, the bank file (xlsx and CSV read back), roles, scope,
the pages, and two finance users confirming one batch at the same moment (PostgreSQL)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
import time
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import call_command
from django.db import IntegrityError, connections, transaction
from django.urls import reverse

from huzhu.audit.models import AuditEntry
from huzhu.claims.ledger import paid_totals_by_period
from huzhu.claims.models import Claim, Payout, PayoutBatch
from huzhu.claims.payouts import build as payouts
from huzhu.claims.payouts import settle
from huzhu.claims.payouts.access import batches_visible_to
from huzhu.claims.payouts.bank_file import export_batch
from huzhu.claims.payouts.build import build_batch
from huzhu.claims.payouts.settle import batch_totals, mark_failed, mark_paid
from huzhu.claims.workflow import ClaimRefused, apply
from huzhu.coverage import ledger
from huzhu.coverage.models import Account, LedgerEntry
from huzhu.notify.models import OutboxMessage
from huzhu.orgs import roles
from huzhu.orgs.models import User
from tests.fixtures import PASSWORD

D = dt.date
PAID_ON = D(2026, 5, 1)  # the day the tests build their batches (tests/claims/conftest.py)


@pytest.fixture(autouse=True)
def clerk_a2(users, tree):
    """A clerk for the second grassroots union, to file its members' claims."""
    users["clerk_a2"] = User.objects.create_user(username="clerk_a2", password=PASSWORD,
                                                 role="clerk", union=tree["a2"])
    return users["clerk_a2"]


def approved(file_hospital, users, member, out_of_pocket="12000.00") -> Claim:
    """File, submit, review and approve a hospital claim, as the workflow does."""
    filer = "clerk_a1" if member.union.code == "G011" else "clerk_a2"
    claim = file_hospital(member, out_of_pocket=out_of_pocket, user=filer)
    apply(users[filer], claim.pk, "submit")
    apply(users["reviewer_da"], claim.pk, "first_pass")
    return apply(users["admin_city"], claim.pk, "approve")


def with_account(member, account: str, phone: str = ""):
    member.set_bank_account(account)
    if phone:
        member.phone = phone
    member.save()
    return member


@pytest.fixture
def ready(users, staff, file_hospital):
    """Three approved claims of members with accounts (240, 300, 800 yuan), one approved
    claim of a member without, one claim still waiting for review."""
    m1 = with_account(staff["m1"], "6222020200112345678", "13800138001")
    m2 = with_account(staff["m2"], "6222020200118765432", "13800138002")
    m3 = with_account(staff["a2x"], "6217000010012345678")
    claims = {
        "c1": approved(file_hospital, users, m1),  # 12,000 × 2% = 240
        "c2": approved(file_hospital, users, m2, out_of_pocket="15000.00"),  # 300
        "c3": approved(file_hospital, users, m3, out_of_pocket="40000.00"),  # 3% = 1,200
        "no_account": approved(file_hospital, users, staff["m3"]),
    }
    waiting = file_hospital(staff["m4"])
    apply(users["clerk_a1"], waiting.pk, "submit")
    claims["waiting"] = waiting
    return claims


def fresh(claim: Claim) -> Claim:
    return Claim.objects.get(pk=claim.pk)


def payout_entries() -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYOUT).order_by("pk"))


# ---------------------------------------------------------------- building a batch

def test_a_batch_holds_the_approved_claims_and_reports_those_without_an_account(
        users, ready, changchun):
    finance = users["finance_city"]
    before = payouts.readiness(finance, changchun)
    assert (before.count, before.total, before.without_account) == (3, Decimal("1740.00"), 1)
    batch = build_batch(finance, changchun)
    assert batch.number.startswith("GF2026") and batch.state == "open"
    assert [c.number for c in batch.without_account] == [ready["no_account"].number]
    rows = list(batch.payouts.order_by("claim_id").values_list("claim_id", "amount", "state"))
    assert rows == [(ready["c1"].pk, Decimal("240.00"), "pending"),
                    (ready["c2"].pk, Decimal("300.00"), "pending"),
                    (ready["c3"].pk, Decimal("1200.00"), "pending")]
    for key in ("c1", "c2", "c3"):
        claim = fresh(ready[key])
        assert claim.state == "in_batch"
        last = claim.history.last()
        assert (last.action, last.from_state, last.to_state) == ("batch", "approved", "in_batch")
        assert batch.number in last.note and last.actor == finance
    assert fresh(ready["no_account"]).state == "approved"
    assert fresh(ready["waiting"]).state == "submitted"
    audit = AuditEntry.objects.filter(action=AuditEntry.Action.CLAIM_CHANGED,
                                      summary__contains="加入给付批次")
    assert audit.count() == 3
    entry = AuditEntry.objects.get(action=AuditEntry.Action.PAYOUT_CHANGED)
    assert "3 笔，合计 1,740.00 元" in entry.summary and "1 件因无银行账号未纳入" in entry.summary
    totals = batch_totals(batch)
    assert (totals.count, totals.total, totals.pending) == (3, Decimal("1740.00"), 3)
    after = payouts.readiness(finance, changchun)
    assert (after.count, after.without_account) == (0, 1)
    assert payouts.without_account(finance, changchun).get() == fresh(ready["no_account"])


def test_chosen_claims_only_and_each_must_be_ready(users, ready, changchun):
    finance = users["finance_city"]
    batch = build_batch(finance, changchun, claim_ids=[ready["c1"].pk])
    assert list(batch.payouts.values_list("claim_id", flat=True)) == [ready["c1"].pk]
    with pytest.raises(ClaimRefused, match="不能加入给付批次") as refused:
        build_batch(finance, changchun, claim_ids=[ready["c2"].pk, ready["waiting"].pk])
    assert "待初审" in str(refused.value)
    with pytest.raises(ClaimRefused, match="1 件理赔不存在或不在您的管辖范围内"):
        build_batch(finance, changchun, claim_ids=[ready["c2"].pk, 10**9])
    assert fresh(ready["c2"]).state == "approved"  # a refusal changes nothing
    assert PayoutBatch.objects.count() == 1


def test_a_claim_is_in_one_open_batch_only(users, ready, changchun):
    finance = users["finance_city"]
    first = build_batch(finance, changchun, claim_ids=[ready["c1"].pk])
    with pytest.raises(ClaimRefused, match="理赔当前为“给付中”，不能加入给付批次"):
        build_batch(users["admin_city"], changchun, claim_ids=[ready["c1"].pk])
    refusal = AuditEntry.objects.filter(action=AuditEntry.Action.PAYOUT_CHANGED,
                                        summary__startswith="给付操作被拒绝").get()
    assert refusal.actor == users["admin_city"] and "给付中" in refusal.summary
    # Everything left goes into a second batch; nothing is ready for a third.
    second = build_batch(finance, changchun)
    assert set(second.payouts.values_list("claim_id", flat=True)) == {ready["c2"].pk,
                                                                      ready["c3"].pk}
    with pytest.raises(ClaimRefused, match="没有可以加入给付批次的理赔：1 件"):
        build_batch(finance, changchun)
    assert Payout.objects.filter(claim=ready["c1"]).count() == 1
    # The database refuses a second pending payout of the claim, whatever the code does.
    with pytest.raises(IntegrityError), transaction.atomic():
        Payout.objects.create(batch=second, claim=ready["c1"], amount=Decimal("240.00"))
    assert first.payouts.get().state == "pending"


def test_the_database_stops_a_second_pending_payout_that_the_checks_missed(
        users, ready, changchun, monkeypatch):
    """A claim put back to approved behind the services' back while its payout is still
    pending, and a selection that forgot to leave out pending payouts: the bulk insert
    meets the unique index, and nothing is written."""
    finance = users["finance_city"]
    build_batch(finance, changchun, claim_ids=[ready["c1"].pk])
    Claim.objects.filter(pk=ready["c1"].pk).update(state="approved")
    monkeypatch.setattr(payouts, "ready_claims", lambda user, scheme: Claim.objects.filter(
        scheme=scheme, state="approved", final__gt=0))
    with pytest.raises(ClaimRefused, match="另一个待付款的批次"):
        build_batch(finance, changchun)
    assert PayoutBatch.objects.count() == 1 and Payout.objects.count() == 1
    assert fresh(ready["c2"]).state == "approved"


# ---------------------------------------------------------------- paid

def test_mark_paid_posts_one_entry_per_payout_and_the_ledger_check_passes(
        users, ready, changchun, capsys):
    finance = users["finance_city"]
    batch = build_batch(finance, changchun)
    assert mark_paid(finance, batch, PAID_ON) == 3
    period = changchun.periods.get()
    entries = payout_entries()
    assert len(entries) == 3
    by_reference = {e.reference: e for e in entries}
    for p in batch.payouts.select_related("claim"):
        e = by_reference[f"payout:{p.pk}"]
        assert (e.debit, e.credit, e.amount) == (Account.BENEFIT_EXPENSE, Account.BANK, p.amount)
        assert (e.scheme_id, e.period_id, e.booked_on) == (changchun.pk, period.pk, PAID_ON)
        assert (p.state, p.paid_on) == ("paid", PAID_ON)
        assert p.claim.state == "paid" and p.claim.paid_at is not None
        assert p.claim.history.last().action == "pay"
    assert ledger.summary(changchun, period).payouts == Decimal("1740.00")
    assert paid_totals_by_period() == {period.pk: Decimal("1740.00")}
    assert all(check.ok for check in ledger.check_all())
    call_command("ledger_check")  # exits 1 on a discrepancy
    assert "互助金账与已给付理赔一致" in capsys.readouterr().out
    batch.refresh_from_db()
    assert batch.state == "closed" and batch.closed_at is not None
    sms = OutboxMessage.objects.filter(kind="claims.paid").order_by("to")
    assert [m.to for m in sms] == ["13800138001", "13800138002"]  # m3 has no phone
    assert "已给付 240.00 元" in sms[0].text


def test_mark_paid_twice_pays_once(users, ready, changchun):
    finance = users["finance_city"]
    batch = build_batch(finance, changchun)
    with pytest.raises(ClaimRefused, match="早于批次"):
        mark_paid(finance, batch, D(1999, 1, 1))  # into 1999's statistics, once
    assert AuditEntry.objects.filter(summary__contains="付款日期 1999-01-01 早于批次").exists()
    assert mark_paid(finance, batch, PAID_ON) == 3
    assert mark_paid(finance, batch, PAID_ON) == 0
    assert mark_paid(users["admin_city"], batch, D(2026, 5, 1)) == 0
    assert len(payout_entries()) == 3
    assert OutboxMessage.objects.filter(kind="claims.paid").count() == 2
    assert Claim.objects.filter(state="paid").count() == 3
    assert all(check.ok for check in ledger.check_all())


def test_a_payment_date_in_the_future_is_refused(users, ready, changchun, today):
    batch = build_batch(users["finance_city"], changchun)
    with pytest.raises(ClaimRefused, match="不能晚于今天"):
        mark_paid(users["finance_city"], batch, today + dt.timedelta(days=1))
    assert payout_entries() == []


# ---------------------------------------------------------------- failed

def test_a_failed_payout_goes_back_to_approved_and_is_paid_once_later(users, ready, changchun):
    finance = users["finance_city"]
    batch = build_batch(finance, changchun)
    bounced = batch.payouts.get(claim=ready["c2"])
    with pytest.raises(ClaimRefused, match="请填写银行退回的原因"):
        mark_failed(finance, bounced, "  ")
    failed = mark_failed(finance, bounced, "户名与账号不符")
    assert (failed.state, failed.failure_reason) == ("failed", "户名与账号不符")
    claim = fresh(ready["c2"])
    assert claim.state == "approved"
    last = claim.history.last()
    assert (last.action, last.to_state) == ("fail", "approved") and "户名与账号不符" in last.note
    assert mark_failed(finance, bounced, "再次提交").failure_reason == "户名与账号不符"
    assert claim.history.filter(action="fail").count() == 1  # a retried request: no change
    assert mark_paid(finance, batch, PAID_ON) == 2
    assert not LedgerEntry.objects.filter(reference=f"payout:{bounced.pk}").exists()
    with pytest.raises(ClaimRefused, match="已确认付款，不能再标记为付款失败"):
        mark_failed(finance, batch.payouts.get(claim=ready["c1"]), "误操作")
    totals = batch_totals(batch)
    assert (totals.count, totals.total, totals.failed, totals.paid) == (
        2, Decimal("1440.00"), 1, 2)
    # The member's account is corrected; the claim goes into a new batch and is paid once.
    with_account(claim.member, "6222020200110000001")
    again = build_batch(finance, changchun)
    assert list(again.payouts.values_list("claim_id", flat=True)) == [claim.pk]
    assert mark_paid(finance, again, PAID_ON) == 1
    assert mark_paid(finance, again, PAID_ON) == 0
    assert fresh(claim).state == "paid"
    states = sorted(Payout.objects.filter(claim=claim).values_list("state", flat=True))
    assert states == ["failed", "paid"]
    references = [e.reference for e in payout_entries()]
    assert len(references) == 3 and len(set(references)) == 3
    assert references.count(f"payout:{again.payouts.get().pk}") == 1
    assert paid_totals_by_period() == {changchun.periods.get().pk: Decimal("1740.00")}
    assert all(check.ok for check in ledger.check_all())
    # Paid at most once, in the database too.
    with pytest.raises(IntegrityError), transaction.atomic():
        Payout.objects.create(batch=again, claim=claim, amount=Decimal("300.00"),
                              state="paid")


def test_a_batch_whose_last_pending_payout_fails_is_closed(users, ready, changchun):
    finance = users["finance_city"]
    batch = build_batch(finance, changchun, claim_ids=[ready["c1"].pk])
    mark_failed(finance, batch.payouts.get(), "账户已销户")
    batch.refresh_from_db()
    assert batch.state == "closed"
    assert mark_paid(finance, batch, PAID_ON) == 0
    assert payout_entries() == []


def test_the_ledger_check_names_a_paid_payout_that_is_not_in_the_ledger(users, ready,
                                                                        changchun):
    batch = build_batch(users["finance_city"], changchun)
    Payout.objects.filter(batch=batch).update(state="paid")  # behind the services' back
    checks = ledger.check_all()
    bad = [c for c in checks if not c.ok]
    assert bad and "给付" in bad[0].name and "账上 0" in bad[0].detail


# ---------------------------------------------------------------- the bank file

def read_xlsx(data: bytes) -> tuple[list[list], openpyxl.worksheet.worksheet.Worksheet]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    return [[cell.value for cell in row] for row in sheet.iter_rows()], sheet


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel opens it as UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


HEADER = ["序号", "户名", "证件号码", "银行账号", "开户行", "金额（元）", "用途", "理赔编号",
          "会员所在单位"]


def test_the_bank_file_in_xlsx(users, ready, changchun):
    finance = users["finance_city"]
    member = ready["c1"].member
    member.name = "=HYPERLINK(\"http://x\")"  # data that looks like a formula stays text
    member.bank_name = "中国工商银行长春分行"
    member.save()
    batch = build_batch(finance, changchun)
    rows, sheet = read_xlsx(export_batch(finance, batch, "xlsx", full=True,
                                         purpose="报送银行办理代发"))
    assert rows[0] == HEADER
    assert rows[1] == ["1", '=HYPERLINK("http://x")', member.id_number, "6222020200112345678",
                       "中国工商银行长春分行", 240, "住院医疗补贴", ready["c1"].number,
                       "长春一汽零部件有限公司"]
    assert rows[3][:4] == ["3", "郑甲", ready["c3"].member.id_number, "6217000010012345678"]
    assert rows[3][4] is None and rows[3][8] == "甲区第二医院"  # no bank on record: blank
    assert rows[4][0] == "合计 3 笔 1740.00 元" and rows[4][5] == 1740
    assert len(rows) == 5
    cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
    assert not [c for c in cells if c.data_type == "f"]
    assert sheet["D2"].data_type == "s" and sheet["F2"].data_type == "n"
    assert sheet["F2"].number_format == "0.00" and sheet["F5"].number_format == "0.00"
    assert Decimal(str(sheet["F3"].value)) == Decimal("300.00")
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.PAYOUT_CHANGED,
                                      summary__contains="导出").get()
    assert entry.changes["full_numbers"] is True and entry.changes["purpose"] == "报送银行办理代发"
    assert entry.changes["文件样式"] == "通用格式" and entry.changes["文件编码"] == "UTF-8"
    assert "完整账号" in entry.summary and "报送银行办理代发" in entry.summary
    assert "（Excel 表格，完整账号，3 笔，合计 1,740.00 元），通用格式，用途：报送银行办理代发" \
        in entry.summary


def test_the_bank_file_in_csv_masked_and_full(users, ready, changchun):
    finance = users["finance_city"]
    member = ready["c2"].member
    member.name = "+钱二"
    member.bank_name = "@银行"
    member.save()
    batch = build_batch(finance, changchun)
    masked = read_csv(export_batch(finance, batch, "csv"))
    assert masked[0] == HEADER
    first = ready["c1"].member.id_number
    assert masked[1][:4] == ["1", ready["c1"].member.name, first[:2] + "*" * 14 + first[-2:],
                             "6222***********5678"]
    assert masked[1][5] == "240.00" and masked[1][6] == "住院医疗补贴"
    assert masked[2][1] == "'+钱二" and masked[2][4] == "'@银行"  # Excel would run them
    assert masked[-1] == ["合计 3 笔 1740.00 元", "", "", "", "", "1740.00", "", "", ""]
    assert len(masked) == 5
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in masked for cell in row)
    full = read_csv(export_batch(finance, batch, "csv", full=True, purpose="报送银行代发"))
    assert [r[3] for r in full[1:4]] == ["6222020200112345678", "6222020200118765432",
                                         "6217000010012345678"]
    assert [r[2] for r in full[1:4]] == [ready[k].member.id_number for k in ("c1", "c2", "c3")]
    assert [r[7] for r in full[1:4]] == [ready[k].number for k in ("c1", "c2", "c3")]
    # Only what is still to be paid goes to the bank, numbered again from 1.
    mark_failed(finance, batch.payouts.get(claim=ready["c1"]), "账户冻结")
    rest = read_csv(export_batch(finance, batch, "csv"))
    assert len(rest) == 4 and rest[-1][0] == "合计 2 笔 1500.00 元"
    assert [r[0] for r in rest[1:3]] == ["1", "2"]
    mark_paid(finance, batch, PAID_ON)
    with pytest.raises(ClaimRefused, match="没有待付款的给付"):
        export_batch(finance, batch, "csv")


def test_the_bank_file_in_the_daifa_layout(users, ready, changchun):
    finance = users["finance_city"]
    batch = build_batch(finance, changchun)
    rows, sheet = read_xlsx(export_batch(finance, batch, "xlsx", layout="daifa"))
    assert rows[0] == ["序号", "收款人账号", "收款人户名", "金额（元）", "证件类型", "证件号码",
                       "收款人开户行", "摘要"]
    assert rows[1][:5] == ["1", "6222***********5678", ready["c1"].member.name, 240,
                           "居民身份证"]
    assert rows[1][7] == "住院医疗补贴" and sheet["D2"].number_format == "0.00"
    assert len(rows) == 4  # no total row: a 代发 upload reads every row as a payment
    data = read_csv(export_batch(finance, batch, "csv", layout="daifa"))
    assert len(data) == 4 and data[3][:4] == ["3", "6217***********5678", "郑甲", "1200.00"]
    with pytest.raises(ClaimRefused, match="没有这种银行文件格式，可选：通用格式、银行代发格式"):
        export_batch(finance, batch, "csv", layout="icbc")


def test_the_bank_file_in_gbk_and_a_name_gbk_cannot_write(users, ready, changchun):
    finance = users["finance_city"]
    batch = build_batch(finance, changchun)
    data = export_batch(finance, batch, "csv", encoding="gbk")
    assert not data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("gbk"))))
    assert rows[0] == HEADER and rows[3][1] == "郑甲" and rows[-1][5] == "1740.00"
    assert "户名".encode("gbk") in data  # GBK bytes, not UTF-8
    member = ready["c2"].member
    member.name = "钱𠈌"  # outside GBK: refused, not guessed
    member.save()
    before = AuditEntry.objects.filter(summary__startswith="导出给付批次").count()
    with pytest.raises(ClaimRefused) as refused:
        export_batch(finance, batch, "csv", encoding="gbk")
    assert str(refused.value) == (
        f"不能导出 GBK 编码的文件：序号 2（理赔编号 {ready['c2'].number}）的户名“钱𠈌”"
        "含 GBK 编码无法表示的字“𠈌”。请改用 UTF-8 编码或 Excel 表格导出，或与银行确认户名的写法")
    assert AuditEntry.objects.filter(summary__startswith="导出给付批次").count() == before
    assert AuditEntry.objects.filter(summary__startswith="给付操作被拒绝：不能导出 GBK").exists()
    assert read_csv(export_batch(finance, batch, "csv"))[2][1] == "钱𠈌"  # UTF-8 writes it
    with pytest.raises(ClaimRefused, match="GBK 编码只适用于 CSV 文件"):
        export_batch(finance, batch, "xlsx", encoding="gbk")
    with pytest.raises(ClaimRefused, match="文件编码只能是 UTF-8 或 GBK"):
        export_batch(finance, batch, "csv", encoding="big5")


def test_full_numbers_need_the_role_and_a_purpose(users, ready, changchun, monkeypatch):
    finance = users["finance_city"]
    batch = build_batch(finance, changchun)
    with pytest.raises(ClaimRefused, match="须写明用途"):
        export_batch(finance, batch, "xlsx", full=True, purpose="代发")
    with pytest.raises(ClaimRefused, match="导出格式"):
        export_batch(finance, batch, "pdf")
    # A role without full-number rights (members.see_full_id) gets the masked file only.
    monkeypatch.setitem(roles.CAPABILITIES, "members.see_full_id",
                        (frozenset({User.Role.ADMIN}), "只有管理员"))
    with pytest.raises(ClaimRefused, match="您的角色不能导出完整银行账号"):
        export_batch(finance, batch, "xlsx", full=True, purpose="报送银行代发")
    rows, _ = read_xlsx(export_batch(finance, batch, "xlsx"))
    assert rows[1][3] == "6222***********5678"
    refusals = AuditEntry.objects.filter(summary__startswith="给付操作被拒绝")
    assert refusals.count() == 3


# ---------------------------------------------------------------- roles and scope

@pytest.fixture
def district_finance(tree):
    def make(node: str) -> User:
        return User.objects.create_user(username=f"finance_{node}", password=PASSWORD,
                                        role="finance", union=tree[node])

    return make


def test_roles_and_scope(users, ready, changchun, district_finance):
    for name in ("clerk_a1", "reviewer_da", "auditor_city"):
        with pytest.raises(ClaimRefused, match="您的角色不能加入给付批次"):
            build_batch(users[name], changchun)
    other = district_finance("db")  # 乙区: none of the claims are its members'
    assert payouts.readiness(other, changchun).count == 0
    with pytest.raises(ClaimRefused, match="没有可以加入给付批次的理赔"):
        build_batch(other, changchun)
    with pytest.raises(ClaimRefused, match="1 件理赔不存在或不在您的管辖范围内"):
        build_batch(other, changchun, claim_ids=[ready["c1"].pk])
    own = district_finance("da")
    batch = build_batch(own, changchun)
    assert batch.union.code == "D01" and batch.payouts.count() == 3
    assert list(batches_visible_to(other)) == []
    assert list(batches_visible_to(users["finance_city"])) == [batch]
    for step in (lambda: export_batch(other, batch, "csv"),
                 lambda: mark_paid(other, batch, PAID_ON),
                 lambda: mark_failed(other, batch.payouts.first(), "户名不符")):
        with pytest.raises(ClaimRefused, match="不在您的管辖范围内"):
            step()
    with pytest.raises(ClaimRefused, match="您的角色不能确认已付款"):
        mark_paid(users["clerk_a1"], batch, PAID_ON)
    assert payout_entries() == [] and Claim.objects.filter(state="in_batch").count() == 3


# ---------------------------------------------------------------- the pages

def login(client, username):
    client.logout()
    assert client.login(username=username, password=PASSWORD)
    return client


def test_the_payout_pages(client, users, ready, changchun):
    c = login(client, "finance_city")
    page = c.get(reverse("payouts:list")).content.decode()
    assert 'id="nav-payouts"' in page and "生成给付批次" in page
    assert "1,740.00" in page and ready["no_account"].number in page
    response = c.post(reverse("payouts:build", args=[changchun.code]), follow=True)
    batch = PayoutBatch.objects.get()
    assert response.redirect_chain[-1][0] == reverse("payouts:detail", args=[batch.pk])
    body = response.content.decode()
    assert f"已生成给付批次 {batch.number}：3 笔，合计 1,740.00 元" in body
    assert "1 件理赔因会员没有登记银行账号" in body and "确认已付款" in body
    assert "6222***********5678" in body and "6222020200112345678" not in body
    # Not ticked: the first download is the masked file, not a refusal asking for a purpose.
    assert 'name="full" value="1" id="export-full">' in body
    assert '<option value="daifa">银行代发格式（序号、收款人账号、收款人户名' in body

    export = reverse("payouts:export", args=[batch.pk])
    assert c.get(export).status_code == 405  # a POST only: a link cannot start it
    refused = c.post(export, {"format": "xlsx", "full": "1", "purpose": ""}, follow=True)
    assert "须写明用途" in refused.content.decode()
    file = c.post(export, {"format": "csv", "full": "1", "purpose": "报送银行办理代发"})
    assert file["Content-Type"].startswith("text/csv") and "attachment" in \
        file["Content-Disposition"]
    assert read_csv(file.content)[1][3] == "6222020200112345678"
    xlsx = c.post(export, {"format": "xlsx"})
    assert read_xlsx(xlsx.content)[0][1][3] == "6222***********5678"
    gbk = c.post(export, {"format": "csv-gbk", "layout": "daifa"})
    assert gbk["Content-Type"] == "text/csv; charset=gbk"
    assert gbk.content.decode("gbk").startswith("序号,收款人账号,收款人户名")

    bounced = batch.payouts.get(claim=ready["c3"])
    row = c.post(reverse("payouts:fail", args=[bounced.pk]), {"reason": "户名与账号不符"},
                 HTTP_HX_REQUEST="true").content.decode()
    assert f'id="payout-{bounced.pk}"' in row and "户名与账号不符" in row
    assert 'hx-swap-oob="true"' in row and "2 笔 · 540.00 元" in row
    back = c.post(reverse("payouts:pay", args=[batch.pk]), {"paid_on": "1999-01-01"},
                  follow=True).content.decode()
    assert f"付款日期 1999-01-01 早于批次 {batch.number} 的建立日期 2026-05-01" in back
    assert batch.payouts.filter(state="pending").count() == 2
    done = c.post(reverse("payouts:pay", args=[batch.pk]), {"paid_on": "2026-05-01"},
                  follow=True).content.decode()
    assert "已确认付款 2 笔" in done and "已完成" in done
    again = c.post(reverse("payouts:pay", args=[batch.pk]), {"paid_on": "2026-05-01"},
                   follow=True).content.decode()
    assert "未重复付款" in again
    assert len(payout_entries()) == 2
    listing = c.get(reverse("payouts:list")).content.decode()
    assert batch.number in listing and "540.00" in listing


def test_the_pages_are_for_finance_and_admins_in_scope(client, users, ready, changchun,
                                                       district_finance):
    batch = build_batch(users["finance_city"], changchun)
    payout = batch.payouts.first()
    urls = [("get", reverse("payouts:list")), ("get", reverse("payouts:detail", args=[batch.pk])),
            ("post", reverse("payouts:build", args=[changchun.code])),
            ("post", reverse("payouts:export", args=[batch.pk])),
            ("post", reverse("payouts:pay", args=[batch.pk])),
            ("post", reverse("payouts:fail", args=[payout.pk]))]
    for name in ("clerk_a1", "reviewer_da", "auditor_city"):
        c = login(client, name)
        assert 'id="nav-payouts"' not in c.get(reverse("home")).content.decode()
        for method, url in urls:
            assert getattr(c, method)(url).status_code == 403, (name, url)
    district_finance("db")
    c = login(client, "finance_db")
    assert c.get(reverse("payouts:list")).status_code == 200
    assert batch.number not in c.get(reverse("payouts:list")).content.decode()
    for method, url in urls[1:]:
        if "new" in url:
            continue  # the city's scheme covers 乙区 too: building finds nothing to batch
        assert getattr(c, method)(url).status_code == 404, url
    assert login(client, "admin_city").get(
        reverse("payouts:detail", args=[batch.pk])).status_code == 200
    assert PayoutBatch.objects.get().payouts.filter(state="pending").count() == 3


# ---------------------------------------------------------------- PostgreSQL: at once

@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_finance_users_confirming_one_batch_at_once_pay_each_payout_once(
        users, staff, file_hospital, changchun, monkeypatch):
    # Widen the window between reading the pending payouts and writing them paid, so
    # that without the batch lock both users would read all six as pending.
    post = settle._post

    def slow_post(*args) -> None:
        post(*args)
        time.sleep(0.02)

    monkeypatch.setattr(settle, "_post", slow_post)
    for i, key in enumerate(("m1", "m2", "m3", "m4", "a2x", "a2y")):
        member = with_account(staff[key], f"62220202001{i:08d}")
        approved(file_hospital, users, member, out_of_pocket=f"{12000 + i * 1000}.00")
    batch = build_batch(users["finance_city"], changchun)
    assert batch.payouts.count() == 6
    results: list[int | str] = []
    barrier = threading.Barrier(2)

    def confirm(user: User) -> None:
        try:
            barrier.wait()
            results.append(mark_paid(user, batch, PAID_ON))
        except Exception as exc:  # reported by the assertion below
            results.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=confirm, args=(users[name],))
               for name in ("finance_city", "admin_city")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results, key=str) == [0, 6]
    entries = payout_entries()
    assert len(entries) == 6 and len({e.reference for e in entries}) == 6
    assert Payout.objects.filter(state="paid").count() == 6
    assert Claim.objects.filter(state="paid").count() == 6
    assert all(check.ok for check in ledger.check_all())
