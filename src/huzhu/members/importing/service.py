"""One entry point for the command line, the background task and the tests."""

from __future__ import annotations

import contextlib
from pathlib import Path

from django.db import connection, transaction

from huzhu.audit.log import record
from huzhu.audit.models import AuditEntry
from huzhu.members.importing import members as member_import
from huzhu.members.importing import units as unit_import
from huzhu.members.importing.columns import find_header
from huzhu.members.importing.errors import ImportFileError
from huzhu.members.importing.outcome import Outcome, Progress, no_progress
from huzhu.members.importing.reading import open_table
from huzhu.members.importing.scope import ImportScope, UnitIndex

KINDS = ("units", "members")
MAX_KEPT_ERRORS = 100_000
# Valid rows kept between the passes (~0.5 KB each); larger files are read twice.
KEEP_ROWS_IN_MEMORY = 1_200_000


def import_file(kind: str, path: Path, *, user=None, file_name: str | None = None,
                valid_only: bool = False, progress: Progress = no_progress,
                error_limit: int = MAX_KEPT_ERRORS) -> Outcome:
    """Validate ``path`` and, if it is clean (or ``valid_only``), import it atomically.

    ``user`` limits the import to that staff user's subtree and is the audit actor;
    None is the system (the data officer's command line), which sees the whole tree.
    Never raises for bad input: file and row errors come back in the outcome.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown import kind {kind!r}")
    name = file_name or Path(path).name
    outcome = Outcome(kind, name, valid_only=valid_only)
    scope = ImportScope.for_user(user)
    sink = member_import.ErrorSink(error_limit)
    try:
        if kind == "members":
            _members(Path(path), name, scope, sink, outcome, progress)
        else:
            _units(Path(path), name, scope, sink, outcome, progress)
    except ImportFileError as exc:
        # The file-level reason comes first: it usually explains the rest.
        sink.add([exc.error])
        if exc.error in sink.kept:
            sink.kept.remove(exc.error)
        sink.kept.insert(0, exc.error)
        outcome.imported = False
    outcome.errors = sink.kept
    outcome.error_count = sink.count
    return outcome


def _members(path: Path, name: str, scope: ImportScope, sink: member_import.ErrorSink,
             outcome: Outcome, progress: Progress) -> None:
    table = open_table(path, name)
    mapping = find_header("members", name, table.rows)
    validator = member_import.MemberRowValidator(name, mapping, UnitIndex.load(scope))
    cache = member_import.RowCache(KEEP_ROWS_IN_MEMORY)
    outcome.total_rows = member_import.validate(table.rows, validator, scope, sink, progress,
                                                cache)
    _require_rows(outcome, name)
    if sink.count and not outcome.valid_only:
        return
    if cache.rows is not None:
        rows = cache.valid(sink.bad_rows)
    else:
        again = open_table(path, name)
        find_header("members", name, again.rows)
        rows = member_import.valid_rows(again.rows, validator, sink.bad_rows)
    to_write = outcome.total_rows - len(sink.bad_rows)
    progress("importing", 0, to_write)  # announced before the transaction holds the lock
    _roomy_sqlite_cache()
    with transaction.atomic():
        loader = member_import.MemberLoader(name, mapping, validator.units, scope, outcome)
        loader.load(rows, progress, to_write)
        _record_job(AuditEntry.Action.MEMBER_IMPORTED, scope, outcome, sink.count)
    outcome.imported = True


def _units(path: Path, name: str, scope: ImportScope, sink: member_import.ErrorSink,
           outcome: Outcome, progress: Progress) -> None:
    table = open_table(path, name)
    mapping = find_header("units", name, table.rows)
    validator = unit_import.UnitRowValidator(name, mapping, scope)

    @contextlib.contextmanager
    def write():
        with transaction.atomic():
            yield
            _record_job(AuditEntry.Action.UNIT_IMPORTED, scope, outcome, sink.count)

    unit_import.import_units(table.rows, validator, scope, sink, outcome, progress,
                             write=_guard_empty(outcome, name, write))


def _guard_empty(outcome: Outcome, name: str, write):
    @contextlib.contextmanager
    def guarded():
        _require_rows(outcome, name)
        with write():
            yield

    return guarded


def _roomy_sqlite_cache() -> None:
    """Give SQLite a page cache that holds the member indexes being written.

    The blind-index column is a random key: with SQLite's default 2 MB cache every
    insert evicts a page to the WAL and reads another back, and a million-row import
    becomes disk-bound. 256 MB (a negative size is in KiB) keeps them in memory.
    """
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -262144")


def _require_rows(outcome: Outcome, name: str) -> None:
    if outcome.total_rows == 0:
        raise ImportFileError(name, "文件中没有数据行（只有表头）")


def _record_job(action: str, scope: ImportScope, outcome: Outcome, error_count: int) -> None:
    outcome.error_count = error_count
    outcome.imported = True
    user_union = getattr(scope.user, "union", None)
    record(
        scope.actor, action, None,
        union_path=getattr(user_union, "path", "") or "",
        summary=outcome.summary(),
        changes={
            "file": outcome.file_name, "rows": outcome.total_rows,
            "created": outcome.created, "updated": outcome.updated,
            "unchanged": outcome.unchanged, "errors": error_count,
            "valid_only": outcome.valid_only,
        },
    )
