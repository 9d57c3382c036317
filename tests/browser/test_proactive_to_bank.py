"""A proactive (免申即享) run from sample to paid in real Chromium: a reviewer draws a 10%
sample on the run page, two reviewers take the sampled claims through 初审 and 复审 on
the claim pages, another reviewer approves the rest of the run in one decision; finance
builds the payout batch, downloads the bank file (CSV, GBK), uploads the bank's result
file with two failures, then a second one returning (退票) a transfer it had paid, each
previewed and confirmed; the returned claim waits for a corrected account, the clerk
corrects the member's account and the next batch pays it. The money audit and the
ledger check pass at the end, and every amount the pages showed has two decimals."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from huzhu.claims import money_audit
from huzhu.claims.models import Claim, Payout, PayoutBatch
from huzhu.coverage import ledger
from huzhu.feeds.models.proactive import ProactiveSample, ProactiveSampleClaim
from huzhu.notify.models import OutboxMessage
from huzhu.orgs.models import User
from tests.browser.conftest import login
from tests.claims.conftest import add_materials
from tests.claims.payouts.test_payouts import with_account
from tests.coverage.conftest import admin, free_scheme  # noqa: F401
from tests.feeds.batch_helpers import feed_file, member_stay, run_feed
from tests.feeds.conftest import feed_dir  # noqa: F401
from tests.fixtures import PASSWORD

pytestmark = pytest.mark.browser
N = 40
NEW_ACCOUNT = "6217000010099887766"
AMOUNT = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*元")


@pytest.fixture
def city(transactional_db, users, tree, feed_dir, make_member, free_scheme):  # noqa: F811
    """40 members of 甲区 with bank accounts and a proactive run of one stay each (7,000.00
    to 10,900.00 out of pocket, all straight through), two reviewers at the city."""
    for name in ("reviewer_city", "reviewer_city2"):
        User.objects.create_user(username=name, password=PASSWORD, role=User.Role.REVIEWER,
                                 union=tree["city"])
    members = [with_account(make_member("a1", name=f"会员{i:02d}",
                                        birth=dt.date(1970, 1, 1) + dt.timedelta(days=i)),
                            f"62220202{i:011d}", f"1380013{i:04d}") for i in range(N)]
    rows = [member_stay(m, f"{7000 + 100 * i}.00") for i, m in enumerate(members)]
    run = run_feed(feed_file(feed_dir, rows), free_scheme, user=users["admin_city"]).run
    return {"run": run, "scheme": free_scheme, "members": members}


class Reader:
    """Every text read off a page goes through here: its amounts must have two decimals."""

    def __init__(self, page) -> None:
        self.page = page
        self.amounts: list[str] = []

    def __call__(self, selector: str) -> str:
        text = self.page.locator(selector).inner_text()
        found = AMOUNT.findall(text)
        for amount in found:
            assert re.fullmatch(r"\d{1,3}(,\d{3})*\.\d{2}", amount), (selector, amount, text)
        self.amounts += found
        return text


def switch(page, username: str) -> None:
    page.click("#logout-button")
    page.wait_for_url(re.compile(r"/login/"))
    login(page, username, PASSWORD)


def state_is(page, label: str) -> None:
    page.wait_for_function(
        "label => document.querySelector('#claim-state')?.textContent.trim() === label",
        arg=label)


def bank_rows(data: bytes) -> list[dict]:
    rows = list(csv.reader(io.StringIO(data.decode("gbk"))))
    head = rows[0]
    return [dict(zip(head, r, strict=False)) for r in rows[1:] if r and r[0].isdigit()]


def result_file(path, rows: list[tuple[str, str, str, str]]) -> None:
    """A bank's 代发 result (GBK CSV): 序号, 交易金额, 处理结果, 失败原因."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["序号", "交易金额", "处理结果", "失败原因"])
    w.writerows(rows)
    path.write_bytes(out.getvalue().encode("gbk"))


