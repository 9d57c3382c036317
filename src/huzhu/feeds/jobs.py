"""Feed uploads as background jobs, the way :mod:`huzhu.imports.jobs` runs imports: the
page stores the upload privately and enqueues :func:`run_feed_job`; the worker writes
live progress to a small JSON file and touches a heartbeat file while it runs (on SQLite
the import's transaction keeps other connections from seeing an update of the feed
row); :mod:`huzhu.feeds.housekeeping` fails a feed whose worker died.

The files live in their own 0700 folder, ``var/uploads/feeds/``, each 0600: an upload
holds plaintext ID numbers and is deleted as soon as the import has read it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django_tasks import task

from huzhu.feeds.importing import import_feed
from huzhu.feeds.models import Feed
from huzhu.imports.errors import RowError, write_report
from huzhu.lib.jobs import JobHeartbeat, ProgressFile, open_private

INTERRUPTED = Feed.INTERRUPTED
FAILED = "导入出错，未写入任何数据；请联系系统管理员查看日志"

# Where an upload is kept: the model's private folder (huzhu.lib.jobs); a name of its own
# so that a test can watch what is stored.
store_upload = Feed.files().store


def create_job(*, uploaded: UploadedFile, user: Any, valid_only: bool = False) -> Feed:
    name = uploaded.name or ""
    stored = store_upload(uploaded, Path(name).suffix.lower()[:8])
    feed = Feed.objects.create(source=Feed.Source.UPLOAD, file_name=Path(name).name[:255],
                               stored_path=str(stored), user=user, valid_only=valid_only,
                               union=getattr(user, "union", None))
    run_feed_job.enqueue(feed.pk)
    return feed


@task()
def run_feed_job(feed_id: int) -> dict[str, Any]:
    """Import one pending upload; a feed already taken (a retried task) is left alone."""
    claimed = Feed.objects.filter(pk=feed_id, status=Feed.Status.PENDING).update(
        status=Feed.Status.VALIDATING, started_at=timezone.now())
    if not claimed:
        return {"feed": feed_id, "skipped": True}
    feed = Feed.objects.select_related("user__union").get(pk=feed_id)
    progress = ProgressFile(feed)
    stored = Path(feed.stored_path)
    try:
        with JobHeartbeat(feed):
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
    path = feed.report_path()
    with open_private(path) as fh:
        write_report(errors, fh, total_errors=total)
    Feed.objects.filter(pk=feed.pk).update(error_report_path=str(path))
    feed.error_report_path = str(path)
    return path


def feed_errors(feed: Feed) -> list[RowError]:
    return [RowError.from_dict(e) for e in feed.errors]
