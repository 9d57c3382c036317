"""Imports as background jobs: the web page stores the upload and enqueues; the
django-tasks-db worker (``huzhu manage db_worker``) runs :func:`run_import_job`.

Live progress goes to a small JSON file next to the upload rather than to the job row:
the import holds one transaction for its whole second pass, and on SQLite no other
connection can write (and no reader can see an uncommitted update) until it ends. For the
same reason the worker proves it is alive with a heartbeat file beside it, touched every
few seconds by a thread: a job whose heartbeat has gone stale belongs to a worker that
died, and :mod:`huzhu.imports.housekeeping` fails it and deletes its files.

Every file here holds personal data (uploads hold plaintext ID numbers): the folder is
0700 and each file 0600 from the moment it exists.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from huzhu.imports.errors import RowError, write_report
from huzhu.imports.models import ImportJob
from huzhu.imports.service import import_file

SHOWN_ERRORS = 200
PROGRESS_INTERVAL_S = 0.5
HEARTBEAT_SECONDS = 5  # HUZHU_IMPORT_HEARTBEAT_SECONDS
STALE_SECONDS = 120  # HUZHU_IMPORT_STALE_SECONDS: calamine may hold the GIL ~10 s
INTERRUPTED = "后台处理中断，未写入任何数据，请重新上传"
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def jobs_dir() -> Path:
    path = Path(settings.UPLOAD_ROOT) / "imports"
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    if path.stat().st_mode & 0o777 != PRIVATE_DIR:  # made earlier, or under another umask
        path.chmod(PRIVATE_DIR)
    return path


def open_private(path: Path, mode: str = "wb"):
    """Create ``path`` readable by this user only; it never exists with wider rights."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)  # O_CREAT's mode is masked by the umask; an old file kept its
    return os.fdopen(fd, mode)


def store_upload(uploaded, suffix: str) -> Path:
    """Write an uploaded file under UPLOAD_ROOT with a name nobody can guess."""
    target = jobs_dir() / f"{uuid.uuid4().hex}{suffix}"
    with open_private(target) as fh:
        for chunk in uploaded.chunks():
            fh.write(chunk)
    return target


def create_job(*, kind: str, uploaded, user, valid_only: bool,
               options: dict | None = None) -> ImportJob:
    suffix = Path(uploaded.name).suffix.lower()[:8]
    stored = store_upload(uploaded, suffix)
    job = ImportJob.objects.create(
        kind=kind, file_name=Path(uploaded.name).name[:255], stored_path=str(stored),
        user=user, union=getattr(user, "union", None), valid_only=valid_only,
        options=options or {},
    )
    run_import_job.enqueue(job.pk)
    return job


def progress_path(job: ImportJob) -> Path:
    return jobs_dir() / f"job-{job.pk}.progress.json"


def heartbeat_path(job: ImportJob) -> Path:
    return jobs_dir() / f"job-{job.pk}.alive"


def report_path(job: ImportJob) -> Path:
    return jobs_dir() / f"job-{job.pk}-errors.xlsx"


def job_files(job: ImportJob) -> list[Path]:
    """Every file a job may have left on disk."""
    named = [Path(p) for p in (job.stored_path, job.error_report_path) if p]
    return [*named, progress_path(job), progress_path(job).with_suffix(".tmp"),
            heartbeat_path(job)]


def delete_files(paths: list[Path]) -> int:
    deleted = 0
    for path in paths:
        try:
            path.unlink()
            deleted += 1
        except FileNotFoundError:
            pass
    return deleted


def stale_after() -> dt.timedelta:
    return dt.timedelta(seconds=getattr(settings, "HUZHU_IMPORT_STALE_SECONDS", STALE_SECONDS))


def last_sign_of_life(heartbeat: Path, started_at: dt.datetime | None) -> dt.datetime | None:
    """The heartbeat's time, or the start if the first beat is not written yet."""
    try:
        beat = dt.datetime.fromtimestamp(heartbeat.stat().st_mtime, tz=dt.UTC)
    except OSError:
        beat = None
    times = [t for t in (beat, started_at) if t is not None]
    return max(times) if times else None


def is_stuck(job: ImportJob, now: dt.datetime | None = None) -> bool:
    """A job a worker took (validating, importing) whose worker no longer shows life.
    A pending job is not stuck: the queue keeps it for the next worker."""
    if job.status not in (ImportJob.Status.VALIDATING, ImportJob.Status.IMPORTING):
        return False
    seen = last_sign_of_life(heartbeat_path(job), job.started_at)
    return seen is not None and (now or timezone.now()) - seen > stale_after()


