"""Daily limits on what could rebuild or probe an ID number, and the alerts they raise.

Searching by a full ID number or its last four characters, and being refused because a
number is already registered, each tell the user something about numbers they may not
see. Each is written to the audit log (never the number itself), and past a per-user
daily limit the next one is refused and the user's admins are alerted once.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from huzhu.audit import log
from huzhu.audit.models import AuditEntry

SEARCH = AuditEntry.Action.MEMBER_SEARCHED
DUPLICATE = AuditEntry.Action.DUPLICATE_REFUSED
_LIMIT_SETTINGS = {SEARCH: "HUZHU_NUMBER_SEARCHES_PER_DAY",
                   DUPLICATE: "HUZHU_DUPLICATE_REFUSALS_PER_DAY"}
_WHAT = {SEARCH: "按证件号查询", DUPLICATE: "因证件号、银行账号或信用代码重复被拒"}


class LookupLimitReached(Exception):
    """The user has used today's allowance; the message is for them (Chinese)."""


def limit(action: str) -> int:
    return int(getattr(settings, _LIMIT_SETTINGS[action]))


def _today_start() -> dt.datetime:
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def used_today(user, action: str) -> int:
    return AuditEntry.objects.filter(actor=user, action=action,
                                     at__gte=_today_start()).count()


def _union_path(user) -> str:
    return user.union.path if user.union_id else "/"


def check(user, action: str, needed: int = 1) -> None:
    """Raise :class:`LookupLimitReached` when ``needed`` more would pass today's limit."""
    allowed = limit(action)
    if used_today(user, action) + needed <= allowed:
        return
    _alert_once(user, action, allowed)
    raise LookupLimitReached(
        f"您今天{_WHAT[action]}的次数已达上限（{allowed}次），本次操作未执行，"
        "已通知管理员；如确有需要，请联系管理员。")


def spend(user, action: str, summary: str, changes: dict | None = None,
          count: int = 1) -> None:
    """Record ``count`` uses (one audit entry each: the entries are the counter)."""
    for _ in range(count):
        log.record(user, action, None, union_path=_union_path(user), summary=summary,
                   changes=changes or {})


def _alert_once(user, action: str, allowed: int) -> None:
    already = AuditEntry.objects.filter(
        actor=user, action=AuditEntry.Action.SECURITY_ALERT, at__gte=_today_start(),
        changes__limit=action).exists()
    if not already:
        log.record(user, AuditEntry.Action.SECURITY_ALERT, None, union_path=_union_path(user),
                   summary=f"{user}今天{_WHAT[action]}的次数达到上限（{allowed}次），后续操作已被拒绝",
                   changes={"limit": action, "allowed": allowed})


def refuse_elsewhere(user, what: str, where: str, message: str, count: int = 1) -> str:
    """Count ``count`` refusals of a number (``what``: 身份证号, 银行账号 …) registered
    outside the user's scope and return ``message``, the one neutral text to show; past
    the daily limit, the limit's message instead."""
    try:
        check(user, DUPLICATE, needed=count)
    except LookupLimitReached as exc:
        return str(exc)
    spend(user, DUPLICATE, f"{where}：{what}已在其他工会登记，未予登记",
          {"what": what, "where": where}, count=count)
    return message
