"""A dead worker's job is recovered and its upload deleted; error files are private and go
with their job or after the retention period. Issue 7, findings 8 (worker) and 11 (files)."""

from __future__ import annotations

import datetime as dt
import io
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from huzhu.imports import housekeeping, jobs
from huzhu.imports.models import ImportJob
from huzhu.lib.jobs import JobHeartbeat, ProgressFile
from huzhu.members.idcard import make_id_number
from tests.fixtures import PASSWORD

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
ID1 = make_id_number("220102", dt.date(1980, 1, 2), 11)


@pytest.fixture(autouse=True)
def _uploads(tmp_path, settings):
    settings.UPLOAD_ROOT = tmp_path / "uploads"
    settings.TASKS = IMMEDIATE


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def running_job(user, *, minutes_ago: float, status="validating") -> ImportJob:
    upload = jobs.store_upload(SimpleUploadedFile("m.csv", f"姓名,身份证号\n张三,{ID1}\n".encode()),
                               ".csv")
    job = ImportJob.objects.create(
        kind="members", file_name="m.csv", stored_path=str(upload), user=user,
        union=user.union, status=status,
        started_at=timezone.now() - dt.timedelta(minutes=minutes_ago))
    ProgressFile(job)("validating", 5000, None)
    return job


def test_stale_job_is_failed_and_its_files_deleted(users):
    stuck = running_job(users["clerk_a1"], minutes_ago=10)
    upload = Path(stuck.stored_path)
    assert upload.exists() and stuck.progress_path().exists()
    done = housekeeping.sweep()
    assert done["中断的导入任务"] == 1
    stuck.refresh_from_db()
    assert stuck.status == "failed" and stuck.message == "后台处理中断，未写入任何数据，请重新上传"
    assert stuck.finished_at is not None and stuck.stored_path == ""
    assert not upload.exists() and not stuck.progress_path().exists()
    assert housekeeping.sweep()["中断的导入任务"] == 0


def test_a_live_heartbeat_or_a_pending_job_is_left_alone(users, settings):
    settings.HUZHU_IMPORT_STALE_SECONDS = 60
    alive = running_job(users["clerk_a1"], minutes_ago=30, status="importing")
    JobHeartbeat(alive).beat()  # the worker touched it just now
    fresh = running_job(users["clerk_a1"], minutes_ago=0.1)  # first beat not written yet
    queued = running_job(users["clerk_a1"], minutes_ago=30, status="pending")
    assert housekeeping.sweep()["中断的导入任务"] == 0
    for job in (alive, fresh, queued):
        job.refresh_from_db()
        assert job.running and Path(job.stored_path).exists()
    old = time.time() - 120
    os.utime(alive.heartbeat_path(), (old, old))  # the worker stopped beating
    assert housekeeping.sweep()["中断的导入任务"] == 1
    alive.refresh_from_db()
    assert alive.status == "failed" and not alive.heartbeat_path().exists()


def test_heartbeat_thread_beats_while_the_import_runs_and_stops_after(users, settings,
                                                                     monkeypatch):
    settings.HUZHU_IMPORT_HEARTBEAT_SECONDS = 0.05
    job = running_job(users["clerk_a1"], minutes_ago=0, status="pending")
    seen = []

    def slow_import(kind, path, **kwargs):
        beat = job.heartbeat_path()
        first = beat.stat().st_mtime_ns
        time.sleep(0.3)
        seen.append((mode(beat), beat.stat().st_mtime_ns > first))
        return __import__("huzhu.imports.outcome", fromlist=["Outcome"]).Outcome(
            "members", "m.csv", imported=True)

    monkeypatch.setattr(jobs, "import_file", slow_import)
    jobs.run_import_job.call(job.pk)
    assert seen == [(0o600, True)]
    assert not job.heartbeat_path().exists()
    job.refresh_from_db()
    assert job.status == "done" and job.stored_path == ""


