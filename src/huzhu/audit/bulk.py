"""Audit entries for bulk work (imports of a million rows), one statement per batch.

``audit.log.record_many`` goes through ``bulk_create``, which on SQLite is capped at
999 bound parameters (about 120 entries a statement) and prepares every field of every
object in Python: at a million members that was half the import's time. These rows go
into the same append-only table with the same columns, by ``executemany``, as a run of
the hash chain (:mod:`huzhu.audit.chain`): each flush takes the chain's lock, stamps the
pending rows with the time and links them to the head in order.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from huzhu.audit import chain
from huzhu.audit.models import AuditEntry
from huzhu.lib.sql import quote

_COLUMNS = ("at", "actor_id", "action", "object_type", "object_id", "union_path", "summary",
            "changes", "prev_hash", "hash")


class AuditRows:
    def __init__(self, actor) -> None:
        self.actor_id = getattr(actor, "pk", None)
        self._changes = AuditEntry._meta.get_field("changes")
        self.sql = (
            f"INSERT INTO {quote(AuditEntry._meta.db_table)} "
            f"({', '.join(quote(c) for c in _COLUMNS)}) "
            f"VALUES ({', '.join(['%s'] * len(_COLUMNS))})"
        )
        # (action, object_type, object_id, union_path, summary, changes) per entry; the
        # time and the links are given at the flush, under the chain's lock.
        self.pending: list[tuple[str, str, str, str, str, dict]] = []

    def add(self, action: str, object_type: str, object_id: int, union_path: str,
            summary: str, changes: dict) -> None:
        self.pending.append((action, object_type, str(object_id), union_path, summary[:500],
                             changes))

    def flush(self) -> None:
        if not self.pending:
            return
        with transaction.atomic():
            prev = chain.lock_head()
            at = timezone.now()
            stamp = connection.ops.adapt_datetimefield_value(at)
            rows = []
            for action, object_type, object_id, union_path, summary, changes in self.pending:
                link = prev
                prev = chain.entry_hash(link, at, self.actor_id, action, object_type,
                                        object_id, union_path, summary,
                                        chain.as_stored(changes))
                rows.append((stamp, self.actor_id, action, object_type, object_id, union_path,
                             summary, self._changes.get_db_prep_save(changes, connection),
                             link, prev))
            with connection.cursor() as cursor:
                cursor.executemany(self.sql, rows)
        self.pending = []
