"""Write audit entries. Every change of money or status goes through here."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from huzhu.audit.models import AuditEntry


def record(
    actor: Any,
    action: str,
    obj: Any = None,
    *,
    union_path: str = "",
    summary: str = "",
    changes: dict | None = None,
) -> AuditEntry:
    """Append one entry; ``actor`` may be None for system jobs."""
    if obj is not None and not union_path:
        union_path = _union_path_of(obj)
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        object_type=type(obj).__name__.lower() if obj is not None else "",
        object_id=str(getattr(obj, "pk", "") or ""),
        union_path=union_path,
        summary=summary[:500],
        changes=changes or {},
    )


def record_many(entries: Iterable[AuditEntry], batch_size: int = 5000) -> None:
    """Bulk append of a few thousand entries (a million: :class:`huzhu.audit.bulk.AuditRows`)."""
    AuditEntry.objects.bulk_create(entries, batch_size=batch_size)


def _union_path_of(obj: Any) -> str:
    union = getattr(obj, "union", None)
    return getattr(union, "path", "") if union is not None else ""
