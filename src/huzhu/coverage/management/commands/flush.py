"""Django's ``flush``, able to empty the append-only fund ledger.

Flushing empties every table on purpose (``huzhu demo --reset``, the test suite between
transactional tests). On PostgreSQL it truncates, which the ledger's row triggers do
not stop; on SQLite it deletes row by row, which they do. So on SQLite the delete
trigger is dropped for the flush and put back right after; an ordinary DELETE of a
ledger row is still refused by the database.
"""

from __future__ import annotations

from django.core.management.commands.flush import Command as FlushCommand
from django.db import connections

from huzhu.coverage.migrations import _append_only as triggers


class Command(FlushCommand):
    def handle(self, **options) -> None:
        connection = connections[options.get("database") or "default"]
        if connection.vendor != "sqlite":
            return super().handle(**options)
        with connection.cursor() as cursor:
            cursor.execute(triggers.SQLITE_DROP_DELETE)
        try:
            return super().handle(**options)
        finally:
            with connection.cursor() as cursor:
                cursor.execute(triggers.SQLITE_DELETE)
