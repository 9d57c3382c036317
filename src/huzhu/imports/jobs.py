"""Imports as background jobs: the web page stores the upload and enqueues; the
django-tasks-db worker (``huzhu manage db_worker``) runs :func:`run_import_job`.

Live progress goes to a small JSON file next to the upload rather than to the job row:
the import holds one transaction for its whole second pass, and on SQLite no other
connection can write (and no reader can see an uncommitted update) until it ends.
"""

from __future__ import annotations

import json
import os
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


def jobs_dir() -> Path:
    path = Path(settings.UPLOAD_ROOT) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_upload(uploaded, suffix: str) -> Path:
    """Write an uploaded file under UPLOAD_ROOT with a name nobody can guess."""
    target = jobs_dir() / f"{uuid.uuid4().hex}{suffix}"
    with target.open("wb") as fh:
        for chunk in uploaded.chunks():
            fh.write(chunk)
    return target


def create_job(*, kind: str, uploaded, user, valid_only: bool) -> ImportJob:
    suffix = Path(uploaded.name).suffix.lower()[:8]
    stored = store_upload(uploaded, suffix)
    job = ImportJob.objects.create(
        kind=kind, file_name=Path(uploaded.name).name[:255], stored_path=str(stored),
        user=user, union=getattr(user, "union", None), valid_only=valid_only,
    )
    run_import_job.enqueue(job.pk)
    return job


def progress_path(job: ImportJob) -> Path:
    return jobs_dir() / f"job-{job.pk}.progress.json"


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
        tmp.write_text(json.dumps({"phase": phase, "done": done, "total": total}))
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
        outcome = import_file(job.kind, Path(job.stored_path), user=job.user,
                              file_name=job.file_name, valid_only=job.valid_only,
                              progress=_phase_tracking(job, progress))
    except Exception as exc:
        _finish(job, status=ImportJob.Status.FAILED,
                message=f"导入出错，未写入任何数据：{exc}"[:500])
        raise
    finally:
        progress.remove()
        Path(job.stored_path).unlink(missing_ok=True)  # it holds plaintext ID numbers
    report = ""
    if outcome.errors:
        report_path = jobs_dir() / f"job-{job.pk}-errors.xlsx"
        write_report(outcome.errors, report_path, total_errors=outcome.error_count)
        report = str(report_path)
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
    ImportJob.objects.filter(pk=job.pk).update(**fields)


def job_errors(job: ImportJob) -> list[RowError]:
    return [RowError.from_dict(e) for e in job.errors]
