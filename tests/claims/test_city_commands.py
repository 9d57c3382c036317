"""The whole 免申即享-to-the-bank chain from a fresh shell, through ``huzhu.cli.main`` as the
commands are written: ``huzhu feed run`` → ``huzhu proactive sample`` → the sample's
review (services) → ``huzhu proactive approve`` → ``huzhu payouts build|file|reconcile``
with a return file made from the bank file (1 failure); approve and reconcile again
change nothing; a return file with a wrong amount is refused with nothing applied; the
money audit and the ledger check pass at the end. (Each command's own rules are in
tests/feeds/test_proactive_review_command.py and tests/claims/test_payouts_command.py.)"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from huzhu.audit.models import AuditEntry
from huzhu.claims import money_audit
from huzhu.claims.models import Claim, Payout, PayoutBatch
from huzhu.cli import main
from huzhu.coverage import ledger
from huzhu.feeds.models.proactive import BatchRun, ProactiveSample, ProactiveSampleClaim
from huzhu.lib.money import MoneySum
from tests.claims.payouts.test_payouts import with_account
from tests.coverage.conftest import admin, free_scheme  # noqa: F401
from tests.feeds.batch_helpers import feed_file, member_stay
from tests.feeds.conftest import feed_dir  # noqa: F401
from tests.feeds.test_proactive_review import _review_sample, people  # noqa: F401

pytestmark = pytest.mark.django_db
N = 40  # members, stays and claims


def yuan(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def total(rows, field: str = "amount") -> Decimal:
    return rows.aggregate(s=MoneySum(field))["s"]


@pytest.fixture
def city(feed_dir, make_member, people):  # noqa: F811
    """40 members of 甲区 with bank accounts and a feed of one stay each (7,000.00 to
    10,900.00 out of pocket: all under the straight-through ceiling)."""
    members = [with_account(make_member("a1", name=f"会员{i:02d}",
                                        birth=dt.date(1970, 1, 1) + dt.timedelta(days=i)),
                            f"62220202{i:011d}", f"1380013{i:04d}") for i in range(N)]
    return feed_file(feed_dir, [member_stay(m, f"{7000 + 100 * i}.00")
                                for i, m in enumerate(members)])


def _return_file(bank_file: bytes, failed: dict[int, str], *, amount_of: dict[int, str]
                 | None = None) -> bytes:
    """The bank's result for every row of its file, by 序号: 成功 unless ``failed``
    names the row (with the bank's reason); ``amount_of`` overrides an amount."""
    rows = list(csv.reader(io.StringIO(bank_file.decode("gbk"))))
    head = rows[0]
    seq_at, amount_at = head.index("序号"), head.index("金额（元）")
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["序号", "金额", "状态", "失败原因"])
    for row in rows[1:]:
        if not row or not row[seq_at].isdigit():
            continue  # the file's 合计 line
        seq = int(row[seq_at])
        amount = (amount_of or {}).get(seq, row[amount_at])
        w.writerow([seq, amount, "失败" if seq in failed else "成功", failed.get(seq, "")])
    return out.getvalue().encode("gbk")


