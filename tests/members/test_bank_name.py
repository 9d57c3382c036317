"""开户行 on the member record: the form (audited), the import's optional column (an empty
cell keeps what is on record), the export's column and the member page."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.urls import reverse

from huzhu.audit.models import AuditEntry
from huzhu.imports.service import import_file
from huzhu.members.export import MASKED_COLUMNS, write_members_xlsx
from huzhu.members.idcard import make_id_number
from huzhu.members.models import Member
from tests.fixtures import PASSWORD

ID1 = make_id_number("220102", dt.date(1980, 1, 2), 11)
ID2 = make_id_number("220102", dt.date(1990, 5, 6), 22)
BANK = "中国工商银行长春分行"


@pytest.fixture
def clerk(client, users):
    assert client.login(username="clerk_a1", password=PASSWORD)
    return client


def _form(units, **overrides) -> dict:
    data = {"name": "赵六", "id_number": ID1, "phone": "", "unit": units["a1"].id,
            "joined_on": "2020-01-01", "status": "active", "occupation": "other",
            "bank_account": "6222020200112233445", "bank_name": f"  {BANK} ",
            "family_head_id_number": ""}
    data.update(overrides)
    return data


def test_the_form_keeps_the_bank_name_and_the_audit_log_names_it(clerk, units):
    assert clerk.post(reverse("members:create"), _form(units)).status_code == 302
    member = Member.find_by_id_number(ID1)
    assert member.bank_name == BANK
    created = AuditEntry.objects.get(action=AuditEntry.Action.MEMBER_CREATED)
    assert created.changes["bank_name"] == [None, BANK]
    page = clerk.get(reverse("members:detail", args=[member.pk])).content.decode()
    assert f'id="member-bank-name">{BANK}<' in page
    edit = _form(units, id_number="", bank_account="", bank_name="中国建设银行长春南关支行")
    assert clerk.post(reverse("members:edit", args=[member.pk]), edit).status_code == 302
    member.refresh_from_db()
    assert member.bank_name == "中国建设银行长春南关支行"
    assert member.bank_account == "6222020200112233445"  # a blank account keeps it
    updated = AuditEntry.objects.get(action=AuditEntry.Action.MEMBER_UPDATED)
    assert updated.changes["bank_name"] == [BANK, "中国建设银行长春南关支行"]


def test_a_bank_name_too_long_is_refused(clerk, units):
    response = clerk.post(reverse("members:create"), _form(units, bank_name="银" * 61))
    assert response.status_code == 200
    assert "60" in response.content.decode() and Member.objects.count() == 0


def _csv(path, header, rows):
    lines = [",".join(header)] + [",".join(r) for r in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    return path


HEADER = ["姓名", "身份证号", "单位统一社会信用代码", "银行账号", "开户银行"]


def test_the_import_reads_the_optional_bank_name_column(tmp_path, units):
    uscc = units["a1"].uscc
    first = _csv(tmp_path / "m.csv", HEADER, [
        ["张伟", ID1, uscc, "6222020200112233", BANK],
        ["李娜", ID2, uscc, "", ""],
    ])
    outcome = import_file("members", first)
    assert outcome.errors == [] and outcome.created == 2
    assert Member.find_by_id_number(ID1).bank_name == BANK
    assert Member.find_by_id_number(ID2).bank_name == ""
    # An empty cell keeps the bank on record; a new one replaces it, audited.
    again = _csv(tmp_path / "m2.csv", HEADER, [
        ["张伟", ID1, uscc, "", ""],
        ["李娜", ID2, uscc, "6217000010012345678", "中国银行长春分行"],
    ])
    outcome = import_file("members", again)
    assert outcome.errors == [] and (outcome.unchanged, outcome.updated) == (1, 1)
    assert Member.find_by_id_number(ID1).bank_name == BANK
    assert Member.find_by_id_number(ID2).bank_name == "中国银行长春分行"
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.MEMBER_UPDATED).get()
    assert entry.changes["bank_name"] == [None, "中国银行长春分行"]
    # Without the column at all, nothing changes either.
    outcome = import_file("members", _csv(tmp_path / "m3.csv", HEADER[:3],
                                          [["张伟", ID1, uscc]]))
    assert outcome.unchanged == 1 and Member.find_by_id_number(ID1).bank_name == BANK


def test_the_import_refuses_a_bank_name_too_long_naming_the_row(tmp_path, units):
    path = _csv(tmp_path / "m.csv", HEADER, [["张伟", ID1, units["a1"].uscc, "", "银" * 61]])
    outcome = import_file("members", path)
    assert [(e.row, e.column, e.message) for e in outcome.errors] == [
        (2, "开户银行", "开户行不能超过60个字")]
    assert Member.objects.count() == 0


def test_the_export_has_the_bank_name(make_member):
    member = make_member("a1", name="张三")
    member.bank_name = BANK
    member.save()
    buffer = io.BytesIO()
    write_members_xlsx([member], buffer, full=False)
    sheet = openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).active
    assert [c.value for c in sheet[1]][-2:] == ["银行账号", "开户行"]
    assert MASKED_COLUMNS[-1] == ("开户行", 22)
    assert sheet.cell(2, len(MASKED_COLUMNS)).value == BANK
