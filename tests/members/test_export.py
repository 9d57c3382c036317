"""xlsx export: a POST with a purpose, a background job, exactly the listed rows, masked
numbers and ages unless the role may see them, downloaded once, audited."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import os
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from huzhu.audit.models import AuditEntry
from huzhu.members import export_jobs
from huzhu.members.export import FULL_COLUMNS, MASKED_COLUMNS, write_members_xlsx
from huzhu.members.models import MemberExport
from tests.fixtures import PASSWORD

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def immediate_tasks(settings, tmp_path):
    settings.TASKS = IMMEDIATE
    settings.UPLOAD_ROOT = tmp_path / "uploads"


def search_token(client, q: str) -> str:
    response = client.post(reverse("members:list"), {"q": q})
    assert response.status_code == 302 and q not in response.url
    return parse_qs(urlparse(response.url).query)["s"][0]


def request_export(client, *, q: str = "", full: bool = False, purpose: str = "",
                   **filters):
    data = {k: str(v) for k, v in filters.items()}
    if q:
        data["s"] = search_token(client, q)
    if full:
        data["full"] = "1"
    if purpose:
        data["purpose"] = purpose
    return client.post(reverse("members:export"), data)


def export(client, **kwargs):
    response = request_export(client, **kwargs)
    assert response.status_code == 302, response
    job = MemberExport.objects.latest("id")
    assert response.url == reverse("members:export-detail", args=[job.pk])
    assert job.status == MemberExport.Status.DONE
    download = client.post(reverse("members:export-download", args=[job.pk]))
    assert download.status_code == 200
    assert download["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "attachment" in download["Content-Disposition"]
    return openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content))).active


@pytest.fixture
def member(make_member):
    m = make_member("a1", name="张三", phone="13800138000")
    m.set_bank_account("6222020200112233445")
    m.save()
    return m


def test_clerk_export_is_masked_and_shows_age_not_birth_date(client, users, member):
    client.login(username="clerk_a1", password=PASSWORD)
    sheet = export(client)
    assert [c.value for c in sheet[1]] == [title for title, _ in MASKED_COLUMNS]
    row = [c.value for c in sheet[2]]
    assert row[0] == "张三" and row[1] == member.id_number_masked
    assert row[3] == str(timezone.localdate().year - member.birth_date.year)
    assert member.id_number not in map(str, row)
    assert member.birth_date.isoformat() not in map(str, row)
    assert member.birth_date.strftime("%Y%m%d") not in "".join(map(str, row))
    assert row[11] == member.bank_account_masked
    assert row[4] == "13800138000" and sheet.cell(2, 5).data_type == "s"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.MEMBER_EXPORTED)
    assert entry.changes["rows"] == 1 and entry.changes["full_numbers"] is False


def test_full_numbers_need_a_purpose_which_is_audited(client, users, member):
    client.login(username="reviewer_da", password=PASSWORD)
    refused = request_export(client, q="张", full=True)
    assert refused.status_code == 302 and MemberExport.objects.count() == 0
    sheet = export(client, q="张", full=True, purpose="年度名单核对")
    assert [c.value for c in sheet[1]] == [title for title, _ in FULL_COLUMNS]
    row = [c.value for c in sheet[2]]
    assert row[1] == member.id_number and sheet.cell(2, 2).data_type == "s"
    assert row[3] == member.birth_date.isoformat()
    assert row[11] == "6222020200112233445"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.MEMBER_EXPORTED)
    assert entry.actor == users["reviewer_da"] and entry.changes["purpose"] == "年度名单核对"
    assert entry.changes["full_numbers"] is True and "张" in entry.summary
    assert "年度名单核对" in entry.summary
    assert member.id_number not in entry.summary + str(entry.changes)


def test_a_reviewer_may_export_masked_without_a_purpose(client, users, member):
    client.login(username="reviewer_da", password=PASSWORD)
    sheet = export(client)
    assert sheet.cell(2, 2).value == member.id_number_masked


def test_a_hand_made_full_request_from_a_clerk_stays_masked(client, users, member):
    client.login(username="clerk_a1", password=PASSWORD)
    sheet = export(client, full=True, purpose="我想要完整号码")
    assert sheet.cell(2, 2).value == member.id_number_masked


def test_export_is_not_a_get(client, users, member):
    """A cross-site link or image cannot start an export."""
    client.login(username="finance_city", password=PASSWORD)
    assert client.get(reverse("members:export"), {"full": "1"}).status_code == 405
    assert MemberExport.objects.count() == 0


def test_the_file_is_private_downloaded_once_and_then_gone(client, users, member):
    client.login(username="clerk_a1", password=PASSWORD)
    request_export(client)
    job = MemberExport.objects.get()
    path = Path(job.file_path)
    assert path.is_file() and (os.stat(path).st_mode & 0o777) == 0o600
    first = client.post(reverse("members:export-download", args=[job.pk]))
    assert first.status_code == 200 and b"".join(first.streaming_content)
    assert not path.exists()
    again = client.post(reverse("members:export-download", args=[job.pk]))
    assert again.status_code == 302
    job.refresh_from_db()
    assert job.status == MemberExport.Status.DOWNLOADED and job.file_path == ""
    assert AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT_DOWNLOADED).count() == 1


def test_someone_elses_export_is_a_404(client, users, member):
    client.login(username="clerk_a1", password=PASSWORD)
    request_export(client)
    job = MemberExport.objects.get()
    client.login(username="admin_city", password=PASSWORD)
    assert client.get(reverse("members:export-detail", args=[job.pk])).status_code == 404
    assert client.post(reverse("members:export-download", args=[job.pk])).status_code == 404


def test_housekeeping_deletes_files_older_than_a_day(client, users, member):
    client.login(username="clerk_a1", password=PASSWORD)
    request_export(client)
    job = MemberExport.objects.get()
    MemberExport.objects.filter(pk=job.pk).update(
        finished_at=timezone.now() - dt.timedelta(days=1, minutes=1))
    assert export_jobs.sweep()["过期导出文件"] == 1
    job.refresh_from_db()
    assert not Path(job.file_path or "/nonexistent").exists()
    assert job.status == MemberExport.Status.EXPIRED


def test_export_holds_exactly_the_rows_the_list_shows(client, users, make_member):
    """The list's count and the file's rows agree for every combination of filters (the
    old link dropped the first filter: 在职 + 医务人员 exported every 医务人员)."""
    statuses = ["active", "retired", "left"]
    occupations = ["medical", "cdc", "other"]
    for i, (status, occupation) in enumerate(itertools.product(statuses, occupations)):
        for j in range(i % 3 + 1):
            make_member("a1" if j % 2 else "a2", name=f"王{i}{j}", status=status,
                        occupation=occupation)
    client.login(username="reviewer_da", password=PASSWORD)
    combos = [{}, {"status": "active"}, {"occupation": "medical"},
              {"status": "active", "occupation": "medical"},
              {"status": "retired", "occupation": "cdc"}, {"q": "王1"},
              {"q": "王", "status": "left"}]
    for combo in combos:
        filters = {k: v for k, v in combo.items() if k != "q"}
        listed = client.get(reverse("members:list"), {
            **filters, **({"s": search_token(client, combo["q"])} if "q" in combo else {})})
        expected = listed.context["page"].total
        sheet = export(client, **combo)
        rows = list(sheet.iter_rows(min_row=2, values_only=True))
        assert len(rows) == expected, combo
        if "status" in combo:
            label = {"active": "在职", "retired": "退休", "left": "离会"}[combo["status"]]
            assert {r[9] for r in rows} <= {label}


def test_export_by_full_id_search_does_not_log_the_number(client, users, member):
    client.login(username="clerk_a1", password=PASSWORD)
    sheet = export(client, q=member.id_number)
    assert sheet.max_row == 2
    job = MemberExport.objects.get()
    assert member.id_number.encode() not in bytes(job.query_sealed)
    for entry in AuditEntry.objects.all():
        assert member.id_number not in entry.summary + str(entry.changes)


def test_empty_export_has_header_only(client, users, units):
    client.login(username="clerk_a1", password=PASSWORD)
    sheet = export(client)
    assert sheet.max_row == 1


def test_writer_counts_rows_and_never_writes_formulas(make_member):
    members = [make_member("a1", name=f"会员{i}") for i in range(2)]
    members.append(make_member("a1", name="=1+1"))
    buffer = io.BytesIO()
    assert write_members_xlsx(members, buffer, full=False) == 3
    sheet = openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).active
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == [
        "会员0", "会员1", "=1+1"]
    assert sheet.cell(4, 1).data_type == "s"


def test_export_audit_names_the_unit_filter(client, users, units, member):
    client.login(username="clerk_a1", password=PASSWORD)
    export(client, unit=units["a1"].id)
    entry = AuditEntry.objects.get(action=AuditEntry.Action.MEMBER_EXPORTED)
    assert "单位=长春一汽零部件有限公司" in entry.summary
