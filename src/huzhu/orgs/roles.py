"""One role table: what each staff role may do, as Django permissions.

A capability is named the way Django names a permission (``app_label.codename``), so
views ask ``user.has_perm("claims.pay")``, templates ``{% if perms.claims.pay %}``, and
:class:`RoleBackend` answers both from :data:`CAPABILITIES`. Scope (which union subtree a
user sees) is separate: ``visible_to(user)`` and each app's ``access.py``.

A superuser who belongs to no union node (``sees_everything``) may do everything, as
Django's own superuser may; an inactive or anonymous user nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from huzhu.orgs.models import User
from huzhu.orgs.scope import sees_everything

R = User.Role
ALL = frozenset(R)

# capability: (roles that hold it, why the others may not: the refusal shown to them)
CAPABILITIES: dict[str, tuple[frozenset[str], str]] = {
    # registry and everything a clerk writes (units, members, enrolments, claims)
    "orgs.write": (frozenset({R.CLERK, R.REVIEWER, R.ADMIN}), "您的角色只能查看，不能新增或修改"),
    "members.see_full_id": (frozenset({R.ADMIN, R.REVIEWER, R.FINANCE}),
                            "您的角色只能看到打码的身份证号和银行账号"),
    "audit.read_log": (frozenset({R.ADMIN, R.AUDITOR}), "只有管理员和审计人员可以查看审计日志"),
    "notify.read_outbox": (frozenset({R.ADMIN, R.AUDITOR}),
                           "只有管理员和审计人员可以查看短信发送记录"),
    "notify.retry": (frozenset({R.ADMIN}), "只有管理员可以重发短信"),
    "coverage.manage_schemes": (frozenset({R.ADMIN}), "只有管理员可以管理保障项目"),
    "coverage.register_payments": (frozenset({R.FINANCE, R.ADMIN}), "只有财务和管理员可以登记缴费"),
    "coverage.read_funds": (frozenset({R.FINANCE, R.ADMIN, R.AUDITOR}),
                            "只有财务、管理员和审计人员可以查看互助金账"),
    "claims.file": (frozenset({R.CLERK, R.REVIEWER, R.ADMIN}), "您的角色不能办理理赔申请"),
    "claims.review": (frozenset({R.REVIEWER, R.ADMIN}), "只有审核员和管理员可以审核理赔"),
    "claims.pay": (frozenset({R.FINANCE, R.ADMIN}), "只有财务和管理员可以办理给付"),
    "claims.read_followup": (frozenset({R.REVIEWER, R.FINANCE, R.ADMIN, R.AUDITOR}),
                             "您的角色不能查看大额回访清单"),
    "claims.call_followup": (frozenset({R.REVIEWER, R.ADMIN}), "只有审核员和管理员可以登记回访"),
    "feeds.import": (frozenset({R.ADMIN}), "只有数据管理员（管理员角色）可以导入医保结算数据"),
    "reports.read": (frozenset({R.ADMIN, R.REVIEWER, R.FINANCE, R.AUDITOR}),
                     "您的角色不能查看统计报表"),
    "reports.what_if": (frozenset({R.ADMIN}), "只有管理员可以做政策测算"),
}


def roles_with(capability: str) -> frozenset[str]:
    return CAPABILITIES[capability][0]


def refusal(capability: str) -> str:
    """Why a user without ``capability`` is refused (Chinese, for the page)."""
    return CAPABILITIES[capability][1]


def allows(user: Any, capability: str) -> bool:
    """The table's answer, Django's superuser rule aside (see :class:`RoleBackend`)."""
    if capability not in CAPABILITIES:
        raise KeyError(f"unknown capability {capability!r}")
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if sees_everything(user):
        return True
    # A data officer acts for a node of the tree; without one there is nothing to feed.
    if capability == "feeds.import" and user.union_id is None:
        return False
    return user.role in roles_with(capability)


class RoleBackend(BaseBackend):
    """Answers ``has_perm`` for the capabilities of :data:`CAPABILITIES` (authentication
    stays with ``ModelBackend``; Django's model permissions are not used)."""

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        return perm in CAPABILITIES and allows(user_obj, perm)


def require(user: Any, capability: str) -> None:
    """403 with the table's reason unless ``user`` holds ``capability``."""
    if not user.has_perm(capability):
        raise PermissionDenied(refusal(capability))


def capability_required(capability: str) -> Callable[[Callable], Callable]:
    """A view decorator: logged in (else the login page), and holding ``capability``
    (else 403 with the reason)."""

    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            require(request.user, capability)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
