"""xlsx export: masked numbers unless the role may see them, audited, text cells."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.urls import reverse

from huzhu.audit.models import AuditEntry
from huzhu.members.export import COLUMNS, write_members_xlsx
from tests.fixtures import PASSWORD


def download(client, **params):
    response = client.get(reverse("members:export"), params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "attachment" in response["Content-Disposition"]
    return openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active


@pytest.fixture
def member(make_member):
    m = make_member("a1", name="张三", phone="13800138000")
    m.set_bank_account("6222020200112233445")
    m.save()
    return m


def test_clerk_export_is_masked(client, users, member):
    client.login(username="clerk_a1", password=PASSWORD)
    sheet = download(client)
    header = [c.value for c in sheet[1]]
    assert header == [title for title, _ in COLUMNS]
    row = [c.value for c in sheet[2]]
    assert row[0] == "张三"
    assert row[1] == member.id_number_masked and member.id_number not in map(str, row)
    assert row[11] == member.bank_account_masked
    assert row[4] == "13800138000" and sheet.cell(2, 5).data_type == "s"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.MEMBER_EXPORTED)
    assert entry.changes["rows"] == 1 and entry.changes["full_numbers"] is False


def test_reviewer_export_has_full_numbers_and_is_audited(client, users, member):
    client.login(username="reviewer_da", password=PASSWORD)
    sheet = download(client, q="张")
    row = [c.value for c in sheet[2]]
    assert row[1] == member.id_number and sheet.cell(2, 2).data_type == "s"
    assert row[11] == "6222020200112233445"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.MEMBER_EXPORTED)
    assert entry.actor == users["reviewer_da"]
    assert entry.changes["full_numbers"] is True and "张" in entry.summary
    assert member.id_number not in entry.summary + str(entry.changes)


def test_export_follows_filters(client, users, make_member):
    make_member("a1", name="张三", status="retired")
    make_member("a1", name="李四")
    client.login(username="clerk_a1", password=PASSWORD)
    sheet = download(client, status="retired")
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == ["张三"]


def test_export_by_full_id_search_does_not_log_the_number(client, users, member):
    client.login(username="clerk_a1", password=PASSWORD)
    sheet = download(client, q=member.id_number)
    assert sheet.max_row == 2
    entry = AuditEntry.objects.get(action=AuditEntry.Action.MEMBER_EXPORTED)
    assert member.id_number not in entry.summary + str(entry.changes)


def test_empty_export_has_header_only(client, users, units):
    client.login(username="clerk_a1", password=PASSWORD)
    sheet = download(client)
    assert sheet.max_row == 1


def test_writer_counts_rows_in_order(make_member):
    members = [make_member("a1", name=f"会员{i}") for i in range(3)]
    buffer = io.BytesIO()
    assert write_members_xlsx(members, buffer, full=False) == 3
    sheet = openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).active
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == [
        "会员0", "会员1", "会员2"]


def test_export_audit_names_the_unit_filter(client, users, units, member):
    client.login(username="clerk_a1", password=PASSWORD)
    download(client, unit=units["a1"].id)
    entry = AuditEntry.objects.get(action=AuditEntry.Action.MEMBER_EXPORTED)
    assert "单位=长春一汽零部件有限公司" in entry.summary
