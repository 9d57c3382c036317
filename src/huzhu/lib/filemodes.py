"""Owner-only permissions for what holds personal data: ``var/`` and the SQLite files."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def tighten(path: Path, mode: int) -> None:
    """Drop permission bits outside ``mode`` from a path we own (best effort: a path owned
    by someone else, e.g. a mount point, is left to its owner)."""
    with contextlib.suppress(OSError):
        info = path.stat()
        current = stat.S_IMODE(info.st_mode)
        if info.st_uid == os.geteuid() and current & ~mode:
            path.chmod(current & mode)


def private_dir(path: Path) -> None:
    """Create ``path`` if needed and make it 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    tighten(path, 0o700)


def private_sqlite(name: str | Path) -> None:
    """Make an SQLite database file 0600 before SQLite first opens it.

    SQLite creates its -wal, -shm and -journal files with the database file's permissions,
    so creating the (empty, valid) database file 0600 ourselves covers them; files of an
    older install are tightened too.
    """
    text = str(name)
    if not text or text == ":memory:" or text.startswith("file:"):
        return
    path = Path(text)
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for candidate in (path, *(Path(text + suffix) for suffix in SQLITE_COMPANIONS)):
        if candidate.exists():
            tighten(candidate, 0o600)
