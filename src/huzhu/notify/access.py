"""Who may see the outbox, and retry a message in it.

The outbox holds members' names and numbers in bulk: admins and auditors read it, within
their subtree (an auditor's job is to see what was sent); only admins may send a failed
message again. Clerks, reviewers and finance see a member's details on the member's page,
not as a list of every text sent.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from huzhu.notify.models import OutboxMessage
from huzhu.orgs.access import _role_required
from huzhu.orgs.models import User
from huzhu.orgs.scope import sees_everything

READ_ROLES = frozenset({User.Role.ADMIN, User.Role.AUDITOR})
RETRY_ROLES = frozenset({User.Role.ADMIN})
RETRY_REFUSED = "只有管理员可以重发短信"


def can_read_outbox(user: User) -> bool:
    return sees_everything(user) or user.role in READ_ROLES


def can_retry(user: User) -> bool:
    return sees_everything(user) or user.role in RETRY_ROLES


outbox_reader_required = _role_required(can_read_outbox, "只有管理员和审计人员可以查看短信发件箱")


def get_message_for_user(user: User, message_id: int, *, retry: bool = False) -> OutboxMessage:
    """The message if it lies in the user's subtree (404 otherwise); ``retry`` also needs
    a role that may send it again (403)."""
    message = get_object_or_404(OutboxMessage.objects.visible_to(user).select_related("union"),
                                pk=message_id)
    if retry and not can_retry(user):
        raise PermissionDenied(RETRY_REFUSED)
    return message
