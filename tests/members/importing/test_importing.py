"""Members import through the service: every bad-input case, encodings, atomicity."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import openpyxl
import pytest
from django.db import connection

from huzhu.audit.models import AuditEntry
from huzhu.imports.service import import_file
from huzhu.members.idcard import make_id_number
from huzhu.members.models import Member, TransferRequest

ID1 = make_id_number("220102", dt.date(1980, 1, 2), 11)
ID2 = make_id_number("220102", dt.date(1990, 5, 6), 22)
ID3 = make_id_number("110101", dt.date(1975, 12, 31), 35)
HEADER_ZH = ["姓名", "身份证号", "手机号", "单位统一社会信用代码", "入会日期", "状态", "职业类别",
             "家庭关联身份证号", "银行账号"]
HEADER_EN = ["name", "id_number", "phone", "unit_uscc", "joined_on", "status", "occupation",
             "family_id_number", "bank_account"]


def rows_for(units, *, bad_check=False):
    uscc = units["a1"].uscc
    id2 = ID2[:-1] + ("0" if ID2[-1] != "0" else "1") if bad_check else ID2
    return [
        ["张伟", ID1, "13800138000", uscc, "2010-03-01", "在职", "医务人员", "",
         "6222020200112233"],
        ["李娜", id2, "13912345678", uscc, "2015/7/1", "退休", "其他", ID1, ""],
        ["王芳", ID3, "", uscc, "", "", "", "", ""],
    ]


def write_csv(path: Path, header, rows, encoding="utf-8") -> Path:
    lines = [",".join(header)] + [",".join(r) for r in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def write_xlsx(path: Path, header, rows) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for r in rows:
        sheet.append(r)
    book.save(path)
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_csv_in_each_encoding_imports_all_rows(tmp_path, units, encoding):
    path = write_csv(tmp_path / "m.csv", HEADER_ZH, rows_for(units), encoding)
    outcome = import_file("members", path)
    assert outcome.errors == []
    assert (outcome.imported, outcome.created, outcome.total_rows) == (True, 3, 3)
    wei = Member.find_by_id_number(ID1)
    assert wei.name == "张伟" and wei.occupation == "medical" and wei.phone == "13800138000"
    assert wei.joined_on == dt.date(2010, 3, 1) and wei.union_id == units["a1"].union_id
    assert wei.bank_account == "6222020200112233"
    na = Member.find_by_id_number(ID2)
    assert na.status == "retired" and na.family_head_id == wei.pk
    assert na.joined_on == dt.date(2015, 7, 1) and na.birth_date == dt.date(1990, 5, 6)
    fang = Member.find_by_id_number(ID3)
    assert (fang.status, fang.occupation, fang.phone) == ("active", "other", "")


def test_xlsx_with_english_headers_and_a_title_row(tmp_path, units):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["甲区一号基层工会 会员花名册"])
    sheet.append(HEADER_EN)
    for r in rows_for(units):
        sheet.append(r)
    sheet["E3"] = dt.date(2011, 4, 5)  # a real date cell, not text
    book.save(tmp_path / "m.xlsx")
    outcome = import_file("members", tmp_path / "m.xlsx")
    assert outcome.errors == [] and outcome.created == 3
    assert Member.find_by_id_number(ID1).joined_on == dt.date(2011, 4, 5)


def test_xlsx_error_rows_are_numbered_as_excel_shows_them(tmp_path, units):
    rows = rows_for(units)
    rows[1][1] = "22010219900506002"  # 17 characters
    outcome = import_file("members", write_xlsx(tmp_path / "m.xlsx", HEADER_ZH, rows))
    assert not outcome.imported
    assert [(e.file, e.row, e.column) for e in outcome.errors] == [("m.xlsx", 3, "身份证号")]
    assert Member.objects.count() == 0


def test_id_number_stored_by_excel_as_a_number_is_refused(tmp_path, units):
    rows = rows_for(units)
    rows[0][1] = int(ID1) if ID1[-1] != "X" else 220102198001020011
    outcome = import_file("members", write_xlsx(tmp_path / "m.xlsx", HEADER_ZH, rows))
    assert outcome.errors[0].row == 2 and "文本" in outcome.errors[0].message


def test_each_bad_row_is_reported_and_nothing_is_written(tmp_path, units, make_member):
    make_member("a1")
    before = Member.objects.count()
    audit_before = AuditEntry.objects.count()
    rows = rows_for(units, bad_check=True)
    rows[0][4] = "2010-02-30"
    rows[2][3] = "91220101MA99999990"
    rows.append(["重复", ID1, "13800138001", units["a1"].uscc, "", "", "", "", ""])
    rows.append(["错号", ID3, "1380013800", units["a1"].uscc, "", "在岗位", "司机", "", "12"])
    path = write_csv(tmp_path / "bad.csv", HEADER_ZH, rows)
    outcome = import_file("members", path)
    got = {(e.row, e.column): e.message for e in outcome.errors}
    assert got[(2, "入会日期")].startswith("入会日期“2010-02-30”不是有效日期")
    assert "校验位错误" in got[(3, "身份证号")]
    # A code that fails its check might be anything: its long digit runs are masked.
    assert got[(4, "单位统一社会信用代码")] == (
        "未找到统一社会信用代码为“＊＊＊（8位）MA＊＊＊（8位）”的单位")
    assert got[(5, "身份证号")] == "身份证号与第2行重复"
    assert "手机号" in got[(6, "手机号")]
    assert "状态" in got[(6, "状态")] and "职业类别" in got[(6, "职业类别")]
    assert got[(6, "银行账号")] == "银行账号应为12至30位数字"
    assert all(e.file == "bad.csv" for e in outcome.errors)
    assert not outcome.imported
    assert Member.objects.count() == before
    assert AuditEntry.objects.count() == audit_before


def test_valid_only_imports_the_rest(tmp_path, units):
    rows = rows_for(units, bad_check=True)  # row 3 bad
    outcome = import_file("members", write_csv(tmp_path / "m.csv", HEADER_ZH, rows),
                          valid_only=True)
    assert outcome.imported and outcome.error_count == 1 and outcome.created == 2
    assert Member.objects.count() == 2
    assert Member.find_by_id_number(ID2) is None


def test_link_to_a_bad_row_fails_the_linking_row_too(tmp_path, units):
    rows = rows_for(units)
    rows[0][5] = "不知道"  # row 2 bad; row 3 links to it
    outcome = import_file("members", write_csv(tmp_path / "m.csv", HEADER_ZH, rows),
                          valid_only=True)
    assert {(e.row, e.column) for e in outcome.errors} == {(2, "状态"), (3, "家庭关联身份证号")}
    assert outcome.created == 1


def test_unknown_family_member_is_an_error(tmp_path, units):
    rows = rows_for(units)
    rows[2][7] = make_id_number("220102", dt.date(1960, 1, 1), 1)
    outcome = import_file("members", write_csv(tmp_path / "m.csv", HEADER_ZH, rows))
    assert [(e.row, e.column) for e in outcome.errors] == [(4, "家庭关联身份证号")]


def test_reimport_updates_changed_fields_and_creates_no_duplicates(tmp_path, units):
    path = write_csv(tmp_path / "m.csv", HEADER_ZH, rows_for(units))
    assert import_file("members", path).created == 3
    again = import_file("members", path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    rows = rows_for(units)
    rows[0][2] = "13700000000"
    rows[2][3] = units["a2"].uscc
    third = import_file("members", write_csv(tmp_path / "m2.csv", HEADER_ZH, rows))
    assert (third.created, third.updated, third.unchanged) == (0, 2, 1)
    assert Member.objects.count() == 3
    assert Member.find_by_id_number(ID1).phone == "13700000000"
    fang = Member.find_by_id_number(ID3)
    assert fang.unit_id == units["a2"].pk and fang.union_id == units["a2"].union_id
    updated = AuditEntry.objects.filter(action="member.updated", object_id=str(fang.pk)).get()
    assert updated.changes["unit"] == [units["a1"].name, units["a2"].name]
    assert "fields" not in updated.changes and "union_id" not in updated.changes


def test_empty_cells_do_not_wipe_registry_values(tmp_path, units):
    import_file("members", write_csv(tmp_path / "m.csv", HEADER_ZH, rows_for(units)))
    rows = [[r[0], r[1], "", r[3], "", "", "", "", ""] for r in rows_for(units)]
    outcome = import_file("members", write_csv(tmp_path / "m2.csv", HEADER_ZH, rows))
    assert outcome.updated == 0
    wei = Member.find_by_id_number(ID1)
    assert wei.phone == "13800138000" and wei.bank_account == "6222020200112233"


def test_unit_by_name_and_ambiguous_name(tmp_path, units):
    header = ["姓名", "身份证号", "单位名称"]
    rows = [["张伟", ID1, units["a1"].name], ["李娜", ID2, "没有这个单位"]]
    outcome = import_file("members", write_csv(tmp_path / "m.csv", header, rows))
    assert [(e.row, e.column, e.message) for e in outcome.errors] == [
        (3, "单位名称", "未找到名称为“没有这个单位”的单位")]


def test_audit_one_job_entry_and_one_per_member(tmp_path, units, users):
    path = write_csv(tmp_path / "m.csv", HEADER_ZH, rows_for(units))
    import_file("members", path, user=users["clerk_a1"])
    job = AuditEntry.objects.get(action="member.imported")
    assert job.actor == users["clerk_a1"] and job.changes["created"] == 3
    assert job.union_path == users["clerk_a1"].union.path
    created = AuditEntry.objects.filter(action="member.created")
    assert created.count() == 3
    assert {e.object_id for e in created} == {str(m.pk) for m in Member.objects.all()}


def test_clerk_cannot_import_into_another_unions_unit(tmp_path, units, users):
    rows = rows_for(units)
    rows[0][3] = units["b1"].uscc
    rows[1][7] = ""
    outcome = import_file("members", write_csv(tmp_path / "m.csv", HEADER_ZH, rows),
                          user=users["clerk_a1"])
    # Same words as for a unit that does not exist: nothing about B1 is disclosed.
    assert [(e.row, e.message) for e in outcome.errors] == [
        (2, f"未找到统一社会信用代码为“{units['b1'].uscc}”的单位")]
    assert Member.objects.count() == 0


def test_another_unions_member_becomes_a_transfer_request_not_a_move(tmp_path, units,
                                                                      users):
    import_file("members", write_csv(tmp_path / "b.csv", HEADER_ZH[:4],
                                     [["张伟", ID1, "13800138000", units["b1"].uscc]]))
    rows = [["张伟", ID1, "13800138000", units["a1"].uscc],
            ["李娜", ID2, "13900139000", units["a1"].uscc]]
    outcome = import_file("members", write_csv(tmp_path / "a.csv", HEADER_ZH[:4], rows),
                          user=users["clerk_a1"])
    assert outcome.imported and outcome.created == 1 and outcome.updated == 0
    assert outcome.transfers == 1 and outcome.transfer_rows == [2]
    assert "转会申请" in outcome.summary() and units["b1"].name not in outcome.summary()
    moved = Member.find_by_id_number(ID1)
    assert moved.union_id == units["b1"].union_id and moved.phone == "13800138000"
    request = TransferRequest.objects.get()
    assert request.member == moved and request.to_unit == units["a1"]
    assert request.requested_by == users["clerk_a1"] and request.state == "pending"
    refusals = AuditEntry.objects.filter(action=AuditEntry.Action.DUPLICATE_REFUSED)
    assert refusals.count() == 1
    # the same file again: no second request
    import_file("members", write_csv(tmp_path / "a.csv", HEADER_ZH[:4], rows),
                user=users["clerk_a1"])
    assert TransferRequest.objects.count() == 1


def test_another_unions_members_are_not_disclosed_while_the_file_has_errors(
        tmp_path, units, users):
    import_file("members", write_csv(tmp_path / "b.csv", HEADER_ZH[:4],
                                     [["张伟", ID1, "13800138000", units["b1"].uscc]]))
    rows = [["张伟", ID1, "13800138000", units["a1"].uscc],
            ["", ID2, "13900139000", units["a1"].uscc]]  # no name: an error
    outcome = import_file("members", write_csv(tmp_path / "a.csv", HEADER_ZH[:4], rows),
                          user=users["clerk_a1"])
    assert not outcome.imported and [e.row for e in outcome.errors] == [3]
    assert outcome.transfers == 0 and TransferRequest.objects.count() == 0


def test_past_the_daily_limit_a_file_with_other_unions_members_is_refused_whole(
        tmp_path, units, users, settings):
    settings.HUZHU_DUPLICATE_REFUSALS_PER_DAY = 1
    others = [[f"乙{i}", make_id_number("220102", dt.date(1980, 2, 1 + i), 50 + i), "",
               units["b1"].uscc] for i in range(2)]
    import_file("members", write_csv(tmp_path / "b.csv", HEADER_ZH[:4], others))
    mine = [[name, number, phone, units["a1"].uscc] for name, number, phone, _ in others]
    outcome = import_file("members", write_csv(tmp_path / "a.csv", HEADER_ZH[:4], mine),
                          user=users["clerk_a1"])
    assert not outcome.imported and outcome.errors[0].row == 0
    assert "已达上限" in outcome.errors[0].message
    assert TransferRequest.objects.count() == 0


def test_missing_required_column_is_one_clear_error(tmp_path, units):
    outcome = import_file("members", write_csv(tmp_path / "m.csv", ["姓名", "手机号", "单位名称"],
                                               [["张伟", "13800138000", "x"]]))
    assert len(outcome.errors) == 1
    err = outcome.errors[0]
    assert (err.file, err.row) == ("m.csv", 1) and "缺少必需的列：身份证号" in err.message


def test_empty_file_and_header_only_file(tmp_path, db):
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "header.csv").write_text(",".join(HEADER_ZH) + "\n", encoding="utf-8")
    empty = import_file("members", tmp_path / "empty.csv")
    header = import_file("members", tmp_path / "header.csv")
    assert empty.errors[0].message == "文件是空的"
    assert header.errors[0].message == "文件中没有数据行（只有表头）"
    assert not empty.imported and not header.imported


def test_wrong_encoding_is_refused_with_a_clear_message(tmp_path, units):
    path = tmp_path / "big5.csv"
    text = "\n".join([",".join(HEADER_ZH), *(",".join(r) for r in rows_for(units))])
    path.write_bytes(text.encode("utf-16-le"))  # no BOM: looks like binary with NULs
    assert "不是 CSV 或 Excel" in import_file("members", path).errors[0].message
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"name,id_number\n\xff\xfe\xfd\xfc caf\xe9,1\n" * 3)
    message = import_file("members", latin).errors[0].message
    assert message.startswith("无法识别文件编码")


def test_encoding_change_in_the_middle_names_the_row(tmp_path, units):
    path = tmp_path / "mixed.csv"
    head = (",".join(HEADER_ZH) + "\n").encode("utf-8")
    good = ("张伟," + ID1 + ",13800138000," + units["a1"].uscc + "\n").encode("utf-8")
    path.write_bytes(head + good * 70000 + "李娜,x\n".encode("gbk"))
    # GB18030 bytes are not UTF-8: the UTF-8 file breaks at that line, named exactly.
    outcome = import_file("members", path)
    assert not outcome.imported and "第70002行的内容不是有效的 UTF-8" in outcome.errors[0].message


def test_20mb_junk_file_is_refused(tmp_path, db):
    path = tmp_path / "junk.csv"
    path.write_bytes(os.urandom(20 * 1024 * 1024))
    outcome = import_file("members", path)
    assert len(outcome.errors) == 1 and "不是 CSV 或 Excel" in outcome.errors[0].message
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04" + os.urandom(4096))
    assert "无法读取 Excel" in import_file("members", broken).errors[0].message


@pytest.mark.django_db(transaction=True)
def test_database_holds_no_plaintext_id_or_bank_account(tmp_path, units):
    path = write_csv(tmp_path / "m.csv", HEADER_ZH, rows_for(units))
    assert import_file("members", path).created == 3
    secrets = (ID1, ID2, ID3, "6222020200112233")
    if connection.vendor == "sqlite":
        # The test database may live in memory: copy every page of it to a file.
        copy = tmp_path / "copy.sqlite3"
        with connection.cursor() as cursor:
            cursor.execute("VACUUM INTO %s", [str(copy)])
        raw = copy.read_bytes()
        assert len(raw) > 4096
        for secret in secrets:
            assert secret.encode() not in raw
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM members_member")
        dump = repr(cursor.fetchall())
        cursor.execute("SELECT * FROM audit_auditentry")
        dump += repr(cursor.fetchall())
    assert "张伟" in dump  # the dump does contain the rows
    for secret in secrets:
        assert secret not in dump
