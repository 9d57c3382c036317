"""What a staff user may see: the subtree of the union node they belong to.

Every list, search, detail, export and API call filters through here; an object
outside the scope is a 404, never a 403, so its existence is not disclosed.
"""

from __future__ import annotations

from django.db.models import Model, QuerySet
from django.http import Http404

from huzhu.orgs.models import (
    Union,
    User,
    scope_union_ids,
    scoped,
    scoped_by_ids,
    sees_everything,
    union_path,
)

# The primitives live beside the models, whose querysets' ``visible_to`` use them; this
# module is where every other app asks for them.
__all__ = [
    "get_scoped_or_404",
    "scope_union_ids",
    "scoped",
    "scoped_by_ids",
    "scoped_unions",
    "sees_everything",
    "subtree_ids_in_scope",
    "union_path",
]

def scoped_unions(user: User) -> QuerySet[Union]:
    return scoped(user, Union.objects.all(), union_field="")


def get_scoped_or_404(user: User, queryset: QuerySet, union_field: str = "union",
                      **lookup) -> Model:
    try:
        return scoped(user, queryset, union_field).get(**lookup)
    except queryset.model.DoesNotExist:
        raise Http404 from None


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
