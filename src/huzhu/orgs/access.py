"""Who may do what: the registry's view decorators, and one helper per model that decides
access to a single object (role, then subtree), the way healthchecks'
``_get_rw_check_for_user`` does. Lists use the models' ``visible_to(user)``.

An object outside the user's subtree is a 404, never a 403, so that its existence is not
disclosed; a role that may not act gets a 403 with the reason (:mod:`huzhu.orgs.roles`).
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from huzhu.orgs import roles
from huzhu.orgs.models import Union, Unit, User

# The two decorators most registry views wear, named once (the role table decides).
write_required = roles.capability_required("orgs.write")
audit_reader_required = roles.capability_required("audit.read_log")


def get_union_for_user(user: User, union_id: int) -> Union:
    return get_object_or_404(Union.objects.visible_to(user), pk=union_id)


def get_unit_for_user(user: User, unit_id: int, *, write: bool = False) -> Unit:
    """The unit, if it lies in the user's subtree (404 otherwise); ``write`` also needs a
    role that may change it (403)."""
    unit = get_object_or_404(Unit.objects.visible_to(user).select_related("union"),
                             pk=unit_id)
    if write:
        roles.require(user, "orgs.write")
    return unit
