"""A member registers or changes their bank account (where payouts go).

Two steps: the new account and bank are kept sealed in a code row (like the member's
own, :mod:`huzhu.lib.crypto`) while a six-digit code goes by SMS to the member's phone;
the code confirms the change, which is saved as a staff edit saves it
(``Member.set_bank_account``: sealed, blind-indexed, last four), audited as a member
change, and announced by SMS to the phone the code was sent to and, should the member's
phone have been changed in between, to the new one too — an account change is how
payouts are stolen, and the owner of the old phone must hear of it.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.utils import timezone

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.lib import crypto
from huzhu.lib.errors import Refused
from huzhu.members.models import Member
from huzhu.notify import outbox
from huzhu.portal.models import MAX_TRIES, OneTimeCode
from huzhu.portal.signin import phone_index

_BANK_ACCOUNT = re.compile(r"\d{12,30}")  # the staff form's rule (members.forms)
PENDING_COLUMN = "portal.pending_bank_account"


class BankRefused(Refused):
    """A change that may not be made; the message is for the member."""


def clean_account(raw: str) -> str:
    value = re.sub(r"[\s-]", "", raw or "")
    if not _BANK_ACCOUNT.fullmatch(value):
        raise BankRefused("银行账号应为12至30位数字")
    return value


def _check_free(member: Member, account: str) -> None:
    holder = Member.objects.filter(
        bank_account_hash__in=crypto.blind_indexes("bank:" + account)).exclude(pk=member.pk)
    if holder.exists():
        raise BankRefused("该银行账号已登记在其他会员名下，不能登记，请联系单位工会")


def request_change(member: Member, raw_account: str, bank_name: str) -> OneTimeCode:
    """Keep the new account (sealed) and send the code to the member's phone."""
    phone = outbox.sms_number(member.phone)
    if phone is None:
        raise BankRefused("您的档案中没有可接收短信的手机号，请联系单位工会修改银行账号")
    account = clean_account(raw_account)
    bank_name = " ".join((bank_name or "").split())
    if not bank_name:
        raise BankRefused("请填写开户行，例如：中国工商银行长春分行")
    _check_free(member, account)
    with transaction.atomic():
        row, code = OneTimeCode.issue(
            OneTimeCode.Purpose.BANK, phone_index(phone), member=member, sent_to=phone,
            pending_sealed=crypto.seal(account, column=PENDING_COLUMN),
            pending_bank_name=bank_name[:60])
        outbox.enqueue(kind="portal.bank_code", to=phone,
                       text=f"您正在修改领取互助金的银行账号，验证码为 {code}，5 分钟内有效。"
                            "如非本人操作，请勿告诉他人并立即联系单位工会。",
                       dedupe_key=f"portal.bank_code:{row.pk}", member=member,
                       params={"code": code})
    return row


def confirm_change(member: Member, code_id: int, code: str) -> Member:
    """Save the pending account once ``code`` matches; a wrong code counts a try."""
    with transaction.atomic():
        row = (OneTimeCode.objects.select_for_update()
               .filter(pk=code_id, purpose=OneTimeCode.Purpose.BANK, member=member).first())
        if row is None or not row.live:
            raise BankRefused("验证码已失效（超过 5 分钟或错误次数过多），请重新提交")
        if not row.matches(code):
            # Counted and committed before refusing: raising inside the block would
            # roll the count back and allow unlimited tries.
            row.tries += 1
            row.save(update_fields=["tries"])
        else:
            return _apply(member, row)
    raise BankRefused("验证码不正确" if row.tries < MAX_TRIES else "验证码错误次数过多，请重新提交")


def _apply(member: Member, row: OneTimeCode) -> Member:
    """Inside the caller's transaction, with the code row locked."""
    sealed = row.pending_sealed
    if sealed is None:  # spent: the code row forgets the account once it is saved
        raise BankRefused("验证码已失效（超过 5 分钟或错误次数过多），请重新提交")
    account = crypto.unseal(sealed, column=PENDING_COLUMN)
    member = Member.objects.select_for_update().get(pk=member.pk)
    _check_free(member, account)
    had = member.bank_account_sealed is not None
    old_bank = member.bank_name
    member.set_bank_account(account)
    member.bank_name = row.pending_bank_name
    member.save(update_fields=["bank_account_sealed", "bank_account_hash", "bank_last4",
                               "bank_name", "updated_at"])
    row.used_at = timezone.now()
    row.pending_sealed = None
    row.save(update_fields=["used_at", "pending_sealed"])
    changes: dict[str, object] = {"bank_account": "已修改" if had else "已登记"}
    if old_bank != member.bank_name:
        changes["bank_name"] = [old_bank or None, member.bank_name or None]
    log.record(None, AuditEntry.Action.MEMBER_UPDATED, member,
               summary=f"会员“{member.name}”通过会员服务{'修改' if had else '登记'}"
                       f"银行账号（尾号 {member.bank_last4}），已短信验证",
               changes=changes)
    _announce(member, row, had)
    return member


def _announce(member: Member, row: OneTimeCode, had: bool) -> None:
    """The change, by SMS to the phone the code went to and to the member's phone now
    (one message when they are the same)."""
    what = "修改" if had else "登记"
    text = (f"{member.name}，您领取互助金的银行账号已于 "
            f"{timezone.localtime():%Y-%m-%d %H:%M} {what}为尾号 {member.bank_last4} 的账号。"
            "如非本人操作，请立即联系单位工会。")
    phones = [row.sent_to, outbox.sms_number(member.phone) or ""]
    for phone in dict.fromkeys(p for p in phones if p):
        outbox.enqueue(kind="portal.bank_changed", to=phone, text=text,
                       dedupe_key=f"portal.bank_changed:{row.pk}:{phone}", member=member)
