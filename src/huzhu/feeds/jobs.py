"""Feed uploads as background jobs, the way :mod:`huzhu.imports.jobs` runs imports: the
page stores the upload privately and enqueues :func:`run_feed_job`; the worker writes
live progress to a small JSON file and touches a heartbeat file while it runs (on SQLite
the import's transaction keeps other connections from seeing an update of the feed
row); :mod:`huzhu.feeds.housekeeping` fails a feed whose worker died.

The files live in their own 0700 folder, ``var/uploads/feeds/``, each 0600: an upload
holds plaintext ID numbers and is deleted as soon as the import has read it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from huzhu.feeds.importing import import_feed
from huzhu.feeds.models import Feed
from huzhu.imports.errors import RowError, write_report
from huzhu.imports.jobs import (
    PRIVATE_DIR,
    FileHeartbeat,
    delete_files,
    last_sign_of_life,
    open_private,
    stale_after,
)

PROGRESS_INTERVAL_S = 0.5
INTERRUPTED = "后台处理中断，未写入任何数据，请重新上传"
FAILED = "导入出错，未写入任何数据；请联系系统管理员查看日志"


def feeds_dir() -> Path:
    path = Path(settings.UPLOAD_ROOT) / "feeds"
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    if path.stat().st_mode & 0o777 != PRIVATE_DIR:
        path.chmod(PRIVATE_DIR)
    return path


def store_upload(uploaded, suffix: str) -> Path:
    """Write an uploaded file (or an API body) under a name nobody can guess."""
    target = feeds_dir() / f"{uuid.uuid4().hex}{suffix}"
    with open_private(target) as fh:
        if isinstance(uploaded, bytes):
            fh.write(uploaded)
        else:
            for chunk in uploaded.chunks():
                fh.write(chunk)
    return target


def create_job(*, uploaded, user, valid_only: bool = False) -> Feed:
    suffix = Path(uploaded.name).suffix.lower()[:8]
    stored = store_upload(uploaded, suffix)
    feed = Feed.objects.create(source=Feed.Source.UPLOAD, file_name=Path(uploaded.name).name[:255],
                               stored_path=str(stored), user=user, valid_only=valid_only,
                               union=getattr(user, "union", None))
    run_feed_job.enqueue(feed.pk)
    return feed


def progress_path(feed: Feed) -> Path:
    return feeds_dir() / f"feed-{feed.pk}.progress.json"


def heartbeat_path(feed: Feed) -> Path:
    return feeds_dir() / f"feed-{feed.pk}.alive"


def report_path(feed: Feed) -> Path:
    return feeds_dir() / f"feed-{feed.pk}-errors.xlsx"


def feed_files(feed: Feed) -> list[Path]:
    named = [Path(p) for p in (feed.stored_path, feed.error_report_path) if p]
    return [*named, progress_path(feed), progress_path(feed).with_suffix(".tmp"),
            heartbeat_path(feed)]


def is_stuck(feed: Feed, now: dt.datetime | None = None) -> bool:
    """A feed a worker took whose heartbeat has gone stale (pending ones wait in the queue)."""
    if feed.status not in (Feed.Status.VALIDATING, Feed.Status.IMPORTING):
        return False
    seen = last_sign_of_life(heartbeat_path(feed), feed.started_at)
    return seen is not None and (now or timezone.now()) - seen > stale_after()


def fail_interrupted(feed: Feed) -> bool:
    changed = Feed.objects.filter(
        pk=feed.pk, status__in=[Feed.Status.VALIDATING, Feed.Status.IMPORTING],
    ).update(status=Feed.Status.FAILED, message=INTERRUPTED, finished_at=timezone.now(),
             stored_path="")
    if changed:
        delete_files([p for p in feed_files(feed) if str(p) != feed.error_report_path])
    return bool(changed)


def recover_if_stuck(feed: Feed) -> Feed:
    if feed.running and is_stuck(feed) and fail_interrupted(feed):
        feed.refresh_from_db()
    return feed


class Heartbeat(FileHeartbeat):
    def __init__(self, feed: Feed) -> None:
        super().__init__(heartbeat_path(feed), f"feed-heartbeat-{feed.pk}")


def live_progress(feed: Feed) -> dict:
    try:
        return json.loads(progress_path(feed).read_text())
    except (OSError, ValueError):
        return {"phase": feed.status, "done": 0, "total": None}


class ProgressFile:
    """``progress(phase, done, total)`` into the feed's progress file; the first call of
    a phase also sets the feed's status (before the import's transaction opens)."""

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self.path = progress_path(feed)
        self.last = 0.0
        self.phases: set[str] = {"validating"}

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        if phase not in self.phases:
            self.phases.add(phase)
            Feed.objects.filter(pk=self.feed.pk).update(status=phase)
        now = time.monotonic()
        if now - self.last < PROGRESS_INTERVAL_S and (total is None or done < total):
            return
        self.last = now
        tmp = self.path.with_suffix(".tmp")
        with open_private(tmp, "w") as fh:
            fh.write(json.dumps({"phase": phase, "done": done, "total": total}))
        os.replace(tmp, self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


@task()
def run_feed_job(feed_id: int) -> dict:
    """Import one pending upload; a feed already taken (a retried task) is left alone."""
    claimed = Feed.objects.filter(pk=feed_id, status=Feed.Status.PENDING).update(
        status=Feed.Status.VALIDATING, started_at=timezone.now())
    if not claimed:
        return {"feed": feed_id, "skipped": True}
    feed = Feed.objects.select_related("user__union").get(pk=feed_id)
    progress = ProgressFile(feed)
    stored = Path(feed.stored_path)
    try:
        with Heartbeat(feed):
            outcome = import_feed(stored, user=feed.user, file_name=feed.file_name,
                                  source=Feed.Source.UPLOAD, progress=progress, feed=feed,
                                  valid_only=feed.valid_only)
    except Exception:
        # The exception's text may quote the file; the log has it, the page does not.
        Feed.objects.filter(pk=feed_id).update(status=Feed.Status.FAILED, message=FAILED,
                                               finished_at=timezone.now(), stored_path="")
        raise
    finally:
        progress.remove()
        stored.unlink(missing_ok=True)  # it holds plaintext ID numbers
    if outcome.errors:
        write_error_report(outcome.feed, outcome.errors, outcome.error_count)
    return {"feed": feed_id, "imported": outcome.imported, "errors": outcome.error_count}


def write_error_report(feed: Feed, errors: list[RowError], total: int) -> Path:
    path = report_path(feed)
    with open_private(path) as fh:
        write_report(errors, fh, total_errors=total)
    Feed.objects.filter(pk=feed.pk).update(error_report_path=str(path))
    feed.error_report_path = str(path)
    return path


def feed_errors(feed: Feed) -> list[RowError]:
    return [RowError.from_dict(e) for e in feed.errors]