def test_proactive_run_from_sample_to_bank(page, city, tmp_path):
    run, scheme = city["run"], city["scheme"]
    page.on("dialog", lambda dialog: dialog.accept())  # data-confirm's 确认
    read = Reader(page)

    # 1. A reviewer draws a 10% sample on the run page.
    login(page, "reviewer_city", PASSWORD)
    page.goto(f"/feeds/runs/{run.pk}/")
    assert "直通理赔 40 笔" in read("#straight-through")
    page.fill("#sample-percent", "10")
    page.fill("#sample-seed", "7")
    page.click("#sample-draw")
    page.wait_for_selector("#sample-summary")
    summary = read("#sample-summary")
    assert "按 10% 随机抽取 4 笔" in summary and "随机种子 7" in summary
    sample = ProactiveSample.objects.get()
    sampled = list(ProactiveSampleClaim.objects.filter(sample=sample)
                   .order_by("claim_id").values_list("claim_id", flat=True))
    assert len(sampled) == 4
    # The sampler may not approve the rest, and not while the sample is open.
    assert page.locator("#approve-rest").count() == 0
    refusal = read("#approve-refusal")
    assert refusal == "批量核准：您抽取了这份样本，批量核准须由另一位审核人员办理（双人审核）"

    # 2. Two reviewers take each sampled claim: 初审 by one, 复审 by another.
    for pk in sampled:  # the settlement's papers, as the filing office attaches them
        add_materials(Claim.objects.get(pk=pk), User.objects.get(username="reviewer_city2"))
    switch(page, "reviewer_city2")
    page.goto(f"/feeds/runs/{run.pk}/")  # another reviewer: not while the sample is open
    assert page.locator("#approve-rest").count() == 0
    assert "样本中还有 4 笔理赔未审完" in read("#approve-refusal")
    for pk in sampled:
        page.goto(f"/claims/{pk}/")
        page.click("#do-submit")
        state_is(page, "待初审")
        page.click("#do-first_pass")
        state_is(page, "待复审")
        assert page.locator("#do-approve").count() == 0  # four eyes
    switch(page, "admin_city")
    for pk in sampled:
        page.goto(f"/claims/{pk}/")
        page.click("#do-approve")
        state_is(page, "已审批待给付")
        read("#final")

    # 3. Another reviewer approves the rest of the run in one decision.
    switch(page, "reviewer_city2")
    page.goto(f"/feeds/runs/{run.pk}/")
    page.click("#approve-rest")
    page.wait_for_selector("#sample-decided")
    assert "批量核准 36 笔" in read("#sample-decided")
    claims = Claim.objects.filter(settlement__isnull=False)
    assert claims.filter(state=Claim.State.APPROVED).count() == N

    # 4. Finance builds the batch and downloads the bank file (CSV, GBK).
    switch(page, "finance_city")
    page.click("#nav-payouts")
    read(f"#ready-{scheme.code}")
    page.click(f"#build-{scheme.code}")
    page.wait_for_selector("#export-form")
    batch = PayoutBatch.objects.get()
    assert "40 笔" in read("#batch-total")
    page.check("#format-csv-gbk")
    with page.expect_download() as info:
        page.click("#export-submit")
    bank_file = tmp_path / "bank.csv"
    info.value.save_as(bank_file)
    rows = bank_rows(bank_file.read_bytes())
    assert len(rows) == N
    amount_of = {int(r["序号"]): r["金额（元）"] for r in rows}

    # 5. The bank's result: rows 2 and 5 failed, the rest paid; previewed, then confirmed.
    reasons = {2: "账户不存在", 5: "户名与账号不符"}
    first = tmp_path / "回盘一.csv"
    result_file(first, [(str(seq), amount, "失败" if seq in reasons else "成功",
                         reasons.get(seq, "")) for seq, amount in amount_of.items()])
    page.set_input_files("#return-file", str(first))
    page.click("#reconcile-upload")
    page.wait_for_selector("#reconcile-preview")
    assert "付款成功 38 笔" in read("#preview-paid")
    assert "付款失败 2 笔" in read("#preview-failed")
    assert "退票 0 笔，合计 0.00 元" in read("#preview-returned")
    page.click("#reconcile-confirm")
    page.wait_for_selector("#reconcile-form")
    assert "38 笔" in read("#batch-paid") and "2 笔" in read("#batch-failed")
    failed = {p.bank_seq: p for p in batch.payouts.filter(state="failed")}
    assert {seq: p.failure_reason for seq, p in failed.items()} == reasons

    # 6. A second result file: row 9, paid, now returned (the account was closed).
    second = tmp_path / "回盘二.csv"
    result_file(second, [("9", amount_of[9], "退票", "账户已销户")])
    page.set_input_files("#return-file", str(second))
    page.click("#reconcile-upload")
    page.wait_for_selector("#reconcile-preview")
    assert f"退票 1 笔，合计 {amount_of[9]} 元" in read("#preview-returned")
    page.click("#reconcile-confirm")
    page.wait_for_selector("#reconcile-form")
    assert f"1 笔 · {amount_of[9]} 元" in read("#batch-returned")
    returned = batch.payouts.get(bank_seq=9)
    assert (returned.state, returned.failure_reason) == ("returned", "账户已销户")
    claim, member = returned.claim, returned.claim.member
    told = list(OutboxMessage.objects.filter(member=member).values_list("text", flat=True))
    assert any(f"（{claim.number}）给付的 {amount_of[9]} 元被银行退回（账户已销户），"
               "请尽快到单位工会更正银行账号" in text for text in told), told

    # 7. The returned claim waits for a corrected account; the clerk corrects it.
    page.click("#nav-payouts")
    waiting = read(f"#awaiting-correction-{scheme.code}")
    assert "1 件理赔银行已退票，待更正账号" in waiting
    switch(page, "clerk_a1")
    page.goto(f"/members/{member.pk}/edit/")
    page.fill("#id_bank_account", NEW_ACCOUNT)
    page.click("#member-save")
    page.wait_for_url(re.compile(rf"/members/{member.pk}/$"))
    member.refresh_from_db()
    assert member.bank_account == NEW_ACCOUNT

    # 8. The next batch pays it (with the two failed ones), confirmed paid.
    switch(page, "finance_city")
    page.click("#nav-payouts")
    assert page.locator(f"#awaiting-correction-{scheme.code}").count() == 0
    page.click(f"#build-{scheme.code}")
    page.wait_for_selector("#pay-form")
    nxt = PayoutBatch.objects.exclude(pk=batch.pk).get()
    assert set(nxt.payouts.values_list("claim_id", flat=True)) == {
        claim.pk, *(p.claim_id for p in failed.values())}
    assert "3 笔" in read("#batch-total")
    page.check("#format-csv-gbk")
    with page.expect_download() as info:
        page.click("#export-submit")
    info.value.save_as(tmp_path / "bank2.csv")
    ours = [r for r in bank_rows((tmp_path / "bank2.csv").read_bytes())
            if claim.number in r.values()]
    assert len(ours) == 1 and any(v.endswith("7766") for v in ours[0].values())
    page.click("#pay-submit")
    page.wait_for_function(
        "() => document.querySelector('#batch-state')?.textContent.trim() === '已完成'")
    again = Payout.objects.get(batch=nxt, claim=claim)
    assert again.state == "paid" and again.account_hash == member.bank_account_hash
    page.goto(f"/claims/{claim.pk}/")
    state_is(page, "已给付")
    read("#final")
    assert claims.filter(state=Claim.State.PAID).count() == N

    assert all(check.ok for check in money_audit.run()), [
        (c.name, c.findings) for c in money_audit.run() if not c.ok]
    assert all(check.ok for check in ledger.check_all())
    assert len(read.amounts) >= 10