def test_job_page_shows_a_stuck_job_as_interrupted(client, users):
    stuck = running_job(users["clerk_a1"], minutes_ago=10)
    assert client.login(username="clerk_a1", password=PASSWORD)
    html = client.get(reverse("imports:progress", args=[stuck.pk])).content.decode()
    assert "后台处理中断" in html and 'hx-trigger="every 1s"' not in html
    assert not Path(stuck.stored_path).exists()


def test_finished_jobs_uploads_and_orphans_are_deleted(users):
    left = running_job(users["clerk_a1"], minutes_ago=1, status="done")
    orphan = ImportJob.files().dir() / "0123abcd.csv"
    orphan.write_bytes(b"old upload")
    hour_ago = time.time() - 7200
    os.utime(orphan, (hour_ago, hour_ago))
    recent = ImportJob.files().dir() / "fedc3210.csv"  # an upload whose job is being created
    recent.write_bytes(b"new upload")
    done = housekeeping.sweep()
    assert done["删除的上传文件"] == 1 and done["删除的残留文件"] >= 1
    assert not Path(left.stored_path).exists() and not orphan.exists() and recent.exists()
    left.refresh_from_db()
    assert left.stored_path == ""


def upload_with_errors(client, user, units) -> ImportJob:
    assert client.login(username=user.username, password=PASSWORD)
    bad = ID1[:-1] + ("1" if ID1[-1] != "1" else "2")
    content = f"姓名,身份证号,单位统一社会信用代码\n张三,{bad},{units['a1'].uscc}\n".encode()
    client.post(reverse("imports:new"), {"kind": "members",
                                         "file": SimpleUploadedFile("m.csv", content)})
    return ImportJob.objects.get()


def test_error_report_and_upload_folder_are_private(client, users, units, settings,
                                                     monkeypatch):
    modes = []
    real_store = jobs.store_upload

    def store(uploaded, suffix):
        path = real_store(uploaded, suffix)
        modes.append(mode(path))
        return path

    monkeypatch.setattr(jobs, "store_upload", store)
    os.umask(0o022)
    job = upload_with_errors(client, users["clerk_a1"], units)
    report = Path(job.error_report_path)
    assert job.status == "failed" and report.is_file()
    assert modes == [0o600] and mode(report) == 0o600 and mode(ImportJob.files().dir()) == 0o700
    assert report.parent == Path(settings.UPLOAD_ROOT) / "imports"


def test_deleting_a_job_deletes_its_report(client, users, units,
                                           django_capture_on_commit_callbacks):
    job = upload_with_errors(client, users["clerk_a1"], units)
    report = Path(job.error_report_path)
    with django_capture_on_commit_callbacks(execute=True):
        job.delete()
    assert not report.exists()
    job = upload_with_errors(client, users["clerk_a1"], units)
    report = Path(job.error_report_path)
    with django_capture_on_commit_callbacks(execute=True):
        ImportJob.objects.filter(pk=job.pk).delete()  # a queryset delete too
    assert not report.exists()


def test_old_report_is_deleted_and_rebuilt_from_the_row(client, users, units, settings):
    job = upload_with_errors(client, users["clerk_a1"], units)
    report = Path(job.error_report_path)
    assert housekeeping.sweep()["删除的过期错误报告"] == 0 and report.exists()
    ImportJob.objects.filter(pk=job.pk).update(
        finished_at=timezone.now() - dt.timedelta(days=31))
    assert housekeeping.sweep()["删除的过期错误报告"] == 1 and not report.exists()
    job.refresh_from_db()
    assert job.error_report_path == "" and job.error_count == 1
    response = client.get(reverse("imports:errors", args=[job.pk]))
    rows = list(openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
                .active.iter_rows(values_only=True))
    assert rows[1][:3] == ("m.csv", 2, "身份证号")