def test_from_feed_to_bank_through_the_commands(city, free_scheme, people,  # noqa: F811
                                                tmp_path, capsys):
    code = free_scheme.code
    assert main(["feed", "run", str(city), "--scheme", code]) == 0
    run = BatchRun.objects.get()
    assert f"测算编号 {run.pk}" in capsys.readouterr().err
    claims = Claim.objects.filter(settlement__isnull=False)
    assert claims.count() == N and not claims.exclude(source="proactive").exists()
    all_amount = total(claims, "computed")

    # The sample: 10% of the 40 straight-through claims, from seed 7.
    assert main(["proactive", "sample", str(run.pk), "--percent", "10", "--seed", "7",
                 "--as", "reviewer_city"]) == 0
    sample = ProactiveSample.objects.get()
    out = capsys.readouterr().out
    assert f"测算编号 {run.pk}：直通理赔 40 笔，合计 {yuan(all_amount)} 元" in out
    assert (f"抽取复核样本 4 笔（按 10% 随机抽取 4 笔；随机种子 7），"
            f"第 {sample.pk} 号抽样复核决定") in out
    sampled = set(ProactiveSampleClaim.objects.filter(sample=sample)
                  .values_list("claim_id", flat=True))
    _review_sample(sample, people)  # 初审 by reviewer_city2, 复审 by admin_city

    assert main(["proactive", "approve", str(run.pk), "--as", "reviewer_city2"]) == 0
    assert f"第 {sample.pk} 号抽样复核决定：批量核准 36 笔" in capsys.readouterr().out
    assert claims.filter(state=Claim.State.APPROVED).count() == N
    assert claims.filter(proactive_decision=sample.pk).count() == N - len(sampled)
    # Again: nothing more approved, and it says so.
    assert main(["proactive", "approve", str(run.pk), "--as", "reviewer_city2"]) == 0
    assert "批量核准 36 笔，本次核准 0 笔" in capsys.readouterr().out

    # Batches of at most 10, all paid by 甲区总工会 (the members' district).
    assert main(["payouts", "build", "--scheme", code, "--as", "finance_city",
                 "--max-per-batch", "10"]) == 0
    batches = list(PayoutBatch.objects.order_by("pk"))
    assert len(batches) == 4
    lines = capsys.readouterr().out.splitlines()
    for batch, line in zip(batches, lines, strict=False):
        sums = total(batch.payouts)
        assert line == f"给付批次 {batch.number}（甲区总工会）：10 笔，合计 {yuan(sums)} 元"
    assert lines[4] == f"共 4 个批次，40 笔，合计 {yuan(all_amount)} 元"

    first, second = batches[0], batches[1]
    bank = tmp_path / "f.csv"
    assert main(["payouts", "file", first.number, "--out", str(bank), "--format", "csv",
                 "--encoding", "gbk", "--as", "finance_city"]) == 0
    first_total = total(first.payouts)
    assert capsys.readouterr().out.strip() == (
        f"已写出给付批次 {first.number} 的银行转账文件 {bank}（脱敏账号）：待付款 10 笔，"
        f"合计 {yuan(first_total)} 元")

    # The bank's result: row 3 failed (account closed), the other nine paid.
    result = tmp_path / "回盘.csv"
    result.write_bytes(_return_file(bank.read_bytes(), {3: "账户不存在"}))
    failed = first.payouts.get(bank_seq=3)
    paid_total = first_total - failed.amount
    assert main(["payouts", "reconcile", first.number, str(result), "--as",
                 "finance_city"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        f"已核对给付批次 {first.number} 的回盘文件 回盘.csv：付款成功 9 笔 {yuan(paid_total)} 元，"
        f"付款失败 1 笔 {yuan(failed.amount)} 元，退票 0 笔 0.00 元")
    failed.refresh_from_db()
    assert (failed.state, failed.failure_reason) == ("failed", "账户不存在")
    assert first.payouts.filter(state="paid").count() == 9
    # Again: nothing changes.
    assert main(["payouts", "reconcile", first.number, str(result), "--as",
                 "finance_city"]) == 0
    assert capsys.readouterr().out.strip() == (
        "回盘文件 回盘.csv 已核对过：10 笔给付均已是文件所写的状态，未做任何变更")
    assert AuditEntry.objects.filter(action=AuditEntry.Action.PAYOUT_RECONCILED).count() == 1
    # Approve again once paid: the paid and failed claims are not approved a second time.
    states = dict(claims.values_list("pk", "state"))
    assert main(["proactive", "approve", str(run.pk), "--as", "reviewer_city2"]) == 0
    assert "批量核准 36 笔，本次核准 0 笔" in capsys.readouterr().out
    assert dict(claims.values_list("pk", "state")) == states

    # A result file whose amount does not match the batch's: refused, nothing applied.
    bank2 = tmp_path / "f2.csv"
    assert main(["payouts", "file", second.number, "--out", str(bank2), "--format", "csv",
                 "--encoding", "gbk", "--as", "finance_city"]) == 0
    wrong = tmp_path / "错误回盘.csv"
    wrong.write_bytes(_return_file(bank2.read_bytes(), {}, amount_of={5: "1.00"}))
    capsys.readouterr()
    assert main(["payouts", "reconcile", second.number, str(wrong), "--as",
                 "finance_city"]) == 1
    err = capsys.readouterr().err
    assert "错误回盘.csv 第 6 行“金额”" in err
    assert "1.00" in err
    assert set(second.payouts.values_list("state", flat=True)) == {"pending"}
    assert AuditEntry.objects.filter(action=AuditEntry.Action.PAYOUT_RECONCILED).count() == 1
    assert Payout.objects.filter(state="paid").count() == 9

    assert main(["audit", "money"]) == 0
    assert all(check.ok for check in money_audit.run())
    assert all(check.ok for check in ledger.check_all())
