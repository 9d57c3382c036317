"""Search and filter the member registry within a staff user's scope.

One query builder for the web list, the API and the xlsx export, so the three always
agree on who is visible. Everything here is written to stay fast at a million members:
scope is ``union_id IN (...)`` (no join), a name is a prefix range (an index range scan
on SQLite and PostgreSQL alike), and pages are keyset pages on the id, never OFFSET and
never COUNT.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db.models import QuerySet

from huzhu import crypto
from huzhu.members.models import Member
from huzhu.orgs.models import Union, Unit, User
from huzhu.orgs.scope import scope_union_ids, scoped_by_ids

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

_ID_NUMBER = re.compile(r"\d{17}[\dXx]")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LAST4 = re.compile(r"\d{3}[\dXx]")


@dataclass(frozen=True)
class MemberQuery:
    """What the user asked for; unknown or malformed values are dropped, not errors."""

    q: str = ""
    status: str = ""
    occupation: str = ""
    union_id: int | None = None
    unit_id: int | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> MemberQuery:
        status = params.get("status", "")
        occupation = params.get("occupation", "")
        return cls(
            q=(params.get("q") or "").strip()[:50],
            status=status if status in Member.Status.values else "",
            occupation=occupation if occupation in Member.Occupation.values else "",
            union_id=int_param(params.get("union")),
            unit_id=int_param(params.get("unit")),
        )

    @property
    def kind(self) -> str:
        """How the free-text box is read: id_number, phone, id_last4 or name."""
        q = self.q.replace(" ", "")
        if _ID_NUMBER.fullmatch(q):
            return "id_number"
        if _MOBILE.fullmatch(q):
            return "phone"
        if _LAST4.fullmatch(q):
            return "id_last4"
        return "name" if q else ""

    def is_empty(self) -> bool:
        return not (self.q or self.status or self.occupation or self.union_id or self.unit_id)

    def describe(self, union_name: str = "", unit_name: str = "") -> str:
        """A short Chinese description for audit summaries (never the full ID)."""
        parts = []
        if self.q:
            shown = crypto.mask_id_number(self.q) if self.kind == "id_number" else self.q
            parts.append(f"关键词“{shown}”")
        if self.status:
            parts.append(f"状态={Member.Status(self.status).label}")
        if self.occupation:
            parts.append(f"职业={Member.Occupation(self.occupation).label}")
        if self.union_id:
            parts.append(f"工会={union_name or '#' + str(self.union_id)}")
        if self.unit_id:
            parts.append(f"单位={unit_name or '#' + str(self.unit_id)}")
        return "，".join(parts) or "全部"


@dataclass
class Page:
    items: list[Member]
    next_after: int | None = None  # pass as ?after= for the next (older) page
    prev_before: int | None = None  # pass as ?before= for the previous (newer) page
    extra: dict = field(default_factory=dict)


def int_param(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def search_members(user: User, query: MemberQuery) -> QuerySet[Member]:
    """Members in ``user``'s scope matching ``query``, newest first."""
    qs = scoped_by_ids(user, Member.objects.all())
    kind = query.kind
    text = query.q.replace(" ", "")
    if kind == "id_number":
        qs = qs.filter(id_number_hash=crypto.blind_index(text.upper()))
    elif kind == "phone":
        qs = qs.filter(phone=text)
    elif kind == "id_last4":
        qs = qs.filter(id_last4_index=crypto.last4_index(text))
    elif kind == "name":
        # A range, not LIKE: SQLite's LIKE is case-insensitive and skips the index.
        qs = qs.filter(name__gte=query.q, name__lt=query.q + "\uffff")
    if query.status:
        qs = qs.filter(status=query.status)
    if query.occupation:
        qs = qs.filter(occupation=query.occupation)
    if query.union_id:
        qs = qs.filter(union_id__in=_subtree_ids_in_scope(user, query.union_id))
    if query.unit_id:
        qs = qs.filter(unit_id=query.unit_id)
    return qs.order_by("-id")


def _subtree_ids_in_scope(user: User, union_id: int) -> list[int]:
    node = Union.objects.filter(pk=union_id).only("path").first()
    if node is None:
        return []
    ids = Union.objects.filter(path__startswith=node.path).values_list("id", flat=True)
    allowed = scope_union_ids(user)
    if allowed is None:
        return list(ids)
    allowed_set = set(allowed)
    return [i for i in ids if i in allowed_set]


def page_members(
    qs: QuerySet[Member],
    *,
    after: int | None = None,
    before: int | None = None,
    size: int | None = None,
) -> Page:
    """One keyset page of ``qs`` (ordered by -id): ``after`` goes older, ``before`` newer."""
    size = max(1, min(size or PAGE_SIZE, MAX_PAGE_SIZE))
    # Prefetch, not select_related: with a join SQLite sorts whole joined rows of the
    # scope before LIMIT (300 ms for a district of a million-member city, not 3 ms).
    qs = qs.prefetch_related("unit", "union")
    if before is not None:
        rows = list(qs.filter(id__gt=before).order_by("id")[: size + 1])
        has_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        page = Page(items=rows)
        if rows:
            page.next_after = rows[-1].id
            page.prev_before = rows[0].id if has_newer else None
        return page
    if after is not None:
        qs = qs.filter(id__lt=after)
    rows = list(qs[: size + 1])
    page = Page(items=rows[:size])
    if len(rows) > size:
        page.next_after = rows[size - 1].id
    if after is not None and page.items:
        page.prev_before = page.items[0].id
    return page


def scoped_units(user: User) -> QuerySet[Unit]:
    return scoped_by_ids(user, Unit.objects.all())


def search_units(user: User, q: str = "", union_id: int | None = None) -> QuerySet[Unit]:
    """Units in scope by name prefix or USCC, oldest first."""
    qs = scoped_units(user)
    q = (q or "").strip()
    if q:
        code = q.replace(" ", "").upper()
        if len(code) == 18 and code.isalnum():
            qs = qs.filter(uscc=code)
        else:
            qs = qs.filter(name__gte=q, name__lt=q + "\uffff")
    if union_id:
        qs = qs.filter(union_id__in=_subtree_ids_in_scope(user, union_id))
    return qs.order_by("id")
