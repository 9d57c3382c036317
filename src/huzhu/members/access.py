"""Access to one member: the subtree decides whether it exists for this user (404), the
role whether they may change it (403) or see its full numbers."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from huzhu.members.models import Member
from huzhu.orgs.access import require_write
from huzhu.orgs.models import User
from huzhu.orgs.scope import can_see_full_id


def get_member_for_user(user: User, member_id: int, *, write: bool = False,
                        full_numbers: bool = False) -> Member:
    member = get_object_or_404(
        Member.objects.visible_to(user).select_related("unit", "union", "family_head"),
        pk=member_id,
    )
    if write:
        require_write(user)
    if full_numbers and not can_see_full_id(user):
        raise PermissionDenied("您的角色不能查看完整号码")
    return member
