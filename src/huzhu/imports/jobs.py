"""Imports as background jobs: the web page stores the upload and enqueues; the
django-tasks-db worker (``huzhu manage db_worker``) runs :func:`run_import_job`.

Live progress goes to a small JSON file next to the upload rather than to the job row:
the import holds one transaction for its whole second pass, and on SQLite no other
connection can write (and no reader can see an uncommitted update) until it ends. For the
same reason the worker proves it is alive with a heartbeat file beside it, touched every
few seconds by a thread: a job whose heartbeat has gone stale belongs to a worker that
died, and :mod:`huzhu.imports.housekeeping` fails it and deletes its files.

Every file here holds personal data (uploads hold plaintext ID numbers): the folder is
0700 and each file 0600 from the moment it exists. The folder, the files' names, the
progress and heartbeat files and the recovery of a dead worker's job are the shared
file-job model's (:mod:`huzhu.lib.jobs`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django_tasks import task

from huzhu.imports.errors import RowError, write_report
from huzhu.imports.models import ImportJob
from huzhu.imports.service import import_file
from huzhu.lib.jobs import JobHeartbeat, ProgressFile, open_private

SHOWN_ERRORS = 200
INTERRUPTED = ImportJob.INTERRUPTED

# Where an upload is kept: the model's private folder (huzhu.lib.jobs); a name of its own
# so that a test can watch what is stored.
store_upload = ImportJob.files().store


def create_job(*, kind: str, uploaded: UploadedFile, user: Any, valid_only: bool,
               options: dict[str, Any] | None = None) -> ImportJob:
    name = uploaded.name or ""
    stored = store_upload(uploaded, Path(name).suffix.lower()[:8])
    job = ImportJob.objects.create(
        kind=kind, file_name=Path(name).name[:255], stored_path=str(stored),
        user=user, union=getattr(user, "union", None), valid_only=valid_only,
        options=options or {},
    )
    run_import_job.enqueue(job.pk)
    return job


@task()
def run_import_job(job_id: int) -> dict[str, Any]:
    """Run one pending job; a job already taken (a retried task) is left alone."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.PENDING).update(
        status=ImportJob.Status.VALIDATING, started_at=timezone.now())
    if not claimed:
        return {"job": job_id, "skipped": True}
    job = ImportJob.objects.select_related("user__union").get(pk=job_id)
    progress = ProgressFile(job)
    try:
        with JobHeartbeat(job):
            outcome = import_file(job.kind, Path(job.stored_path), user=job.user,
                                  file_name=job.file_name, valid_only=job.valid_only,
                                  progress=progress, options=job.options)
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
        report = str(job.report_path())
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


def _finish(job: ImportJob, **fields: Any) -> None:
    fields["finished_at"] = timezone.now()
    fields["stored_path"] = ""  # the upload is deleted: nothing for the sweep to look for
    ImportJob.objects.filter(pk=job.pk).update(**fields)


def job_errors(job: ImportJob) -> list[RowError]:
    return [RowError.from_dict(e) for e in job.errors]
