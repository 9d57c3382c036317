"""The feeds' share of ``huzhu manage housekeeping`` (worker start and every minute):
the same rules as the imports' (:mod:`huzhu.imports.housekeeping`), for ``var/uploads/feeds``.

- a feed whose heartbeat is older than HUZHU_IMPORT_STALE_SECONDS is failed with
  "后台处理中断……" and its files deleted (its transaction died with the worker);
- the upload of a finished feed still on disk is deleted (plaintext ID numbers);
- an error report older than HUZHU_IMPORT_REPORT_RETENTION_DAYS is deleted (the page
  rebuilds it from the first errors kept with the feed);
- a file there that no feed refers to, older than an hour, is deleted.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.db.models import Q
from django.utils import timezone

from huzhu.feeds.models import Feed
from huzhu.imports.housekeeping import ORPHAN_AGE, clear_files, report_cutoff
from huzhu.lib.jobs import delete_files

_RUNNING = [Feed.Status.VALIDATING, Feed.Status.IMPORTING]


def sweep() -> dict[str, int]:
    now = timezone.now()
    return {
        "中断的结算数据导入": fail_stuck(now),
        "删除的结算数据上传文件": delete_finished_uploads(),
        "删除的过期错误报告": delete_old_reports(now),
        "删除的残留文件": delete_orphans(now),
    }


def fail_stuck(now: dt.datetime) -> int:
    running = Feed.objects.filter(status__in=_RUNNING)
    return sum(1 for feed in running if feed.is_stuck(now) and feed.fail_interrupted())


def delete_finished_uploads() -> int:
    return clear_files(Feed.objects.filter(status__in=[Feed.Status.DONE, Feed.Status.FAILED]),
                       "stored_path")


def delete_old_reports(now: dt.datetime) -> int:
    return clear_files(Feed.objects.filter(finished_at__lt=report_cutoff(now)),
                       "error_report_path")


def delete_orphans(now: dt.datetime) -> int:
    known: set[Path] = set()
    for feed in Feed.objects.filter(~Q(stored_path="") | ~Q(error_report_path="")
                                    | Q(status__in=[Feed.Status.PENDING, *_RUNNING])):
        known.update(feed.job_files())
    cutoff = (now - ORPHAN_AGE).timestamp()
    orphans = [p for p in Feed.files().dir().iterdir()
               if p.is_file() and p not in known and p.stat().st_mtime < cutoff]
    return delete_files(orphans)
