"""What a staff user may see: the subtree of the union node they belong to.

Every list, search, detail, export and API call filters through here; an object
outside the scope is a 404, never a 403, so its existence is not disclosed.
"""

from __future__ import annotations

from django.db.models import Model, QuerySet
from django.http import Http404

from huzhu.orgs.models import Union, User

# Roles that may see a full ID number / bank account (each view is audited).
FULL_ID_ROLES = frozenset({User.Role.ADMIN, User.Role.REVIEWER, User.Role.FINANCE})
AUDIT_LOG_ROLES = frozenset({User.Role.ADMIN, User.Role.AUDITOR})
WRITE_ROLES = frozenset({User.Role.CLERK, User.Role.REVIEWER, User.Role.ADMIN})


def sees_everything(user: User) -> bool:
    return bool(user.is_superuser and user.union_id is None)


def union_path(user: User) -> str | None:
    """The path prefix of the user's scope; None means the whole tree."""
    if sees_everything(user):
        return None
    if user.union_id is None:
        return "/-none-/"  # a staff user without a node sees nothing
    return user.union.path


def scoped(user: User, queryset: QuerySet, union_field: str = "union") -> QuerySet:
    """Filter ``queryset`` to objects whose ``union_field`` lies in the user's subtree."""
    prefix = union_path(user)
    if prefix is None:
        return queryset
    lookup = "path__startswith" if union_field == "" else f"{union_field}__path__startswith"
    return queryset.filter(**{lookup: prefix})


def scoped_unions(user: User) -> QuerySet[Union]:
    return scoped(user, Union.objects.all(), union_field="")


def get_scoped_or_404(user: User, queryset: QuerySet, union_field: str = "union",
                      **lookup) -> Model:
    try:
        return scoped(user, queryset, union_field).get(**lookup)
    except queryset.model.DoesNotExist:
        raise Http404 from None


def can_see_full_id(user: User) -> bool:
    return sees_everything(user) or user.role in FULL_ID_ROLES


def can_write(user: User) -> bool:
    return sees_everything(user) or user.role in WRITE_ROLES


def can_read_audit_log(user: User) -> bool:
    return sees_everything(user) or user.role in AUDIT_LOG_ROLES


def scope_union_ids(user: User) -> list[int] | None:
    """Ids of the unions in the user's subtree; None when that is the whole tree.

    Filtering members by ``union_id IN (...)`` uses the (union, id) index and avoids a
    join to the union table, which is what keeps lists fast at a million members.
    """
    prefix = union_path(user)
    if prefix is None:
        return None
    ids = list(Union.objects.filter(path__startswith=prefix).values_list("id", flat=True))
    if ids and not Union.objects.exclude(path__startswith=prefix).exists():
        return None  # the user's node is the only root: no filter needed
    return ids


def scoped_by_ids(user: User, queryset: QuerySet, union_field: str = "union") -> QuerySet:
    """Like :func:`scoped`, but by a list of union ids (no join)."""
    ids = scope_union_ids(user)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{union_field}_id__in": ids})


def subtree_ids_in_scope(user: User, union_id: int) -> list[int]:
    """Ids of ``union_id``'s subtree that the user may see (none if it is outside)."""
    node = Union.objects.filter(pk=union_id).only("path").first()
    if node is None:
        return []
    ids = Union.objects.filter(path__startswith=node.path).values_list("id", flat=True)
    allowed = scope_union_ids(user)
    if allowed is None:
        return list(ids)
    allowed_set = set(allowed)
    return [i for i in ids if i in allowed_set]
