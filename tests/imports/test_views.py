"""The import pages: upload → job (run by the immediate task backend) → progress → report."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from huzhu.imports import jobs
from huzhu.imports.models import ImportJob
from huzhu.lib.jobs import ProgressFile
from huzhu.members.idcard import make_id_number
from huzhu.members.models import Member
from tests.fixtures import PASSWORD

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
ID1 = make_id_number("220102", dt.date(1980, 1, 2), 11)
ID2 = make_id_number("220102", dt.date(1990, 5, 6), 22)


@pytest.fixture(autouse=True)
def _uploads(tmp_path, settings):
    settings.UPLOAD_ROOT = tmp_path / "uploads"
    settings.TASKS = IMMEDIATE


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def upload(client, content: bytes, name="members.csv", kind="members", valid_only=False):
    data = {"kind": kind, "file": SimpleUploadedFile(name, content)}
    if valid_only:
        data["valid_only"] = "on"
    return client.post(reverse("imports:new"), data)


def csv_bytes(units, bad=False) -> bytes:
    second = ID2[:-1] + ("1" if ID2[-1] != "1" else "2") if bad else ID2
    lines = ["姓名,身份证号,手机号,单位统一社会信用代码",
             f"张伟,{ID1},13800138000,{units['a1'].uscc}",
             f"李娜,{second},13912345678,{units['a1'].uscc}"]
    return ("\n".join(lines) + "\n").encode("gb18030")


def test_clean_upload_is_imported_and_shows_counts(client, users, units):
    login(client, users["clerk_a1"])
    response = upload(client, csv_bytes(units))
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("imports:detail",
                                                                   args=[job.pk])
    assert job.status == "done" and job.created_count == 2 and job.user == users["clerk_a1"]
    assert job.union_id == users["clerk_a1"].union_id
    assert Member.objects.count() == 2
    page = client.get(response.url).content.decode()
    assert "导入完成" in page and 'hx-trigger="every 1s"' not in page
    # The upload held plaintext ID numbers: it is gone once the job is done.
    assert list(ImportJob.files().dir().iterdir()) == []


def test_error_flow_progress_fragment_and_xlsx_report(client, users, units):
    login(client, users["clerk_a1"])
    response = upload(client, csv_bytes(units, bad=True))
    job = ImportJob.objects.get()
    assert job.status == "failed" and job.error_count == 1 and Member.objects.count() == 0
    fragment = client.get(reverse("imports:progress", args=[job.pk]))
    html = fragment.content.decode()
    assert "未导入任何数据" in html and "校验位错误" in html
    assert reverse("imports:errors", args=[job.pk]) in html
    assert "<html" not in html  # a fragment, not a page
    report = client.get(reverse("imports:errors", args=[job.pk]))
    assert report.status_code == 200
    assert report["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(report.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("文件", "行号", "列", "错误说明")
    assert rows[1][:3] == ("members.csv", 3, "身份证号") and "校验位" in rows[1][3]
    assert response.status_code == 302


def test_valid_only_choice_imports_the_good_rows(client, users, units):
    login(client, users["clerk_a1"])
    upload(client, csv_bytes(units, bad=True), valid_only=True)
    job = ImportJob.objects.get()
    assert job.status == "done" and job.valid_only and job.created_count == 1
    assert job.error_count == 1 and Member.objects.count() == 1


@override_settings(TASKS=DUMMY)
def test_pending_job_polls_every_second(client, users, units):
    login(client, users["clerk_a1"])
    upload(client, csv_bytes(units))
    job = ImportJob.objects.get()
    assert job.status == "pending"
    html = client.get(reverse("imports:progress", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in html and "排队" in html
    # The worker picks it up later; running it now gives the same result as at once.
    jobs.run_import_job.call(job.pk)
    job.refresh_from_db()
    assert job.status == "done" and job.created_count == 2
    assert "导入完成" in client.get(reverse("imports:progress", args=[job.pk])).content.decode()


def test_live_progress_is_read_from_the_progress_file(users, units):
    job = ImportJob.objects.create(kind="members", file_name="x.csv", user=users["clerk_a1"],
                                   union=users["clerk_a1"].union, status="importing")
    ProgressFile(job)("importing", 5000, 20000)
    assert job.live_progress() == {"phase": "importing", "done": 5000, "total": 20000}


def test_scope_clerk_cannot_import_into_another_union(client, users, units):
    login(client, users["clerk_a1"])
    content = (f"姓名,身份证号,单位统一社会信用代码\n张伟,{ID1},{units['b1'].uscc}\n").encode()
    upload(client, content)
    job = ImportJob.objects.get()
    assert job.status == "failed" and Member.objects.count() == 0
    assert job.errors[0]["message"] == f"未找到统一社会信用代码为“{units['b1'].uscc}”的单位"


def test_other_unions_clerk_cannot_see_the_job(client, users, units):
    login(client, users["clerk_a1"])
    upload(client, csv_bytes(units, bad=True))
    job = ImportJob.objects.get()
    client.logout()
    login(client, users["clerk_b1"])
    for name in ("imports:detail", "imports:progress", "imports:errors"):
        assert client.get(reverse(name, args=[job.pk])).status_code == 404
    client.logout()
    login(client, users["admin_city"])  # above the clerk in the tree: may follow it
    assert client.get(reverse("imports:detail", args=[job.pk])).status_code == 200


def test_read_only_roles_cannot_import(client, users, units):
    login(client, users["auditor_city"])
    assert client.get(reverse("imports:new")).status_code == 403
    assert upload(client, csv_bytes(units)).status_code == 403
    assert ImportJob.objects.count() == 0


def test_too_big_or_wrong_type_is_refused_at_upload(client, users, units, settings):
    settings.HUZHU_IMPORT_MAX_BYTES = 100
    login(client, users["clerk_a1"])
    big = upload(client, csv_bytes(units) * 10)
    assert big.status_code == 200 and "文件太大" in big.content.decode()
    settings.HUZHU_IMPORT_MAX_BYTES = 10_000
    pdf = upload(client, b"%PDF-1.4 ...", name="members.pdf")
    assert "只能上传" in pdf.content.decode()
    assert ImportJob.objects.count() == 0


def test_junk_content_with_a_csv_name_fails_cleanly(client, users, units):
    login(client, users["clerk_a1"])
    upload(client, bytes(range(256)) * 64, name="members.csv")
    job = ImportJob.objects.get()
    assert job.status == "failed" and "不是 CSV 或 Excel" in job.errors[0]["message"]


def test_new_page_lists_recent_jobs_and_templates_download(client, users, units):
    login(client, users["clerk_a1"])
    page = client.get(reverse("imports:new"))
    assert "还没有导入记录" in page.content.decode()
    upload(client, csv_bytes(units))
    page = client.get(reverse("imports:new")).content.decode()
    assert "members.csv" in page and "已完成" in page
    response = client.get(reverse("imports:template", args=["members"]))
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    header = [c.value for c in sheet[1]]
    assert header[:2] == ["姓名*", "身份证号*"]


def test_units_upload(client, users, tree):
    from huzhu.orgs.uscc import make_uscc

    login(client, users["reviewer_da"])
    content = ("单位名称,统一社会信用代码,基层工会编码\n"
               f"甲区新单位,{make_uscc('91220101MA0000123')},G012\n").encode()
    upload(client, content, name="units.csv", kind="units")
    job = ImportJob.objects.get()
    assert job.status == "done" and job.created_count == 1


@pytest.mark.django_db(transaction=True)
def test_database_queue_and_worker_run_the_job(client, users, units, settings):
    """The production path: the page enqueues into django-tasks-db, the worker runs it."""
    from django.core.management import call_command

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    login(client, users["clerk_a1"])
    upload(client, csv_bytes(units))
    job = ImportJob.objects.get()
    assert job.status == "pending" and Member.objects.count() == 0
    call_command("db_worker", batch=True, no_startup_delay=True, reload=False, verbosity=0)
    job.refresh_from_db()
    assert job.status == "done" and job.created_count == 2 and job.finished_at is not None
    assert Member.objects.count() == 2
