"""Reversing (冲正) a mistaken ledger entry: finance asks with a reason, a second finance
person approves, and the approval posts the entry's mirror; the original stays. Only
entries booked by hand (subsidy income, adjustments) are reversed by hand."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, connections, transaction
from django.urls import reverse

from huzhu.audit.models import AuditEntry
from huzhu.coverage import enrolment, ledger, premiums, reversals, schemes
from huzhu.coverage.models import Account, LedgerEntry, LedgerReversal, PremiumNotice
from huzhu.coverage.refusals import CoverageRefused
from huzhu.orgs.models import User
from tests.coverage.conftest import TODAY
from tests.fixtures import PASSWORD

D = dt.date
pytestmark = pytest.mark.django_db
APPROVED_ON = D(2026, 3, 2)
A = AuditEntry.Action


@pytest.fixture(autouse=True)
def today(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: APPROVED_ON)


@pytest.fixture
def free_period(admin, free_scheme):
    return schemes.create_period(admin, free_scheme, name="2026年", start=D(2026, 1, 1),
                                 end=D(2026, 12, 31), premium=Decimal("0"),
                                 enrol_from=D(2026, 1, 1), enrol_until=D(2026, 12, 31))


@pytest.fixture
def finance2(tree):
    return User.objects.create_user("finance_city2", password=PASSWORD, role="finance",
                                    union=tree["city"], display_name="钱会计")


@pytest.fixture
def subsidy(users, free_scheme, free_period):
    """A mistaken booking: 1,000,000.00 where 100,000.00 was meant."""
    return premiums.fund_subsidy(users["finance_city"], free_scheme, free_period,
                                 amount=Decimal("1000000.00"), booked_on=D(2026, 1, 21),
                                 reference="长工发〔2026〕12号")


def ask(user, entry, reason="金额多录一个零，应为 100,000.00"):
    return reversals.request_reversal(user, entry.pk, reason=reason)


def test_an_approved_reversal_posts_the_mirror_and_keeps_the_original(
        users, finance2, free_scheme, free_period, subsidy):
    request = ask(users["finance_city"], subsidy)
    assert request.state == LedgerReversal.State.PENDING
    assert ledger.summary(free_scheme).subsidy_income == Decimal("1000000.00")

    done = reversals.approve(finance2, request.pk, note="核对拨款文件无误")
    mirror = LedgerEntry.objects.get(kind=LedgerEntry.Kind.REVERSAL)
    assert done.state == LedgerReversal.State.DONE and done.reversing_entry == mirror
    assert done.decided_by == finance2 and done.decision_note == "核对拨款文件无误"
    assert (mirror.debit, mirror.credit) == (Account.SUBSIDY_INCOME, Account.BANK)
    assert mirror.amount == Decimal("1000000.00")
    assert (mirror.scheme, mirror.period) == (free_scheme, free_period)
    assert mirror.booked_on == APPROVED_ON and mirror.created_by == finance2
    assert mirror.reference == f"reverse:{subsidy.pk}"
    assert mirror.memo == f"冲正第 {subsidy.pk} 号（补贴拨款）：金额多录一个零，应为 100,000.00"
    # the original is untouched, both stay on the ledger, and the balances net to zero
    original = LedgerEntry.objects.get(pk=subsidy.pk)
    assert (original.kind, original.debit, original.credit, original.amount,
            original.booked_on) == (LedgerEntry.Kind.SUBSIDY, Account.BANK,
                                    Account.SUBSIDY_INCOME, Decimal("1000000.00"),
                                    D(2026, 1, 21))
    assert LedgerEntry.objects.count() == 2
    total = ledger.summary(free_scheme, free_period)
    assert (total.subsidy_income, total.bank, total.fund_balance) == (Decimal("0.00"),) * 3
    assert all(check.ok for check in ledger.check_all())


def test_every_step_is_audited_in_chinese_with_two_decimals(users, finance2, free_scheme,
                                                             subsidy):
    request = ask(users["finance_city"], subsidy)
    reversals.approve(finance2, request.pk)
    mirror = LedgerEntry.objects.get(kind=LedgerEntry.Kind.REVERSAL)
    asked = AuditEntry.objects.get(action=A.REVERSAL_REQUESTED)
    assert asked.actor == users["finance_city"] and asked.union_path == free_scheme.union.path
    assert asked.summary == (f"申请冲正{free_scheme.name} 第 {subsidy.pk} 号分录（补贴拨款 "
                             f"1,000,000.00 元，2026-01-21）：金额多录一个零，应为 100,000.00")
    assert asked.changes["amount"] == "1000000.00"
    approved = AuditEntry.objects.get(action=A.REVERSAL_APPROVED)
    assert approved.actor == finance2
    assert approved.summary == (f"同意冲正{free_scheme.name} 第 {subsidy.pk} 号分录（补贴拨款 "
                                f"1,000,000.00 元，2026-01-21），记冲正分录第 {mirror.pk} 号 "
                                f"1,000,000.00 元（借 工会补贴拨款，贷 银行存款）")
    assert approved.changes == {"entry": subsidy.pk, "reversing_entry": mirror.pk,
                                "amount": "1000000.00",
                                "reason": "金额多录一个零，应为 100,000.00", "note": ""}
    assert approved.get_action_display() == "同意冲正并入账"


def test_the_requester_may_not_approve_or_reject_their_own_request(users, subsidy):
    request = ask(users["finance_city"], subsidy)
    with pytest.raises(CoverageRefused, match="不能审批自己提出的冲正申请，须由另一位财务人员审批"):
        reversals.approve(users["finance_city"], request.pk)
    with pytest.raises(CoverageRefused, match="不能审批自己提出的冲正申请"):
        reversals.reject(users["finance_city"], request.pk, note="撤回")
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL).exists()
    assert LedgerReversal.objects.get().state == LedgerReversal.State.PENDING
    refused = AuditEntry.objects.filter(action=A.REVERSAL_REFUSED)
    assert refused.count() == 2 and refused.first().get_action_display() == "冲正被拒"


def test_the_database_refuses_a_decision_by_the_requester(users, subsidy):
    request = ask(users["finance_city"], subsidy)
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerReversal.objects.filter(pk=request.pk).update(
            state=LedgerReversal.State.REJECTED, decided_by=users["finance_city"],
            decided_at=request.requested_at)


def test_a_second_approval_is_refused_and_posts_nothing(users, finance2, admin, subsidy):
    request = ask(users["finance_city"], subsidy)
    reversals.approve(finance2, request.pk)
    with pytest.raises(CoverageRefused, match="该冲正申请已冲正，不能再审批"):
        reversals.approve(admin, request.pk)
    with pytest.raises(CoverageRefused, match="该冲正申请已冲正，不能再审批"):
        reversals.reject(admin, request.pk, note="晚了")
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL).count() == 1
    mirror = LedgerEntry.objects.get(kind=LedgerEntry.Kind.REVERSAL)
    # nor may the entry be asked to be reversed again
    with pytest.raises(CoverageRefused) as refused:
        ask(finance2, subsidy)
    assert str(refused.value) == (f"第 {subsidy.pk} 号分录已冲正（冲正分录第 {mirror.pk} 号），"
                                  "不能再冲正")


def test_one_pending_request_per_entry(users, finance2, subsidy):
    ask(users["finance_city"], subsidy)
    with pytest.raises(CoverageRefused,
                       match=f"第 {subsidy.pk} 号分录已有待审批的冲正申请（finance_city 申请）"):
        ask(finance2, subsidy)
    # the database keeps it so whatever code writes the row
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerReversal.objects.create(entry=subsidy, reason="再来", requested_by=finance2)


def test_a_rejected_request_may_be_asked_again(users, finance2, free_scheme, subsidy):
    request = ask(users["finance_city"], subsidy)
    with pytest.raises(CoverageRefused, match="请填写驳回理由"):
        reversals.reject(finance2, request.pk, note="  ")
    rejected = reversals.reject(finance2, request.pk, note="拨款文件确为 1,000,000.00")
    assert rejected.state == LedgerReversal.State.REJECTED and rejected.reversing_entry is None
    assert AuditEntry.objects.get(action=A.REVERSAL_REJECTED).summary == (
        f"驳回冲正{free_scheme.name} 第 {subsidy.pk} 号分录（补贴拨款 1,000,000.00 元，"
        f"2026-01-21）：拨款文件确为 1,000,000.00")
    assert ledger.summary(free_scheme).subsidy_income == Decimal("1000000.00")
    again = ask(finance2, subsidy, reason="财政局来函更正为 100,000.00")
    reversals.approve(users["finance_city"], again.pk)
    assert ledger.summary(free_scheme).subsidy_income == Decimal("0.00")


def test_an_adjustment_is_reversed_too(users, finance2, free_scheme, free_period):
    entry = ledger.post(scheme=free_scheme, period=free_period,
                        kind=LedgerEntry.Kind.ADJUSTMENT, debit=Account.ADJUSTMENT,
                        credit=Account.BANK, amount=Decimal("12.35"), reference="adj:1",
                        booked_on=D(2026, 2, 1))
    reversals.approve(finance2, ask(users["finance_city"], entry).pk)
    mirror = LedgerEntry.objects.get(kind=LedgerEntry.Kind.REVERSAL)
    assert (mirror.debit, mirror.credit, mirror.amount) == (Account.BANK, Account.ADJUSTMENT,
                                                            Decimal("12.35"))
    assert ledger.balances(free_scheme)[Account.ADJUSTMENT] == Decimal("0.00")


def test_premium_entries_are_refused_naming_their_workflow(users, units, staff, period):
    enrolment.enrol_unit(users["clerk_a1"], period, units["a1"], on=TODAY)
    notice = PremiumNotice.objects.get()
    premiums.register_payment(users["finance_city"], notice.pk, amount=Decimal("150.00"),
                              paid_on=TODAY, bank_reference="B-1")
    due = LedgerEntry.objects.get(kind=LedgerEntry.Kind.PREMIUM_DUE)
    paid = LedgerEntry.objects.get(kind=LedgerEntry.Kind.PREMIUM_PAID)
    with pytest.raises(CoverageRefused) as refused:
        ask(users["finance_city"], due)
    assert str(refused.value) == (f"第 {due.pk} 号分录（应收互助金）：应收互助金分录由参保登记和"
                                  "退保记账，须与缴费通知一致，不能手工冲正；参保有误请办理退保")
    with pytest.raises(CoverageRefused, match="缴费有误请在缴费通知上按缴费流程更正"):
        ask(users["finance_city"], paid)
    assert not LedgerReversal.objects.exists()


def test_payout_entries_and_reversing_entries_are_refused(users, finance2, free_scheme,
                                                          free_period, subsidy):
    payout = ledger.post(scheme=free_scheme, period=free_period, kind=LedgerEntry.Kind.PAYOUT,
                         debit=Account.BENEFIT_EXPENSE, credit=Account.BANK,
                         amount=Decimal("3000.00"), reference="payout:1")
    with pytest.raises(CoverageRefused, match="银行退回的款项请在给付批次中核对银行回盘文件"):
        ask(users["finance_city"], payout)
    reversals.approve(finance2, ask(users["finance_city"], subsidy).pk)
    mirror = LedgerEntry.objects.get(kind=LedgerEntry.Kind.REVERSAL)
    with pytest.raises(CoverageRefused,
                       match=f"第 {mirror.pk} 号分录（冲正）：冲正分录不能再冲正"):
        ask(users["finance_city"], mirror)


def test_scope_role_reason_and_tampered_ids(users, tree, finance2, subsidy):
    district = User.objects.create_user("finance_da", password=PASSWORD, role="finance",
                                        union=tree["da"])
    with pytest.raises(CoverageRefused, match="的冲正由测试市总工会或其上级工会的财务办理"):
        ask(district, subsidy)
    for role in ("auditor_city", "clerk_a1", "reviewer_da"):
        with pytest.raises(CoverageRefused, match="只有财务和管理员可以办理冲正"):
            ask(users[role], subsidy)
    with pytest.raises(CoverageRefused, match="请填写冲正原因"):
        ask(users["finance_city"], subsidy, reason=" \n ")
    with pytest.raises(CoverageRefused, match="冲正原因最多 200 个字"):
        ask(users["finance_city"], subsidy, reason="错" * 201)
    with pytest.raises(CoverageRefused, match="没有第 999999 号分录"):
        reversals.request_reversal(users["finance_city"], 999999, reason="x")
    request = ask(users["finance_city"], subsidy)
    with pytest.raises(CoverageRefused, match="的冲正由测试市总工会或其上级工会的财务办理"):
        reversals.approve(district, request.pk)
    with pytest.raises(CoverageRefused, match="没有第 999999 号冲正申请"):
        reversals.approve(finance2, 999999)
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL).exists()


def test_a_closed_periods_entry_is_not_reversed(users, finance2, admin, free_period, subsidy):
    request = ask(users["finance_city"], subsidy)
    free_period.state = free_period.State.CLOSED
    free_period.save(update_fields=["state"])
    with pytest.raises(CoverageRefused, match="2026年已结束，其分录不能再冲正"):
        reversals.approve(finance2, request.pk)
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL).exists()


def test_the_check_names_a_reversal_nobody_approved(users, free_scheme, free_period, subsidy):
    assert all(check.ok for check in ledger.check_all())
    forged = ledger.post(scheme=free_scheme, period=free_period,
                         kind=LedgerEntry.Kind.REVERSAL, debit=Account.SUBSIDY_INCOME,
                         credit=Account.BANK, amount=Decimal("1000000.00"),
                         reference=f"reverse:{subsidy.pk}")
    failed = [c for c in ledger.check_all() if not c.ok]
    assert [(c.name, c.detail) for c in failed] == [
        ("冲正分录与原分录对应", f"第 {forged.pk} 号冲正分录与所冲正的分录不对应或未经审批")]


# ---------------------------------------------------------------- the pages

def login(client, username):
    assert client.login(username=username, password=PASSWORD)
    return client


def test_the_pages_show_both_entries_and_the_pending_request(client, users, finance2,
                                                             free_scheme, subsidy):
    login(client, "finance_city")
    page = client.post(reverse("coverage:reverse-entry", args=[subsidy.pk]),
                       {"reason": "金额多录一个零"})
    assert page.status_code == 302 and page.url == reverse("coverage:scheme-funds",
                                                           args=[free_scheme.code])
    request = LedgerReversal.objects.get()
    overview = client.get(reverse("coverage:funds")).content.decode()
    assert "1 笔冲正待审批" in overview
    own = client.get(page.url).content.decode()
    assert "待审批" in own and "待另一位财务人员审批" in own
    assert f'id="approve-{request.pk}"' not in own  # the requester gets no buttons

    login(client, "finance_city2")
    other = client.get(page.url).content.decode()
    assert f'id="approve-{request.pk}"' in other and f'id="reject-{request.pk}"' in other
    assert 'data-confirm="同意冲正第' in other
    done = client.post(reverse("coverage:reversal-approve", args=[request.pk]),
                       {"note": ""}, follow=True).content.decode()
    mirror = LedgerEntry.objects.get(kind=LedgerEntry.Kind.REVERSAL)
    assert f"已冲正第 {subsidy.pk} 号分录，冲正分录为第 {mirror.pk} 号" in done
    assert "已冲正" in done and f"见第 {mirror.pk} 号" in done
    assert f"冲正第 {subsidy.pk} 号" in done
    assert "没有待审批的冲正申请" in done


def test_the_requesters_own_approval_through_the_page_is_refused(client, users, subsidy):
    request = ask(users["finance_city"], subsidy)
    login(client, "finance_city")
    page = client.post(reverse("coverage:reversal-approve", args=[request.pk]), follow=True)
    assert "不能审批自己提出的冲正申请，须由另一位财务人员审批" in page.content.decode()
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL).exists()


def test_a_refused_request_is_shown_on_the_form(client, users, period, units, staff):
    enrolment.enrol_unit(users["clerk_a1"], period, units["a1"], on=TODAY)
    due = LedgerEntry.objects.get(kind=LedgerEntry.Kind.PREMIUM_DUE)
    login(client, "finance_city")
    page = client.post(reverse("coverage:reverse-entry", args=[due.pk]), {"reason": "错"})
    assert page.status_code == 200 and "参保有误请办理退保" in page.content.decode()
    assert not LedgerReversal.objects.exists()


@pytest.mark.parametrize("username", ["auditor_city", "clerk_a1", "reviewer_da"])
def test_other_roles_posts_are_forbidden(client, users, finance2, username, subsidy):
    request = ask(finance2, subsidy)
    login(client, username)
    for url in (reverse("coverage:reverse-entry", args=[subsidy.pk]),
                reverse("coverage:reversal-approve", args=[request.pk]),
                reverse("coverage:reversal-reject", args=[request.pk])):
        assert client.post(url, {"reason": "x", "note": "x"}).status_code == 403
    assert LedgerReversal.objects.get().state == LedgerReversal.State.PENDING


def test_another_unions_entry_and_request_are_not_found(client, tree, users, admin):
    scheme = schemes.create_scheme(admin, union=tree["db"], policy_name="changchun-2023",
                                   code="yiqu")
    period = schemes.create_period(admin, scheme, name="2026年", start=D(2026, 1, 1),
                                   end=D(2026, 12, 31), premium=Decimal("0"),
                                   enrol_from=D(2026, 1, 1), enrol_until=D(2026, 12, 31))
    entry = premiums.fund_subsidy(users["finance_city"], scheme, period,
                                  amount=Decimal("500.00"), booked_on=D(2026, 1, 5),
                                  reference="乙区拨款")
    request = ask(users["finance_city"], entry)
    User.objects.create_user("finance_da", password=PASSWORD, role="finance", union=tree["da"])
    login(client, "finance_da")
    assert client.get(reverse("coverage:reverse-entry", args=[entry.pk])).status_code == 404
    assert client.post(reverse("coverage:reverse-entry", args=[entry.pk]),
                       {"reason": "x"}).status_code == 404
    assert client.post(reverse("coverage:reversal-approve",
                               args=[request.pk])).status_code == 404
    assert client.get(reverse("coverage:scheme-funds", args=[scheme.code])).status_code == 404
    assert LedgerReversal.objects.get().state == LedgerReversal.State.PENDING


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_approvals_post_one_reversal(users, tree, subsidy):
    request = ask(users["finance_city"], subsidy)
    approvers = [User.objects.create_user(f"finance_p{i}", password=PASSWORD, role="finance",
                                          union=tree["city"]) for i in range(20)]
    results: list[str] = []

    def click(user: User) -> None:
        try:
            reversals.approve(user, request.pk)
            results.append("ok")
        except CoverageRefused:
            results.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click, args=(u,)) for u in approvers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok"] + ["refused"] * 19
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL).count() == 1
    assert all(check.ok for check in ledger.check_all())


def test_the_auditor_reads_the_ledger_and_the_audit_log_in_chinese(client, users, finance2,
                                                                   free_scheme, subsidy):
    reversals.approve(finance2, ask(users["finance_city"], subsidy).pk)
    login(client, "auditor_city")
    funds = client.get(reverse("coverage:scheme-funds", args=[free_scheme.code]))
    body = funds.content.decode()
    assert funds.status_code == 200 and "已冲正" in body and "申请冲正</a>" not in body
    log = client.get(reverse("audit:log")).content.decode()
    for words in ("申请冲正", "同意冲正并入账", f"冲正申请 原分录第 {subsidy.pk} 号",
                  "冲正分录编号", "原分录编号", "1,000,000.00 元"):
        assert words in log, words
