"""应享未享: each kind of gap found under the right union, the take-up rate exact, the
scope of a grassroots clerk, the SMS once per member and run, the command and its files."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from huzhu.audit.models import AuditEntry
from huzhu.claims.models import Claim, Payout, PayoutBatch
from huzhu.cli import main
from huzhu.feeds.importing import import_feed
from huzhu.feeds.proactive import gaps
from huzhu.lib import crypto
from huzhu.members.idcard import make_id_number
from huzhu.members.models import Member
from huzhu.notify.models import OutboxMessage
from tests.claims.conftest import changchun, file_hospital  # noqa: F401  (fixtures)
from tests.coverage.conftest import admin, free_scheme, staff  # noqa: F401
from tests.feeds.batch_helpers import feed_file, member_stay, run_feed
from tests.feeds.conftest import feed_dir, stay  # noqa: F401
from tests.reports.conftest import clock  # noqa: F401

D = dt.date
S = Claim.State
pytestmark = pytest.mark.django_db

LATER_ID = make_id_number("220102", D(1990, 1, 1), 777)


@pytest.fixture
def city(users, staff, changchun, feed_dir, file_hospital, make_member, clock):  # noqa: F811
    """Members under a1 (m1 … m4), a2 (a2x) and b1 (b1x); one of each kind of gap."""
    clock.at(D(2026, 4, 1))
    m = dict(staff)
    m["b1x"] = make_member("b1", name="冯丙", birth=D(1979, 9, 9))
    for key in ("m1", "a2x", "b1x", "m3", "m4"):
        m[key].set_bank_account(f"62220202001122{m[key].pk:05d}")
    for key, phone in (("m1", "13900000001"), ("m2", "13900000002"),
                       ("a2x", "13900000003")):
        m[key].phone = phone
    for member in m.values():
        member.save()
    result = run_feed(feed_file(feed_dir, [
        member_stay(m["m1"], "7000.00"),     # approved: given 105.00
        member_stay(m["m2"], "8000.00"),     # no bank account: 120.00, cannot be paid
        member_stay(m["a2x"], "9000.00"),    # withdrawn: a stay the engine says pays
        member_stay(m["b1x"], "20000.00"),   # approved, its payout failed
        stay(LATER_ID, name="褚后"),          # no member yet: registered later
    ]), changchun)
    run = result.run
    claims = {c.member_id: c for c in Claim.objects.filter(settlement__isnull=False)}
    for key in ("m1", "b1x"):
        c = claims[m[key].pk]
        Claim.objects.filter(pk=c.pk).update(state=S.APPROVED, final=c.computed)
    Claim.objects.filter(pk=claims[m["a2x"].pk].pk).update(state=S.WITHDRAWN)
    batch = PayoutBatch.objects.create(number="PB202600001", scheme=changchun,
                                       union=m["b1x"].union, created_by=users["admin_city"])
    Payout.objects.create(batch=batch, claim=claims[m["b1x"].pk], amount=Decimal("400.00"),
                          state="failed", failure_reason="账户已销户")
    clock.at(D(2026, 4, 2))  # registered after the feed was imported
    later = Member(name="褚后", unit=m["m1"].unit, union=m["m1"].union, birth_date=D(1990, 1, 1),
                   gender="M")
    later.set_id_number(LATER_ID)
    later.save()
    m["later"] = later
    # A second feed imported, never run: m3's stay is open.
    import_feed(feed_file(feed_dir, [member_stay(m["m3"], "9000.00")], name="later.csv"))
    # Manual claims: rejected as late (fixable), rejected as not covered (a verdict), and
    # rejected as late but filed again (no longer missing).
    late = file_hospital(m["m4"], out_of_pocket="12000.00", day=D(2026, 3, 1))
    verdict = file_hospital(m["a2y"], out_of_pocket="12000.00", day=D(2026, 3, 2))
    refiled = file_hospital(m["m2"], out_of_pocket="12000.00", day=D(2026, 2, 3))
    Claim.objects.filter(pk__in=[late.pk, refiled.pk]).update(
        state=S.REJECTED, reject_code="late", reject_text="超过申请期限")
    Claim.objects.filter(pk=verdict.pk).update(state=S.REJECTED, reject_code="not_covered")
    again = file_hospital(m["m2"], out_of_pocket="12000.00", day=D(2026, 2, 3),
                          invoice_number="INV-again")
    assert again.pk
    return {"members": m, "run": run, "claims": claims, "late": late}


def _scope(scheme, **kw) -> gaps.Scope:
    return gaps.scope_for(scheme, **kw)


def _found(scope) -> set[tuple[str, str, str]]:
    return {(row.kind, row.union, row.member) for row in gaps.all_rows(scope)}


def test_each_kind_found_under_its_union(city, changchun):  # noqa: F811
    scope = _scope(changchun)
    assert _found(scope) == {
        ("unclaimed", "甲区二号基层工会", "郑甲"),
        ("not_run", "甲区一号基层工会", "孙三"),
        ("unmatched", "甲区一号基层工会", "褚后"),
        ("no_bank", "甲区一号基层工会", "钱二"),
        ("payout_failed", "乙区一号基层工会", "冯丙"),
        ("rejected", "甲区一号基层工会", "李四"),
    }
    rows = {row.kind: row for row in gaps.all_rows(scope)}
    assert rows["unclaimed"].amount == Decimal("135.00")
    assert rows["unclaimed"].missing == ("测算应给付住院医疗补贴，没有有效理赔"
                                         "（吉林大学第一医院 2026-03-10 出院）")
    assert rows["not_run"].amount is None
    assert rows["unmatched"].missing.startswith("结算未匹配到会员：导入时尚未登记为会员")
    assert rows["no_bank"].amount == Decimal("120.00")
    assert rows["payout_failed"].missing.startswith("银行付款失败：账户已销户")
    assert rows["payout_failed"].amount == Decimal("400.00")
    assert rows["rejected"].missing == (f"不予给付（超过申请期限，超过申请期限）："
                                        f"{city['late'].number} {city['late'].benefit_name}")
    member = city["members"]["m3"]
    assert rows["not_run"].id_number == crypto.mask_id_number(member.id_number)
    assert rows["not_run"].unit == member.unit.name


def test_take_up_rate_exact(city, changchun):  # noqa: F811
    summary = gaps.summarise(_scope(changchun))
    a1 = next(x for x in summary.lines if x.name == "甲区一号基层工会")
    # given: m1's 105.00; eligible: that and two stays not yet priced (m3 not run, the
    # member registered later) → 1 of 3 by count, 105.00 of 105.00 by amount.
    assert (a1.given, a1.given_amount, a1.eligible, a1.eligible_amount) == (
        1, Decimal("105.00"), 3, Decimal("105.00"))
    assert a1.rate_count == Decimal("33.3") and a1.rate_amount == Decimal("100.0")
    a2 = next(x for x in summary.lines if x.name == "甲区二号基层工会")
    assert (a2.given, a2.eligible, a2.eligible_amount, a2.rate_count, a2.rate_amount) == (
        0, 1, Decimal("135.00"), Decimal("0.0"), Decimal("0.0"))
    b1 = next(x for x in summary.lines if x.name == "乙区一号基层工会")
    # A failed payout leaves the claim approved: given, and listed to be paid again.
    assert (b1.given, b1.given_amount, b1.rate_count, b1.gaps["payout_failed"]) == (
        1, Decimal("400.00"), Decimal("100.0"), 1)
    total = summary.total
    assert (total.given, total.eligible) == (2, 5)
    assert total.given_amount == Decimal("505.00")
    assert total.eligible_amount == Decimal("640.00")
    assert total.rate_count == Decimal("40.0")
    assert total.rate_amount == Decimal("78.9")  # 505 / 640 = 78.90…
    districts = {x.name: x for x in gaps.by_children(summary)}
    assert districts["甲区总工会"].eligible == 4 and districts["甲区总工会"].given == 1
    assert districts["甲区总工会"].rate_count == Decimal("25.0")


def test_a_grassroots_clerk_sees_only_their_subtree(city, changchun, users, client):  # noqa: F811
    scope = _scope(changchun, user=users["clerk_b1"])
    assert scope.node.code == "G021"
    assert _found(scope) == {("payout_failed", "乙区一号基层工会", "冯丙")}
    scope = _scope(changchun, user=users["clerk_a1"])
    assert {k for k, _, _ in _found(scope)} == {"not_run", "unmatched", "no_bank", "rejected"}
    with pytest.raises(gaps.GapsRefused):
        _scope(changchun, user=users["clerk_a1"], union=city["members"]["b1x"].union)
    client.force_login(users["clerk_b1"])
    page = client.get("/feeds/gaps/", {"scheme": changchun.code})
    text = page.content.decode()
    assert page.status_code == 200 and "冯丙" not in text and "乙区一号基层工会" in text
    assert "钱二" not in text and "甲区" not in text
    listed = client.get("/feeds/gaps/payout_failed/", {"scheme": changchun.code}).content.decode()
    assert "冯丙" in listed and "账户已销户" in listed
    other = client.get("/feeds/gaps/no_bank/", {"scheme": changchun.code}).content.decode()
    assert "钱二" not in other
    away = client.get("/feeds/gaps/", {"scheme": changchun.code,
                                       "union": city["members"]["m1"].union_id})
    assert away.status_code == 404


def test_the_page_for_the_city(city, changchun, users, client):  # noqa: F811
    client.force_login(users["admin_city"])
    text = client.get("/feeds/gaps/", {"scheme": changchun.code}).content.decode()
    assert "甲区总工会" in text and "乙区总工会" in text and "40.0%" in text and "78.9%" in text
    assert "640.00" in text and "505.00" in text
    assert "提醒无银行账号的会员登记账号" in text
    for kind, name in (("unclaimed", "郑甲"), ("not_run", "孙三"), ("unmatched", "褚后"),
                       ("rejected", "李四")):
        listed = client.get(f"/feeds/gaps/{kind}/", {"scheme": changchun.code})
        assert listed.status_code == 200 and name in listed.content.decode()
    assert client.get("/feeds/gaps/nothing/", {"scheme": changchun.code}).status_code == 404
    xlsx = client.get("/feeds/gaps/export.xlsx", {"scheme": changchun.code})
    sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    assert [c.value for c in sheet[1]] == list(gaps.HEADERS)
    assert sheet.max_row == 7
    assert AuditEntry.objects.filter(action=AuditEntry.Action.FILE_DOWNLOADED).count() == 1


def test_sms_once_per_member_per_run(city, changchun, users, client):  # noqa: F811
    scope = _scope(changchun)
    first = gaps.notify_missing_accounts(scope, users["admin_city"])
    assert (first.candidates, first.written, first.no_phone) == (1, 1, 0)
    message = OutboxMessage.objects.get(kind="feeds.bank_account_missing")
    m2 = city["members"]["m2"]
    assert message.member_id == m2.pk and message.to == "13900000002"
    assert message.dedupe_key == f"feeds.bank_account_missing:{city['run'].pk}:{m2.pk}"
    assert message.text == (
        "【测试市总工会】钱二您好，您有长春市总工会在职职工补贴（住院医疗、非工伤意外伤害、"
        "家庭财产火灾损失）免申即享补助 120.00 元待发放，因您未登记银行账号暂无法转账，"
        "请尽快到单位工会登记本人银行账号。")
    # Pressed again (the page's button): nothing new.
    client.force_login(users["clerk_a1"])
    response = client.post("/feeds/gaps/notify/", {"scheme": changchun.code})
    assert response.status_code == 302
    assert OutboxMessage.objects.filter(kind="feeds.bank_account_missing").count() == 1
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.GAPS_NOTIFIED).order_by("id")
    assert [e.changes["created"] for e in entries] == [1, 0]
    assert entries[1].summary.startswith(
        "提醒无银行账号的会员登记账号：应提醒 1 人次，新写入发件箱 0 条，1 人次本次测算已提醒过")
    # Another district's clerk reminds nobody of a1's.
    client.force_login(users["clerk_b1"])
    client.post("/feeds/gaps/notify/", {"scheme": changchun.code})
    assert AuditEntry.objects.filter(action=AuditEntry.Action.GAPS_NOTIFIED).order_by(
        "id").last().changes["members"] == 0


def test_an_auditor_may_read_but_not_send(city, changchun, users, client):  # noqa: F811
    client.force_login(users["auditor_city"])
    assert client.get("/feeds/gaps/", {"scheme": changchun.code}).status_code == 200
    assert client.post("/feeds/gaps/notify/", {"scheme": changchun.code}).status_code == 403
    assert not OutboxMessage.objects.filter(kind="feeds.bank_account_missing").exists()


def test_the_command_prints_the_table_and_writes_the_list(city, changchun, tmp_path,  # noqa: F811
                                                          capsys):
    out = tmp_path / "gaps.csv"
    assert main(["proactive", "gaps", "--scheme", changchun.code, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "甲区一号基层工会" in printed and "乙区一号基层工会" in printed
    assert "33.3%" in printed and "40.0%" in printed and "78.9%" in printed
    assert "640.00" in printed and "应享未享清单 6 行已写入" in printed
    with open(out, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == list(gaps.HEADERS)
    by_member = {r[2]: r for r in rows[1:]}
    assert by_member["郑甲"][6] == "135.00" and by_member["孙三"][6] == ""
    assert by_member["钱二"][5] == "请会员到单位工会登记本人银行账号"

    xlsx = tmp_path / "b1.xlsx"
    assert main(["proactive", "gaps", "--scheme", changchun.code, "--union", "G021",
                 "--out", str(xlsx)]) == 0
    printed = capsys.readouterr().out
    assert "甲区" not in printed and "乙区一号基层工会" in printed
    sheet = load_workbook(xlsx).active
    assert [c.value for c in sheet[2]][:3] == ["乙区一号基层工会", "乙区建筑工程有限公司", "冯丙"]
    assert sheet.cell(2, 7).value == 400 and sheet.cell(2, 7).number_format == "#,##0.00"


def test_the_command_may_send_the_reminders(city, changchun, capsys):  # noqa: F811
    args = argparse.Namespace(scheme=changchun.code, union="G011", out=None, notify=True)
    assert gaps.run_command(args) == 0
    printed = capsys.readouterr().out
    assert "提醒无银行账号的会员登记账号：应提醒 1 人次，新写入发件箱 1 条" in printed
    assert gaps.run_command(args) == 0
    assert "新写入发件箱 0 条" in capsys.readouterr().out
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.GAPS_NOTIFIED).first()
    assert entry.actor is None and entry.union_path == city["members"]["m2"].union.path


def test_the_command_refuses_bad_input(city, changchun, tmp_path, capsys):  # noqa: F811
    assert main(["proactive", "gaps", "--scheme", "nope"]) == 2
    assert "没有编码为 nope 的保障项目" in capsys.readouterr().err
    assert main(["proactive", "gaps", "--scheme", changchun.code, "--union", "X9"]) == 2
    assert "没有编码为 X9 的工会" in capsys.readouterr().err
    bad = tmp_path / "gaps.txt"
    assert main(["proactive", "gaps", "--scheme", changchun.code, "--out", str(bad)]) == 2
    assert "清单文件应为 .xlsx 或 .csv" in capsys.readouterr().err and not bad.exists()


def test_a_returned_payment_and_one_paid_again(city, changchun, users):  # noqa: F811
    """退票 is listed once the Payout model has the state (matched on its value); a
    failed payout followed by a new one in a later batch is no longer a gap."""
    m1 = city["members"]["m1"]
    claim = city["claims"][m1.pk]
    batch = PayoutBatch.objects.create(number="PB202600002", scheme=changchun, union=m1.union,
                                       created_by=users["admin_city"])
    Payout.objects.create(batch=batch, claim=claim, amount=Decimal("105.00"), state="failed",
                          failure_reason="户名不符")
    Payout.objects.create(batch=batch, claim=claim, amount=Decimal("105.00"))
    b1x = city["members"]["b1x"]
    failed = Payout.objects.get(claim=city["claims"][b1x.pk])
    if "returned" in Payout.State.values:
        Payout.objects.filter(pk=failed.pk).update(state="returned", paid_on=D(2026, 4, 20),
                                                   returned_on=D(2026, 4, 25),
                                                   failure_reason="账户已销户")
    found = _found(_scope(changchun))
    assert ("payout_failed", "甲区一号基层工会", "赵一") not in found
    kind = "payout_returned" if "returned" in Payout.State.values else "payout_failed"
    assert (kind, "乙区一号基层工会", "冯丙") in found
    rows = [r for r in gaps.all_rows(_scope(changchun)) if r.member == "冯丙"]
    assert rows[0].todo == gaps.KINDS[kind].todo


def test_a_name_is_never_a_formula(city, changchun):  # noqa: F811
    member = city["members"]["m2"]
    Member.objects.filter(pk=member.pk).update(name="=HYPERLINK(1)")
    buffer = io.BytesIO()
    gaps.write_csv(gaps.all_rows(_scope(changchun)), buffer)
    assert "'=HYPERLINK(1)" in buffer.getvalue().decode("utf-8-sig")
