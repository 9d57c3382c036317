"""``huzhu payouts build|file|reconcile``: batches by the union that pays, cut at
``--max-per-batch``, with exact totals; the bank file the page writes, byte for byte;
the bank's result file reconciled and reconciled again; roles and scope."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from huzhu.audit.models import AuditEntry
from huzhu.claims.models import Claim, Payout, PayoutBatch
from huzhu.claims.workflow import apply
from huzhu.cli import main
from huzhu.orgs.models import User
from tests.claims.payouts import test_payouts as base
from tests.fixtures import PASSWORD

ready, clerk_a2, district_finance = base.ready, base.clerk_a2, base.district_finance
login, with_account = base.login, base.with_account


@pytest.fixture
def b_claim(users, tree, make_member, file_hospital) -> Claim:
    """An approved claim of a member of 乙区 (paid by 乙区总工会): 300.00."""
    reviewer = User.objects.create_user(username="reviewer_city", password=PASSWORD,
                                        role="reviewer", union=tree["city"])
    member = with_account(make_member("b1", name="冯丙", birth=dt.date(1979, 9, 9)),
                          "6222000000000000099", "13800138009")
    claim = file_hospital(member, out_of_pocket="15000.00", user="clerk_b1")
    apply(users["clerk_b1"], claim.pk, "submit")
    apply(reviewer, claim.pk, "first_pass")
    return apply(users["admin_city"], claim.pk, "approve")


def test_build_groups_by_paying_union_and_cuts_at_the_maximum(users, ready, b_claim,
                                                              changchun, capsys):
    assert main(["payouts", "build", "--scheme", changchun.code, "--as", "finance_city",
                 "--max-per-batch", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    a1, a2, b = PayoutBatch.objects.order_by("pk")
    assert [x.union.name for x in (a1, a2, b)] == ["甲区总工会", "甲区总工会", "乙区总工会"]
    assert out == [f"给付批次 {a1.number}（甲区总工会）：2 笔，合计 540.00 元",
                   f"给付批次 {a2.number}（甲区总工会）：1 笔，合计 1,200.00 元",
                   f"给付批次 {b.number}（乙区总工会）：1 笔，合计 300.00 元",
                   "共 3 个批次，4 笔，合计 2,040.00 元",
                   "1 件已审批的理赔因会员没有登记银行账号未纳入批次，请补录银行账号后再生成批次"]
    assert list(a1.payouts.values_list("claim_id", "amount")) == [
        (ready["c1"].pk, Decimal("240.00")), (ready["c2"].pk, Decimal("300.00"))]
    assert list(b.payouts.values_list("claim_id", flat=True)) == [b_claim.pk]
    assert Claim.objects.filter(state="in_batch").count() == 4
    # Nothing left to batch: refused with the reason, nothing made.
    assert main(["payouts", "build", "--scheme", changchun.code, "--as", "finance_city"]) == 1
    assert "没有可以加入给付批次的理赔" in capsys.readouterr().err
    assert PayoutBatch.objects.count() == 3


def test_the_page_builds_the_same_batches(client, users, ready, b_claim, changchun):
    c = login(client, "finance_city")
    done = c.post(reverse("payouts:build", args=[changchun.code]), follow=True)
    assert done.redirect_chain[-1][0] == reverse("payouts:list")  # two batches
    a, b = PayoutBatch.objects.order_by("pk")
    body = done.content.decode()
    assert f"已生成给付批次 {a.number}：3 笔，合计 1,740.00 元（甲区总工会付款）" in body
    assert f"已生成给付批次 {b.number}：1 笔，合计 300.00 元（乙区总工会付款）" in body


def test_file_writes_what_the_page_writes(client, users, ready, changchun, tmp_path, capsys):
    assert main(["payouts", "build", "--scheme", changchun.code, "--as", "finance_city"]) == 0
    batch = PayoutBatch.objects.get()
    capsys.readouterr()
    out = tmp_path / "代发.csv"
    assert main(["payouts", "file", batch.number, "--out", str(out), "--format", "csv",
                 "--encoding", "gbk", "--layout", "daifa", "--as", "finance_city"]) == 0
    assert capsys.readouterr().out.strip() == (
        f"已写出给付批次 {batch.number} 的银行转账文件 {out}（脱敏账号）：待付款 3 笔，"
        "合计 1,740.00 元")
    page = login(client, "finance_city").post(
        reverse("payouts:export", args=[batch.pk]), {"format": "csv-gbk", "layout": "daifa"})
    assert out.read_bytes() == page.content
    exports = list(AuditEntry.objects.filter(summary__startswith="导出给付批次")
                   .values_list("summary", flat=True))
    assert len(exports) == 2 and exports[0] == exports[1]
    assert list(batch.payouts.order_by("pk").values_list("bank_seq", flat=True)) == [1, 2, 3]
    # Full numbers need a purpose, as on the page.
    assert main(["payouts", "file", batch.number, "--out", str(out), "--full",
                 "--as", "finance_city"]) == 1
    assert "须写明用途" in capsys.readouterr().err


def test_reconcile_and_reconcile_again(users, ready, changchun, tmp_path, capsys):
    main(["payouts", "build", "--scheme", changchun.code, "--as", "finance_city"])
    batch = PayoutBatch.objects.get()
    main(["payouts", "file", batch.number, "--out", str(tmp_path / "f.xlsx"),
          "--as", "finance_city"])
    capsys.readouterr()
    result = tmp_path / "回盘.csv"
    result.write_bytes("序号,金额,状态,失败原因\r\n1,240.00,成功,\r\n2,300.00,失败,账户冻结\r\n"
                       "3,1200.00,成功,\r\n".encode("gbk"))
    assert main(["payouts", "reconcile", batch.number, str(result), "--paid-on", "2026-05-01",
                 "--as", "finance_city"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"已核对给付批次 {batch.number} 的回盘文件 回盘.csv：付款成功 2 笔 1,440.00 元，"
        "付款失败 1 笔 300.00 元，退票 0 笔 0.00 元",
        "批次现状：已付款 2 笔 1,440.00 元，付款失败 1 笔 300.00 元，已退票 0 笔 0.00 元，"
        "待付款 0 笔 0.00 元"]
    assert main(["payouts", "reconcile", batch.number, str(result), "--as",
                 "finance_city"]) == 0
    assert capsys.readouterr().out.strip() == (
        "回盘文件 回盘.csv 已核对过：3 笔给付均已是文件所写的状态，未做任何变更")
    assert AuditEntry.objects.filter(action=AuditEntry.Action.PAYOUT_RECONCILED).count() == 1


def test_another_unions_batch_is_refused(users, ready, changchun, district_finance,
                                         tmp_path, capsys):
    main(["payouts", "build", "--scheme", changchun.code, "--as", "finance_city"])
    batch = PayoutBatch.objects.get()  # 甲区's
    district_finance("db")
    result = tmp_path / "r.csv"
    result.write_text("序号,金额,状态\n1,240.00,成功\n", encoding="utf-8")
    capsys.readouterr()
    for command in (["reconcile", batch.number, str(result)],
                    ["file", batch.number, "--out", str(tmp_path / "x.xlsx")]):
        assert main(["payouts", *command, "--as", "finance_db"]) == 1
        assert capsys.readouterr().err.strip() == (
            f"错误：没有给付批次 {batch.number}，或该批次不在您的管辖范围内")
    district_finance("da")  # 甲区's own finance may
    assert main(["payouts", "reconcile", batch.number, str(result), "--as", "finance_da"]) == 1
    assert "尚未导出过银行文件" in capsys.readouterr().err  # by 序号, and no file yet
    assert main(["payouts", "reconcile", batch.number, str(result), "--as",
                 "reviewer_da"]) == 1
    assert "您的角色不能核对银行回盘文件" in capsys.readouterr().err
    assert main(["payouts", "build", "--scheme", changchun.code, "--as", "nobody"]) == 1
    assert "没有用户“nobody”" in capsys.readouterr().err
    assert Payout.objects.filter(state="pending").count() == 3
