"""The import's share of ``huzhu manage housekeeping`` (run at worker start and every
minute by ``huzhu serve``): recover jobs whose worker died, and delete what no one needs.

- a job whose heartbeat is older than HUZHU_IMPORT_STALE_SECONDS (120) is failed with
  "后台处理中断……" and its upload, progress and heartbeat files are deleted; its import
  transaction died with the worker, so nothing of it was written;
- the upload of a finished job that is still on disk is deleted (it holds plaintext IDs);
- an error report older than HUZHU_IMPORT_REPORT_RETENTION_DAYS (30) is deleted; the job
  row stays, and its page rebuilds the report from the first errors kept in the row;
- a file in the import folder that no job refers to, older than an hour, is deleted (the
  rest of a deleted job, an upload whose job was never created).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from huzhu.imports.models import ImportJob
from huzhu.lib.jobs import delete_files

REPORT_RETENTION_DAYS = 30
ORPHAN_AGE = dt.timedelta(hours=1)


def sweep() -> dict[str, int]:
    now = timezone.now()
    return {
        "中断的导入任务": fail_stuck_jobs(now),
        "删除的上传文件": delete_finished_uploads(),
        "删除的过期错误报告": delete_old_reports(now),
        "删除的残留文件": delete_orphans(now),
    }


def fail_stuck_jobs(now: dt.datetime) -> int:
    running = ImportJob.objects.filter(
        status__in=[ImportJob.Status.VALIDATING, ImportJob.Status.IMPORTING])
    return sum(1 for job in running if job.is_stuck(now) and job.fail_interrupted())


def clear_files(rows, field: str) -> int:
    """Delete the file each row's ``field`` names, then blank the field (import jobs here,
    settlement feeds in ``huzhu.feeds``)."""
    deleted = 0
    for row in rows.exclude(**{field: ""}):
        deleted += delete_files([Path(getattr(row, field))])
        type(row).objects.filter(pk=row.pk).update(**{field: ""})
    return deleted


def report_cutoff(now: dt.datetime) -> dt.datetime:
    days = getattr(settings, "HUZHU_IMPORT_REPORT_RETENTION_DAYS", REPORT_RETENTION_DAYS)
    return now - dt.timedelta(days=days)


def delete_finished_uploads() -> int:
    return clear_files(ImportJob.objects.filter(
        status__in=[ImportJob.Status.DONE, ImportJob.Status.FAILED]), "stored_path")


def delete_old_reports(now: dt.datetime) -> int:
    return clear_files(ImportJob.objects.filter(finished_at__lt=report_cutoff(now)),
                       "error_report_path")


def delete_orphans(now: dt.datetime) -> int:
    folder = ImportJob.files().dir()
    known: set[Path] = set()
    for job in ImportJob.objects.filter(~Q(stored_path="") | ~Q(error_report_path="") |
                                        Q(status__in=[ImportJob.Status.PENDING,
                                                      ImportJob.Status.VALIDATING,
                                                      ImportJob.Status.IMPORTING])):
        known.update(job.job_files())
    cutoff = (now - ORPHAN_AGE).timestamp()
    orphans = [p for p in folder.iterdir()
               if p.is_file() and p not in known and p.stat().st_mtime < cutoff]
    return delete_files(orphans)
