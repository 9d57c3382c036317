"""The claims' share of ``huzhu manage housekeeping`` (run every minute by ``huzhu serve``).

A material's file outlives its row when the row goes without :func:`remove_material`
(its claim deleted, a transaction rolled back after the file was written, a worker killed
between the two) or an interrupted write leaves a part file. Such a file, older than an
hour so that an upload in progress is never touched, is deleted.

The folders are read a batch of claims at a time, with one indexed query per batch.

A bulk step shown for confirmation (待确认) and never confirmed keeps the selection's
claim ids in its row: after a day nobody will confirm it, and it is deleted.

A bank result file (回盘文件) uploaded for a preview waits under ``payout-returns/`` until
it is confirmed or cancelled; one whose page was closed instead is left behind, holding
members' accounts and amounts. After a day nobody will confirm it (the session that
names it has expired), and it is deleted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from huzhu.claims.materials import store as material_store
from huzhu.claims.models import BulkJob, ClaimMaterial

ORPHAN_AGE = dt.timedelta(hours=1)
UNCONFIRMED_AGE = dt.timedelta(days=1)
BATCH = 500


def sweep() -> dict[str, int]:
    now = timezone.now()
    return {"删除的无主理赔材料文件": delete_orphans(now),
            "删除的未确认批量办理": delete_unconfirmed(now),
            "删除的未确认回盘文件": delete_unconfirmed_returns(now)}


def delete_unconfirmed(now: dt.datetime) -> int:
    """Bulk steps left at 待确认 for a day: the confirmation page was closed."""
    stale = BulkJob.objects.filter(status=BulkJob.Status.DRAFT,
                                   created_at__lt=now - UNCONFIRMED_AGE)
    return stale.delete()[0]


RETURNS_FOLDER = "payout-returns"  # huzhu.claims.payouts.views keeps previews there


def delete_unconfirmed_returns(now: dt.datetime) -> int:
    """Result files uploaded for a preview a day ago and never confirmed or cancelled."""
    root = Path(settings.UPLOAD_ROOT) / RETURNS_FOLDER
    if not root.is_dir():
        return 0
    cutoff = (now - UNCONFIRMED_AGE).timestamp()
    deleted = 0
    for path in root.iterdir():
        if path.is_file() and _older(path, cutoff):
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted


def delete_orphans(now: dt.datetime) -> int:
    root = Path(settings.UPLOAD_ROOT) / material_store.FOLDER
    if not root.is_dir():
        return 0
    cutoff = (now - ORPHAN_AGE).timestamp()
    deleted = 0
    for folders in _batches(_claim_folders(root)):
        known = _known_paths(int(f.name) for f in folders)
        for folder in folders:
            for path in folder.iterdir():
                if path.is_file() and _relative(path) not in known and _older(path, cutoff):
                    path.unlink(missing_ok=True)
                    deleted += 1
    return deleted


def _claim_folders(root: Path) -> Iterator[Path]:
    return (p for p in root.iterdir() if p.is_dir() and p.name.isdigit())


def _batches(folders: Iterator[Path]) -> Iterator[list[Path]]:
    batch: list[Path] = []
    for folder in folders:
        batch.append(folder)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _known_paths(claim_ids) -> set[str]:
    return set(ClaimMaterial.objects.filter(claim_id__in=list(claim_ids))
               .values_list("stored_path", flat=True))


def _relative(path: Path) -> str:
    return path.relative_to(Path(settings.UPLOAD_ROOT)).as_posix()


def _older(path: Path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime < cutoff
    except FileNotFoundError:
        return False
