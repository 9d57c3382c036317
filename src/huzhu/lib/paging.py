"""Keyset pages on the id, newest first: fast at a million rows (no OFFSET).

Every list (members, units, the audit log, later claims) pages the same way: ``after``
goes to older rows, ``before`` back to newer ones, and the page knows both neighbours,
so the pager can offer 上一页 and 下一页 and never repeats a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass
class Page:
    items: list[Any]
    next_after: int | None = None  # pass as ?after= for the next (older) page
    prev_before: int | None = None  # pass as ?before= for the previous (newer) page
    total: int | None = None  # rows matching the filters, on every page
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_first(self) -> bool:
        return self.prev_before is None


def keyset_page(qs: QuerySet[Any], *, after: int | None = None, before: int | None = None,
                size: int | None = None, count: bool = False) -> Page:
    """One page of ``qs`` by descending id; ``count`` adds the total for the pager."""
    size = max(1, min(size or PAGE_SIZE, MAX_PAGE_SIZE))
    total = qs.order_by().count() if count else None
    if before is not None:
        rows = list(qs.filter(id__gt=before).order_by("id")[: size + 1])
        has_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        page = Page(items=rows, total=total)
        if rows:
            page.prev_before = rows[0].id if has_newer else None
            page.next_after = rows[-1].id if qs.filter(id__lt=rows[-1].id).exists() else None
        return page
    if after is not None:
        qs = qs.filter(id__lt=after)
    rows = list(qs.order_by("-id")[: size + 1])
    page = Page(items=rows[:size], total=total)
    if len(rows) > size:
        page.next_after = rows[size - 1].id
    if after is not None and page.items:
        page.prev_before = page.items[0].id
    return page
