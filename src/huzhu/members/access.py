"""Access to one member: the subtree decides whether it exists for this user (404), the
role whether they may change it (403) or see its full numbers."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from huzhu.members.models import Member
from huzhu.orgs import roles
from huzhu.orgs.models import User


def get_member_for_user(user: User, member_id: int, *, write: bool = False,
                        full_numbers: bool = False) -> Member:
    member = get_object_or_404(
        Member.objects.visible_to(user).select_related("unit", "union", "family_head"),
        pk=member_id,
    )
    if write:
        roles.require(user, "orgs.write")
    if full_numbers:
        roles.require(user, "members.see_full_id")
    return member