def test_housekeeping_command_reports_what_it_did(users, capsys):
    running_job(users["clerk_a1"], minutes_ago=10)
    call_command("housekeeping")
    assert "imports：中断的导入任务 1" in capsys.readouterr().out


# ---------------------------------------------------------------- a real worker, killed

WORKER_SETTINGS = """
from huzhu.config.settings import *  # noqa
HUZHU_IMPORT_HEARTBEAT_SECONDS = 0.2
HUZHU_IMPORT_STALE_SECONDS = 2
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
"""

ENQUEUE = """
import datetime as dt
import django
django.setup()
from django.core.files.uploadedfile import SimpleUploadedFile
from huzhu.imports import jobs
from huzhu.members.idcard import make_id_number
from huzhu.orgs.models import Union, Unit, User
from huzhu.orgs.uscc import make_uscc

city = Union.objects.create(code="C01", name="测试市总工会", level="city")
district = Union.objects.create(code="D01", name="甲区总工会", level="district", parent=city)
grassroots = Union.objects.create(code="G011", name="基层工会", level="grassroots",
                                  parent=district)
unit = Unit.objects.create(name="单位", uscc=make_uscc("91220101MA0000001"), union=grassroots)
admin = User.objects.create_user(username="admin", password="x" * 12, role="admin", union=city)
lines = ["姓名,身份证号,单位统一社会信用代码"]
for i in range(300_000):
    birth = dt.date(1960, 1, 1) + dt.timedelta(days=i % 15000)
    lines.append(f"会员{i},{make_id_number('220102', birth, i % 1000)},{unit.uscc}")
upload = SimpleUploadedFile("big.csv", ("\\n".join(lines) + "\\n").encode())
print(jobs.create_job(kind="members", uploaded=upload, user=admin, valid_only=True).pk)
"""


@pytest.mark.slow
def test_killed_db_worker_leaves_a_job_that_housekeeping_recovers(tmp_path):
    (tmp_path / "worker_settings.py").write_text(WORKER_SETTINGS)
    env = {**os.environ, "HUZHU_VAR_DIR": str(tmp_path / "var"), "PYTHONPATH": str(tmp_path),
           "DJANGO_SETTINGS_MODULE": "worker_settings"}
    env.pop("DATABASE_URL", None)  # a file database the worker and this test both open
    manage = [sys.executable, "-m", "huzhu.cli", "manage"]

    def run(*args, timeout=300):
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    run(*manage, "migrate", "-v", "0")
    job_id = int(run(sys.executable, "-c", ENQUEUE).split()[-1])
    database = sqlite3.connect(tmp_path / "var" / "huzhu.sqlite3")

    def job() -> tuple[str, str, str]:
        return database.execute("SELECT status, stored_path, message FROM imports_importjob "
                                "WHERE id = ?", [job_id]).fetchone()

    status, upload, _ = job()
    assert status == "pending" and Path(upload).is_file()
    heartbeat = Path(upload).parent / f"job-{job_id}.alive"
    worker = subprocess.Popen([*manage, "db_worker", "--no-reload", "--no-startup-delay",
                               "--interval", "0.1"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not heartbeat.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert heartbeat.exists(), "the worker never started the job"
        time.sleep(0.5)
        run(*manage, "housekeeping")  # a live worker's job is left alone
        assert job()[0] in ("validating", "importing")
        worker.kill()  # SIGKILL: no finally block, no clean-up, mid-import
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    status, upload, _ = job()
    assert status in ("validating", "importing") and Path(upload).is_file()
    time.sleep(2.5)  # past HUZHU_IMPORT_STALE_SECONDS
    assert "中断的导入任务 1" in run(*manage, "housekeeping")
    status, stored, message = job()
    assert (status, stored, message) == ("failed", "", "后台处理中断，未写入任何数据，请重新上传")
    assert not Path(upload).exists() and not heartbeat.exists()
    assert database.execute("SELECT count(*) FROM members_member").fetchone() == (0,)
