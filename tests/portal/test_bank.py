"""A member changes their bank account: masked on the page, confirmed by an SMS code,
saved sealed as staff save it, audited, and announced by SMS to the old phone too."""

from __future__ import annotations

import pytest

from huzhu.audit.models import AuditEntry
from huzhu.lib import crypto
from huzhu.members.models import Member
from huzhu.notify.models import OutboxMessage
from huzhu.portal.models import OneTimeCode
from tests.portal.conftest import PHONE, last_code, sign_in

pytestmark = pytest.mark.django_db
OLD = "6222020200112233445"
NEW = "6217000010098765432"


@pytest.fixture
def banked(member):
    member.set_bank_account(OLD)
    member.bank_name = "中国工商银行长春分行"
    member.save()
    return member


def _ask(client, account: str = NEW, bank: str = "中国建设银行长春分行"):
    return client.post("/member/bank/", {"account": account, "bank_name": bank})


def test_account_is_shown_masked(client, banked):
    sign_in(client, banked)
    page = client.get("/member/bank/").content.decode()
    assert "6222***********3445" in page and OLD not in page
    assert "中国工商银行长春分行" in page


def test_change_with_code_announced_and_audited(client, banked):
    sign_in(client, banked)
    response = _ask(client)
    assert response["Location"] == "/member/bank/confirm/"
    banked.refresh_from_db()
    assert banked.bank_account == OLD  # nothing changes before the code
    row = OneTimeCode.objects.get(purpose="bank")
    assert NEW not in bytes(row.pending_sealed).decode("latin-1")
    code = last_code(PHONE, "portal.bank_code")
    response = client.post("/member/bank/confirm/", {"code": code})
    assert response["Location"] == "/member/bank/"
    banked.refresh_from_db()
    assert banked.bank_account == NEW and banked.bank_last4 == "5432"
    assert banked.bank_name == "中国建设银行长春分行"
    assert banked.bank_account_hash == crypto.blind_index("bank:" + NEW)
    announced = OutboxMessage.objects.filter(kind="portal.bank_changed")
    assert [m.to for m in announced] == [PHONE]  # one phone: one SMS
    assert "修改为尾号 5432 的账号" in announced.get().text
    entry = AuditEntry.objects.get(action=AuditEntry.Action.MEMBER_UPDATED)
    assert entry.object_id == str(banked.pk) and entry.actor is None
    assert entry.changes == {"bank_account": "已修改",
                             "bank_name": ["中国工商银行长春分行", "中国建设银行长春分行"]}
    assert NEW not in entry.summary and "尾号 5432" in entry.summary


def test_old_and_new_phone_both_told(client, banked):
    """The phone on file changed (by staff) between the code and its confirmation:
    the phone the code went to and the phone now on file both hear of it."""
    sign_in(client, banked)
    _ask(client)
    code = last_code(PHONE, "portal.bank_code")
    Member.objects.filter(pk=banked.pk).update(phone="13611112222")
    client.post("/member/bank/confirm/", {"code": code})
    announced = OutboxMessage.objects.filter(kind="portal.bank_changed").order_by("pk")
    assert [m.to for m in announced] == [PHONE, "13611112222"]


def test_wrong_code_changes_nothing(client, banked):
    sign_in(client, banked)
    _ask(client)
    code = last_code(PHONE, "portal.bank_code")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        page = client.post("/member/bank/confirm/", {"code": wrong}).content.decode()
        assert "验证码不正确" in page
    page = client.post("/member/bank/confirm/", {"code": wrong}).content.decode()
    assert "验证码错误次数过多" in page
    page = client.post("/member/bank/confirm/", {"code": code}).content.decode()
    assert "验证码已失效" in page
    banked.refresh_from_db()
    assert banked.bank_account == OLD
    assert not OutboxMessage.objects.filter(kind="portal.bank_changed").exists()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.MEMBER_UPDATED).exists()


def test_bad_account_and_taken_account_refused(client, banked, other):
    other.set_bank_account(NEW)
    other.save()
    sign_in(client, banked)
    assert "银行账号应为12至30位数字" in _ask(client, "1234").content.decode()
    page = _ask(client).content.decode()
    assert "该银行账号已登记在其他会员名下" in page and other.name not in page
    assert not OneTimeCode.objects.filter(purpose="bank").exists()


def test_first_account_registered(client, member):
    sign_in(client, member)
    assert "您还没有登记银行账号" in client.get("/member/bank/").content.decode()
    _ask(client)
    client.post("/member/bank/confirm/", {"code": last_code(PHONE, "portal.bank_code")})
    member.refresh_from_db()
    assert member.bank_account == NEW
    entry = AuditEntry.objects.get(action=AuditEntry.Action.MEMBER_UPDATED)
    assert entry.changes["bank_account"] == "已登记"
    assert "登记为尾号 5432 的账号" in OutboxMessage.objects.get(kind="portal.bank_changed").text


def test_another_members_code_does_not_confirm(client, banked, other):
    sign_in(client, banked)
    _ask(client)
    mine = OneTimeCode.objects.get(purpose="bank")
    theirs = client.__class__()
    sign_in(theirs, other)
    session = theirs.session
    session["portal_bank_pending"] = mine.pk
    session.save()
    page = theirs.post("/member/bank/confirm/",
                       {"code": last_code(PHONE, "portal.bank_code")}).content.decode()
    assert "验证码已失效" in page
    other.refresh_from_db()
    assert other.bank_account_sealed is None
