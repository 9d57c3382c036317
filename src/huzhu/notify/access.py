"""Who may see the outbox, and retry a message in it.

The outbox holds members' names and numbers in bulk: admins and auditors read it, within
their subtree (an auditor's job is to see what was sent); only admins may send a failed
message again (:mod:`huzhu.orgs.roles`: ``notify.read_outbox``, ``notify.retry``).
Clerks, reviewers and finance see a member's details on the member's page, not as a list
of every text sent.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from huzhu.notify.models import OutboxMessage
from huzhu.orgs import roles
from huzhu.orgs.models import User

outbox_reader_required = roles.capability_required("notify.read_outbox")


def get_message_for_user(user: User, message_id: int, *, retry: bool = False) -> OutboxMessage:
    """The message if it lies in the user's subtree (404 otherwise); ``retry`` also needs
    a role that may send it again (403)."""
    message = get_object_or_404(OutboxMessage.objects.visible_to(user).select_related("union"),
                                pk=message_id)
    if retry:
        roles.require(user, "notify.retry")
    return message
