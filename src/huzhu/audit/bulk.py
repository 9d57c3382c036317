"""Audit entries for bulk work (imports of a million rows), one statement per batch.

``audit.log.record_many`` goes through ``bulk_create``, which on SQLite is capped at
999 bound parameters (about 120 entries a statement) and prepares every field of every
object in Python: at a million members that was half the import's time. These rows go
into the same append-only table with the same columns, by ``executemany``.
"""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from huzhu.audit.models import AuditEntry
from huzhu.lib.sql import quote

_COLUMNS = ("at", "actor_id", "action", "object_type", "object_id", "union_path", "summary",
            "changes")


class AuditRows:
    def __init__(self, actor) -> None:
        self.actor_id = getattr(actor, "pk", None)
        self.at = connection.ops.adapt_datetimefield_value(timezone.now())
        self._changes = AuditEntry._meta.get_field("changes")
        self.sql = (
            f"INSERT INTO {quote(AuditEntry._meta.db_table)} "
            f"({', '.join(quote(c) for c in _COLUMNS)}) "
            f"VALUES ({', '.join(['%s'] * len(_COLUMNS))})"
        )
        self.pending: list[tuple] = []

    def add(self, action: str, object_type: str, object_id: int, union_path: str,
            summary: str, changes: dict) -> None:
        self.pending.append((
            self.at, self.actor_id, action, object_type, str(object_id), union_path,
            summary[:500], self._changes.get_db_prep_save(changes, connection),
        ))

    def flush(self) -> None:
        if self.pending:
            with connection.cursor() as cursor:
                cursor.executemany(self.sql, self.pending)
            self.pending = []
