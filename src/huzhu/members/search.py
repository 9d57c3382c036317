"""Search and filter the member registry within a staff user's scope.

One query builder for the web list, the API and the xlsx export, so the three always
agree on who is visible. Everything here is written to stay fast at a million members:
scope is ``union_id IN (...)`` (no join), a name is a prefix range (an index range scan
on SQLite and PostgreSQL alike), and pages are keyset pages on the id, never OFFSET.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.db.models import QuerySet

from huzhu.lib import crypto
from huzhu.lib.params import id_param
from huzhu.members.models import Member
from huzhu.orgs.models import User
from huzhu.orgs.scope import subtree_ids_in_scope

_ID_NUMBER = re.compile(r"\d{17}[\dXx]")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LAST4 = re.compile(r"\d{3}[\dXx]")
# Six digits or more that are neither a mobile nor a full ID number: the start of an ID
# number (6 digits: the region where it was issued, e.g. 220102 is 长春市南关区; then the
# birth date), never a name — no name is written in digits.
_ID_PREFIX = re.compile(r"\d{6,17}")
# ID numbers are sealed, so a prefix is matched by opening the candidates' numbers in
# Python: at most this many of the newest members that pass the other filters (a clerk's
# union, a district). The results say so; a birth date or a union narrows further.
PREFIX_SCAN_LIMIT = 20_000
_SCAN_CHUNK = 2_000


_KIND_WORDS = {"id_number": "按完整身份证号查找", "phone": "按手机号查找",
               "id_last4": "按身份证号后四位查找", "id_prefix": "按身份证号开头几位查找"}


@dataclass(frozen=True)
class MemberQuery:
    """What the user asked for; unknown or malformed values are dropped, not errors."""

    q: str = ""
    status: str = ""
    occupation: str = ""
    union_id: int | None = None
    unit_id: int | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str], q: str | None = None) -> MemberQuery:
        """Filters from ``params``; the text from ``q`` when given (the web keeps it out
        of the URL), else from ``params["q"]``."""
        status = params.get("status", "")
        occupation = params.get("occupation", "")
        text = params.get("q") if q is None else q
        return cls(
            q=(text or "").strip()[:50],
            status=status if status in Member.Status.values else "",
            occupation=occupation if occupation in Member.Occupation.values else "",
            union_id=id_param(params, "union"),
            unit_id=id_param(params, "unit"),
        )

    @property
    def kind(self) -> str:
        """How the free-text box is read: id_number, phone, id_last4, id_prefix or name."""
        q = self.q.replace(" ", "")
        if _ID_NUMBER.fullmatch(q):
            return "id_number"
        if _MOBILE.fullmatch(q):
            return "phone"
        if _LAST4.fullmatch(q):
            return "id_last4"
        if _ID_PREFIX.fullmatch(q):
            return "id_prefix"
        return "name" if q else ""

    @property
    def by_number(self) -> bool:
        """A search that could confirm or complete someone's ID number (rate-limited)."""
        return self.kind in ("id_number", "id_last4", "id_prefix")

    def filters(self) -> dict[str, str]:
        """The filters as query-string parameters (the text is not one of them)."""
        values = {"status": self.status, "occupation": self.occupation,
                  "union": self.union_id, "unit": self.unit_id}
        return {k: str(v) for k, v in values.items() if v}

    def is_empty(self) -> bool:
        return not (self.q or self.status or self.occupation or self.union_id or self.unit_id)

    def describe(self, union_name: str = "", unit_name: str = "") -> str:
        """A short Chinese description for audit summaries (never the full ID)."""
        parts = []
        # Numbers that identify a person are described by kind, never written out.
        if self.kind == "name":
            parts.append(f"姓名以“{self.q}”开头")
        elif self.kind:
            parts.append(_KIND_WORDS[self.kind])
        if self.status:
            parts.append(f"状态={Member.Status(self.status).label}")
        if self.occupation:
            parts.append(f"职业={Member.Occupation(self.occupation).label}")
        if self.union_id:
            parts.append(f"工会={union_name or '#' + str(self.union_id)}")
        if self.unit_id:
            parts.append(f"单位={unit_name or '#' + str(self.unit_id)}")
        return "，".join(parts) or "全部"


def search_members(user: User, query: MemberQuery) -> QuerySet[Member]:
    """Members in ``user``'s scope matching ``query``, newest first."""
    qs = Member.objects.visible_to(user)
    kind = query.kind
    text = query.q.replace(" ", "")
    if kind == "id_number":
        qs = qs.filter(id_number_hash__in=crypto.blind_indexes(text.upper()))
    elif kind == "phone":
        qs = qs.filter(phone=text)
    elif kind == "id_last4":
        qs = qs.filter(id_last4_index__in=crypto.last4_indexes(text))
    elif kind == "name":
        # A range, not LIKE: SQLite's LIKE is case-insensitive and skips the index.
        qs = qs.filter(name__gte=query.q, name__lt=query.q + "\uffff")
    if query.status:
        qs = qs.filter(status=query.status)
    if query.occupation:
        qs = qs.filter(occupation=query.occupation)
    if query.union_id:
        qs = qs.filter(union_id__in=subtree_ids_in_scope(user, query.union_id))
    if query.unit_id:
        qs = qs.filter(unit_id=query.unit_id)
    if kind == "id_prefix":
        qs = qs.filter(id__in=_prefix_matches(qs, text))
    return qs.order_by("-id")


def _prefix_matches(qs: QuerySet[Member], prefix: str) -> list[int]:
    """Ids of the members of ``qs`` (newest :data:`PREFIX_SCAN_LIMIT`) whose ID number
    starts with ``prefix``. Digits 7 on are the birth date: a year, month or day typed
    narrows the candidates in the database before any number is opened."""
    qs = _by_birth_digits(qs, prefix[6:14])
    found = []
    rows = qs.order_by("-id").values_list("id", "id_number_sealed")[:PREFIX_SCAN_LIMIT]
    unseal = crypto.unsealer(column=crypto.MEMBER_ID_NUMBER)
    for pk, sealed in rows.iterator(chunk_size=_SCAN_CHUNK):
        if unseal(sealed).startswith(prefix):
            found.append(pk)
    return found


def _by_birth_digits(qs: QuerySet[Member], digits: str) -> QuerySet[Member]:
    """Narrow by the birth date's leading digits (YYYY, YYYYMM, YYYYMMDD) when whole."""
    try:
        if len(digits) >= 8:
            born = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
            return qs.filter(birth_date=born)
        if len(digits) >= 6:
            return qs.filter(birth_date__year=int(digits[:4]),
                             birth_date__month=int(digits[4:6]))
        if len(digits) >= 4:
            return qs.filter(birth_date__year=int(digits[:4]))
    except ValueError:  # no such date: no ID number starts so
        return qs.none()
    return qs
