"""View decorators for roles; scope itself is enforced by the queries (huzhu.orgs.scope)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from huzhu.orgs.scope import can_read_audit_log, can_write


def _role_required(check: Callable, message: str) -> Callable:
    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not check(request.user):
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


write_required = _role_required(can_write, "您的角色只能查看，不能新增或修改")
audit_reader_required = _role_required(can_read_audit_log, "只有管理员和审计人员可以查看审计日志")
