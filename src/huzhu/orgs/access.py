"""Who may do what: role decorators for views, and one helper per model that decides
access to a single object (role, then subtree), the way healthchecks'
``_get_rw_check_for_user`` does. Lists use the models' ``visible_to(user)``.

An object outside the user's subtree is a 404, never a 403, so that its existence is not
disclosed; a role that may not act gets a 403 with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from huzhu.orgs.models import Union, Unit, User
from huzhu.orgs.scope import can_read_audit_log, can_write

READ_ONLY_MESSAGE = "您的角色只能查看，不能新增或修改"


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


write_required = _role_required(can_write, READ_ONLY_MESSAGE)
audit_reader_required = _role_required(can_read_audit_log, "只有管理员和审计人员可以查看审计日志")


def require_write(user: User) -> None:
    if not can_write(user):
        raise PermissionDenied(READ_ONLY_MESSAGE)


def get_union_for_user(user: User, union_id: int) -> Union:
    return get_object_or_404(Union.objects.visible_to(user), pk=union_id)


def get_unit_for_user(user: User, unit_id: int, *, write: bool = False) -> Unit:
    """The unit, if it lies in the user's subtree (404 otherwise); ``write`` also needs a
    role that may change it (403)."""
    unit = get_object_or_404(Unit.objects.visible_to(user).select_related("union"),
                             pk=unit_id)
    if write:
        require_write(user)
    return unit
