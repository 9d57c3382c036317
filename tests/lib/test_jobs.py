"""The shared file-job model and its files helper (huzhu.lib.jobs), through the kinds that
use it: a job's files are private and go with it, a dead worker's job is told from a slow
one, and the one progress template shows phase, counts, percentage and elapsed time."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from huzhu.feeds.models import Feed
from huzhu.feeds.models.proactive import BatchRun
from huzhu.imports.models import ImportJob
from huzhu.lib import jobs
from huzhu.lib.jobs import JobFiles, Progress
from huzhu.members.models import MemberExport
from huzhu.reports.models import WhatIfRun

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _uploads(tmp_path, settings):
    settings.UPLOAD_ROOT = tmp_path / "uploads"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_kinds_folder_is_private_and_its_files_too_whatever_the_umask():
    files = JobFiles("somewhere", prefix="thing")
    old = os.umask(0)
    try:
        stored = files.store(SimpleUploadedFile("a.csv", b"x,y\n"), ".csv")
        body = files.store(b"raw body", "")
        with jobs.open_private(files.of(7, ".progress.json"), "w") as fh:
            fh.write("{}")
    finally:
        os.umask(old)
    assert mode(files.dir()) == 0o700
    assert [mode(p) for p in (stored, body, files.of(7, ".progress.json"))] == [0o600] * 3
    assert stored.parent == files.dir() and len(stored.stem) == 32  # a name nobody guesses
    assert body.read_bytes() == b"raw body"
    assert files.of(7, ".alive").name == "thing-7.alive"


def test_a_folder_made_wider_earlier_is_tightened(settings):
    loose = Path(settings.UPLOAD_ROOT) / "exports"
    loose.mkdir(parents=True, mode=0o755)
    loose.chmod(0o755)
    assert mode(MemberExport.files().dir()) == 0o700


def test_open_private_exclusive_refuses_an_existing_file():
    path = ImportJob.files().new_path(".xlsx")
    with jobs.open_private(path, exclusive=True) as fh:
        fh.write(b"1")
    with pytest.raises(FileExistsError):
        jobs.open_private(path, exclusive=True)


def upload_job(**fields) -> ImportJob:
    stored = ImportJob.files().store(b"name,id\n", ".csv")
    return ImportJob.objects.create(kind="members", file_name="m.csv", stored_path=str(stored),
                                    **fields)


def test_a_jobs_files_are_listed_and_deleted_with_it():
    job = upload_job(status="importing", started_at=timezone.now())
    jobs.ProgressFile(job)("importing", 10, 10)
    jobs.JobHeartbeat(job).beat()
    report = job.report_path()
    report.write_bytes(b"xlsx")
    ImportJob.objects.filter(pk=job.pk).update(error_report_path=str(report))
    job.refresh_from_db()
    files = job.job_files()
    assert Path(job.stored_path) in files and report in files
    assert job.progress_path() in files and job.heartbeat_path() in files
    assert job.delete_files() == 4  # upload, report, progress and heartbeat (no .tmp left)
    assert not any(p.exists() for p in files)


def test_the_progress_file_is_private_whole_and_flips_the_status():
    job = upload_job(status="validating", started_at=timezone.now())
    progress = jobs.ProgressFile(job)
    progress("validating", 5, None)
    assert ImportJob.objects.get(pk=job.pk).status == "validating"
    progress("importing", 3, 4)  # within half a second of the last write: not written
    assert ImportJob.objects.get(pk=job.pk).status == "importing"
    assert json.loads(job.progress_path().read_text())["phase"] == "validating"
    progress.last = 0.0
    progress("importing", 3, 4)
    assert json.loads(job.progress_path().read_text()) == {"phase": "importing", "done": 3,
                                                           "total": 4}
    assert mode(job.progress_path()) == 0o600
    job.refresh_from_db()
    shown = job.progress()
    assert (shown.phase, shown.done, shown.total, shown.percent) == ("importing", 3, 4, 75)
    progress.remove()
    assert job.progress().done == 0  # no file: the row's status, nothing counted


def test_stuck_is_a_taken_job_whose_heartbeat_went_stale(settings):
    settings.HUZHU_IMPORT_STALE_SECONDS = 60
    long_ago = timezone.now() - dt.timedelta(minutes=30)
    stuck = upload_job(status="validating", started_at=long_ago)
    slow = upload_job(status="importing", started_at=long_ago)
    jobs.JobHeartbeat(slow).beat()
    queued = upload_job(status="pending", started_at=long_ago)
    fresh = upload_job(status="validating", started_at=timezone.now())
    assert [j.is_stuck() for j in (stuck, slow, queued, fresh)] == [True, False, False, False]
    old = time.time() - 120
    os.utime(slow.heartbeat_path(), (old, old))
    assert slow.is_stuck()


def test_failing_a_stuck_job_deletes_what_it_read_and_wrote_but_not_twice():
    feed_upload = Feed.files().store(b"x", ".csv")
    feed = Feed.objects.create(file_name="a.csv", status=Feed.Status.VALIDATING,
                               started_at=timezone.now() - dt.timedelta(hours=1),
                               stored_path=str(feed_upload))
    jobs.ProgressFile(feed)("validating", 1, None)
    assert feed.recover_if_stuck().status == Feed.Status.FAILED
    assert feed.message == Feed.INTERRUPTED and feed.stored_path == "" and feed.finished_at
    assert not feed_upload.exists() and not feed.progress_path().exists()
    assert not feed.fail_interrupted()  # it has moved on: nothing to do


def test_a_kind_with_its_progress_in_its_row(users):
    export = MemberExport.objects.create(user=users["clerk_a1"], status="running",
                                         total_rows=2000, written_rows=2500)
    assert export.progress().percent == 100 and export.progress().polling
    assert not export.is_stuck()
    MemberExport.objects.filter(pk=export.pk).update(
        created_at=timezone.now() - dt.timedelta(hours=2))
    export.refresh_from_db()
    assert export.is_stuck() and export.fail_interrupted()
    export.refresh_from_db()
    assert export.status == "failed" and export.message == "后台处理中断，请重新导出"
    assert not export.running and not export.progress().polling


def test_progress_percent_and_elapsed_time_in_chinese():
    start = timezone.now()
    assert Progress("pending", True, "pending").percent is None
    assert Progress("running", True, "x", 1, 3).percent == 33
    shown = Progress("running", True, "x", since=start)
    assert shown.elapsed(start + dt.timedelta(seconds=7)) == "7 秒"
    assert shown.elapsed(start + dt.timedelta(seconds=65)) == "1 分 05 秒"
    assert shown.elapsed(start + dt.timedelta(hours=2, minutes=3)) == "2 小时 03 分"
    assert Progress("running", True, "x").elapsed() == ""


def test_the_one_progress_template_polls_while_running_and_stops_after(users):
    export = MemberExport.objects.create(user=users["clerk_a1"], status="running",
                                         total_rows=12345, written_rows=2345)
    html = render_to_string("members/_export_progress.html",
                            {"job": export, "progress": export.progress()})
    assert 'id="export-progress"' in html and 'data-status="running"' in html
    assert 'hx-trigger="every 1s"' in html and 'hx-swap="outerHTML"' in html
    assert f'hx-get="{reverse("members:export-detail", args=[export.pk])}"' in html
    assert "正在生成：2,345 / 12,345 行" in html and 'aria-valuenow="19"' in html
    assert 'aria-label="导出进度"' in html and "已用时" in html
    export.status = "failed"
    export.message = "导出失败：磁盘已满"
    html = render_to_string("members/_export_progress.html",
                            {"job": export, "progress": export.progress()})
    assert "hx-get" not in html and 'id="export-failed"' in html and "磁盘已满" in html


def test_a_run_is_stale_by_its_row_and_a_what_if_run_is_never_judged():
    long_ago = timezone.now() - dt.timedelta(minutes=11)
    stale = BatchRun(status="running", phase="writing", done=5, total=20, updated_at=long_ago)
    assert stale.is_stuck() and not stale.progress().polling  # its page offers to resume
    moving = BatchRun(status="running", phase="engine", done=0, total=20,
                      updated_at=timezone.now())
    assert moving.progress().polling and moving.progress().percent is None  # not measured
    assert stale.progress().percent == 25
    assert not WhatIfRun(status="running", created_at=long_ago).is_stuck()
    assert WhatIfRun(status="running", step=2).progress().percent == 50