def fail_interrupted(job: ImportJob) -> bool:
    """Mark a stuck job failed and delete its files; False if it moved on meanwhile."""
    changed = ImportJob.objects.filter(
        pk=job.pk, status__in=[ImportJob.Status.VALIDATING, ImportJob.Status.IMPORTING],
    ).update(status=ImportJob.Status.FAILED, message=INTERRUPTED, finished_at=timezone.now(),
             stored_path="")
    if changed:
        delete_files([p for p in job_files(job) if str(p) != job.error_report_path])
    return bool(changed)


def recover_if_stuck(job: ImportJob) -> ImportJob:
    """For the job page: one stat() to tell a dead worker's job from a slow one."""
    if job.running and is_stuck(job) and fail_interrupted(job):
        job.refresh_from_db()
    return job


class FileHeartbeat:
    """Touches a heartbeat file every few seconds from a daemon thread, for as long as the
    work runs; the file goes when it ends. Housekeeping reads its age to tell a dead
    worker from a slow one (member imports here, settlement feeds in ``huzhu.feeds``)."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.interval = getattr(settings, "HUZHU_IMPORT_HEARTBEAT_SECONDS", HEARTBEAT_SECONDS)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def __enter__(self) -> FileHeartbeat:
        self.beat()
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join(timeout=self.interval + 1)
        self.path.unlink(missing_ok=True)

    def beat(self) -> None:
        with open_private(self.path):
            pass
        os.utime(self.path)  # the modification time is the beat

    def _run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                self.beat()
            except OSError:
                pass  # a full disk must not kill the import; the sweep may then fail it


class Heartbeat(FileHeartbeat):
    def __init__(self, job: ImportJob) -> None:
        super().__init__(heartbeat_path(job), f"heartbeat-{job.pk}")


def live_progress(job: ImportJob) -> dict:
    """Phase and row counts of a running job, from its progress file."""
    try:
        return json.loads(progress_path(job).read_text())
    except (OSError, ValueError):
        return {"phase": job.status, "done": job.processed_rows, "total": None}


class _ProgressFile:
    def __init__(self, job: ImportJob) -> None:
        self.path = progress_path(job)
        self.last = 0.0

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_INTERVAL_S and (total is None or done < total):
            return
        self.last = now
        tmp = self.path.with_suffix(".tmp")
        with open_private(tmp, "w") as fh:
            fh.write(json.dumps({"phase": phase, "done": done, "total": total}))
        os.replace(tmp, self.path)  # readers never see half a file

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


@task()
def run_import_job(job_id: int) -> dict:
    """Run one pending job; a job already taken (a retried task) is left alone."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.PENDING).update(
        status=ImportJob.Status.VALIDATING, started_at=timezone.now())
    if not claimed:
        return {"job": job_id, "skipped": True}
    job = ImportJob.objects.select_related("user__union").get(pk=job_id)
    progress = _ProgressFile(job)
    try:
        with Heartbeat(job):
            outcome = import_file(job.kind, Path(job.stored_path), user=job.user,
                                  file_name=job.file_name, valid_only=job.valid_only,
                                  progress=_phase_tracking(job, progress),
                                  options=job.options)
    except Exception:
        # The exception's text may quote the file; the log has it, the page does not.
        _finish(job, status=ImportJob.Status.FAILED,
                message="导入出错，未写入任何数据；请联系系统管理员查看日志")
        raise
    finally:
        progress.remove()
        Path(job.stored_path).unlink(missing_ok=True)  # it holds plaintext ID numbers
    report = ""
    if outcome.errors:
        report = str(report_path(job))
        with open_private(Path(report)) as fh:
            write_report(outcome.errors, fh, total_errors=outcome.error_count)
    _finish(
        job,
        status=ImportJob.Status.DONE if outcome.imported else ImportJob.Status.FAILED,
        total_rows=outcome.total_rows, processed_rows=outcome.total_rows,
        created_count=outcome.created, updated_count=outcome.updated,
        unchanged_count=outcome.unchanged, error_count=outcome.error_count,
        errors=[e.as_dict() for e in outcome.errors[:SHOWN_ERRORS]],
        error_report_path=report, message=outcome.summary()[:500],
    )
    return {"job": job_id, "imported": outcome.imported, "errors": outcome.error_count}


def _phase_tracking(job: ImportJob, progress: _ProgressFile):
    seen = {"validating"}

    def report(phase: str, done: int, total: int | None) -> None:
        if phase not in seen:
            seen.add(phase)
            # The status flips before the import transaction opens, so others see it.
            ImportJob.objects.filter(pk=job.pk).update(status=phase)
        progress(phase, done, total)

    return report


def _finish(job: ImportJob, **fields) -> None:
    fields["finished_at"] = timezone.now()
    fields["stored_path"] = ""  # the upload is deleted: nothing for the sweep to look for
    ImportJob.objects.filter(pk=job.pk).update(**fields)


def job_errors(job: ImportJob) -> list[RowError]:
    return [RowError.from_dict(e) for e in job.errors]
