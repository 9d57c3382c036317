"""One entry point for the command line, the background task and the tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection

from huzhu.audit.log import record
from huzhu.imports import kinds
from huzhu.imports.columns import Mapping, find_header
from huzhu.imports.errors import ErrorSink, ImportFileError
from huzhu.imports.outcome import Outcome, Progress, no_progress
from huzhu.imports.reading import Table, open_table
from huzhu.imports.scope import ImportScope

MAX_KEPT_ERRORS = 100_000


@dataclass
class ImportRun:
    """What a kind's ``run`` gets: the file, who imports it, and where results go."""

    kind: kinds.ImportKind
    path: Path
    file_name: str
    scope: ImportScope
    sink: ErrorSink
    outcome: Outcome
    progress: Progress
    options: dict = field(default_factory=dict)

    def open(self) -> tuple[Table, Mapping]:
        """Open the file and read past its header (again, for a second pass)."""
        table = open_table(self.path, self.file_name)
        return table, find_header(self.kind.columns, self.file_name, table.rows)

    def require_rows(self) -> None:
        if self.outcome.total_rows == 0:
            raise ImportFileError(self.file_name, "文件中没有数据行（只有表头）")

    def record(self, action: str) -> None:
        """The job's own audit entry, written inside the import's transaction."""
        outcome = self.outcome
        outcome.error_count = self.sink.count
        outcome.imported = True
        user_union = getattr(self.scope.user, "union", None)
        record(
            self.scope.actor, action, None,
            union_path=getattr(user_union, "path", "") or "",
            summary=outcome.summary(),
            changes={
                "file": outcome.file_name, "rows": outcome.total_rows,
                "created": outcome.created, "updated": outcome.updated,
                "unchanged": outcome.unchanged, "errors": self.sink.count,
                "valid_only": outcome.valid_only,
            },
        )


def import_file(kind: str, path: Path, *, user=None, file_name: str | None = None,
                valid_only: bool = False, progress: Progress = no_progress,
                error_limit: int = MAX_KEPT_ERRORS, options: dict | None = None) -> Outcome:
    """Validate ``path`` and, if it is clean (or ``valid_only``), import it atomically.

    ``user`` limits the import to that staff user's subtree and is the audit actor;
    None is the system (the data officer's command line), which sees the whole tree.
    Never raises for bad input: file and row errors come back in the outcome.
    """
    spec = kinds.get(kind)
    if spec is None:
        raise ValueError(f"unknown import kind {kind!r}")
    name = file_name or Path(path).name
    outcome = Outcome(kind, name, valid_only=valid_only)
    sink = ErrorSink(error_limit)
    run = ImportRun(spec, Path(path), name, ImportScope.for_user(user), sink, outcome,
                    progress, options or {})
    try:
        spec.run(run)
    except ImportFileError as exc:
        sink.put_first(exc.error)
        outcome.imported = False
    outcome.errors = sink.kept
    outcome.error_count = sink.count
    return outcome


def roomy_sqlite_cache() -> None:
    """Give SQLite a page cache that holds the indexes being written.

    A blind-index column is a random key: with SQLite's default 2 MB cache every
    insert evicts a page to the WAL and reads another back, and a million-row import
    becomes disk-bound. 256 MB (a negative size is in KiB) keeps them in memory.
    """
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -262144")
