"""Find units within a staff user's scope: name prefix or USCC, and a union's subtree."""

from __future__ import annotations

from django.db.models import QuerySet

from huzhu.orgs.models import Unit, User
from huzhu.orgs.scope import subtree_ids_in_scope


def search_units(user: User, q: str = "", union_id: int | None = None) -> QuerySet[Unit]:
    qs = Unit.objects.visible_to(user)
    q = (q or "").strip()
    if q:
        code = q.replace(" ", "").upper()
        if len(code) == 18 and code.isalnum():
            qs = qs.filter(uscc=code)
        else:
            # A range, not LIKE: SQLite's LIKE is case-insensitive and skips the index.
            qs = qs.filter(name__gte=q, name__lt=q + "\uffff")
    if union_id:
        qs = qs.filter(union_id__in=subtree_ids_in_scope(user, union_id))
    return qs
