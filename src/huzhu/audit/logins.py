"""Every login, failed login and lockout goes to the audit log.

The username typed is recorded (never the password: Django masks it before the signal),
with the client address; an entry about an existing account carries its union's path, so
admins see the logins of their own subtree. A login made in code (the test client,
scripts) has no HTTP request behind it and no client to record: it is left out.
"""

from __future__ import annotations

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.orgs.logins import client_ip, lockout_minutes

MAX_USERNAME = 150


def _from_http(request) -> bool:
    return request is not None and bool(getattr(request, "method", None))


def _account(username: str):
    if not username:
        return None
    return get_user_model().objects.filter(username=username).select_related("union").first()


def _path(user) -> str:
    union = getattr(user, "union", None)
    return union.path if union is not None else ""


def _where(request) -> str:
    return client_ip(request) or "未知地址"


def logged_in(sender, request, user, **kwargs) -> None:
    if not _from_http(request):
        return
    log.record(user, AuditEntry.Action.LOGGED_IN, union_path=_path(user),
               summary=f"账号“{user.get_username()}”登录成功，来自 {_where(request)}")


def login_failed(sender, credentials: dict, request=None, **kwargs) -> None:
    if not _from_http(request):
        return
    typed = str(credentials.get("username") or "")[:MAX_USERNAME]
    user = _account(typed)
    unknown = "" if user is not None else "（无此账号）"
    log.record(user, AuditEntry.Action.LOGIN_FAILED, union_path=_path(user),
               summary=f"用户名“{typed}”登录失败{unknown}，来自 {_where(request)}")
    request.huzhu_failure_audited = True
    pending = getattr(request, "huzhu_lockout_pending", None)
    if pending:
        _record_lockout(*pending)


def locked_out(sender, request, username, ip_address, **kwargs) -> None:
    """Axes reports a lockout from inside its own handler of the same failed login, which
    may run before or after ours (it depends on when axes was imported): the lockout is
    written after the failure that caused it either way."""
    if request is None or getattr(request, "huzhu_failure_audited", False):
        _record_lockout(username, ip_address)
    else:
        request.huzhu_lockout_pending = (username, ip_address)


def _record_lockout(username, ip_address) -> None:
    typed = str(username or "")[:MAX_USERNAME]
    user = _account(typed)
    log.record(user, AuditEntry.Action.LOCKED_OUT, union_path=_path(user),
               summary=f"用户名“{typed}”在 {ip_address or '未知地址'} 登录失败次数过多，"
                       f"该账号在此地址锁定 {lockout_minutes()} 分钟")


def connect() -> None:
    """Called from the audit app's ready()."""
    user_logged_in.connect(logged_in, dispatch_uid="huzhu.audit.logged_in")
    user_login_failed.connect(login_failed, dispatch_uid="huzhu.audit.login_failed")
    user_locked_out.connect(locked_out, dispatch_uid="huzhu.audit.locked_out")
