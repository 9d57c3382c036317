"""Units import, the command line, and the second-pass re-read for very large files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from huzhu.audit.models import AuditEntry
from huzhu.imports.commands import configure, run
from huzhu.imports.service import import_file
from huzhu.members import importing as member_kind
from huzhu.members.idcard import make_id_number
from huzhu.members.models import Member
from huzhu.orgs.models import Unit
from huzhu.orgs.uscc import make_uscc

HEADER = ["单位名称", "统一社会信用代码", "基层工会编码", "联系人", "联系电话", "地址",
          "确认校验位"]
GOOD = make_uscc("91220101MA0000123")
BAD_CHECK = GOOD[:-1] + ("1" if GOOD[-1] != "1" else "2")


def write_csv(path: Path, header, rows) -> Path:
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8-sig")
    return path


def test_units_are_created_with_contact_and_audited(tmp_path, tree, users):
    rows = [["甲区新医院", GOOD, "G011", "李红", "0431-88886666", "长春市南关区1号", ""],
            ["老代码单位", BAD_CHECK, "G012", "", "", "", "是"]]
    outcome = import_file("units", write_csv(tmp_path / "u.csv", HEADER, rows),
                          user=users["admin_city"])
    assert outcome.errors == [] and outcome.created == 2
    unit = Unit.objects.get(uscc=GOOD)
    assert (unit.name, unit.union) == ("甲区新医院", tree["a1"])
    assert unit.contact_phone == "0431-88886666"
    assert Unit.objects.get(uscc=BAD_CHECK).uscc_check_ok is False
    assert AuditEntry.objects.filter(action="unit.created").count() == 2
    job = AuditEntry.objects.get(action="unit.imported")
    assert job.changes["created"] == 2 and job.actor == users["admin_city"]


def test_unconfirmed_bad_check_character_names_the_expected_one(tmp_path, tree):
    rows = [["老代码单位", BAD_CHECK, "G011", "", "", "", ""]]
    outcome = import_file("units", write_csv(tmp_path / "u.csv", HEADER, rows))
    err = outcome.errors[0]
    assert (err.row, err.column) == (2, "统一社会信用代码")
    assert f"最后一位应为 {GOOD[-1]}" in err.message and "确认校验位" in err.message
    assert Unit.objects.count() == 0


def test_unit_errors_all_reported_nothing_written(tmp_path, tree, users):
    rows = [["", GOOD, "G011", "", "", "", ""],
            ["甲", "9122010IMA0000123", "G011", "", "", "", ""],
            ["乙", make_uscc("91220101MA0000124"), "NOPE", "", "", "", ""],
            ["丙", make_uscc("91220101MA0000125"), "D01", "", "电话号码", "", "也许"],
            ["丁", GOOD, "G011", "", "", "", ""]]
    outcome = import_file("units", write_csv(tmp_path / "u.csv", HEADER, rows))
    got = {(e.row, e.column) for e in outcome.errors}
    assert got == {(2, "单位名称"), (3, "统一社会信用代码"), (4, "基层工会编码"),
                   (5, "基层工会编码"), (5, "联系电话"), (5, "确认校验位"),
                   (6, "统一社会信用代码")}
    assert Unit.objects.count() == 0


def test_unit_in_another_scope_reads_as_unknown_union(tmp_path, tree, users):
    rows = [["乙区单位", GOOD, "G021", "", "", "", ""]]
    outcome = import_file("units", write_csv(tmp_path / "u.csv", HEADER, rows),
                          user=users["clerk_a1"])
    assert [e.message for e in outcome.errors] == ["未找到编码为“G021”的工会"]


def test_reimport_moves_unit_and_its_members(tmp_path, units, make_member):
    member = make_member("a1")
    unit = units["a1"]
    rows = [[unit.name, unit.uscc, "G012", "王经理", "", "", ""]]
    outcome = import_file("units", write_csv(tmp_path / "u.csv", HEADER, rows))
    assert (outcome.created, outcome.updated) == (0, 1)
    unit.refresh_from_db()
    member.refresh_from_db()
    assert unit.union.code == "G012" and member.union_id == unit.union_id
    assert unit.contact_name == "王经理"
    again = import_file("units", write_csv(tmp_path / "u.csv", HEADER, rows))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)


def test_units_from_xlsx(tmp_path, tree):
    book = openpyxl.Workbook()
    book.active.append(["name", "uscc", "union_code"])
    book.active.append(["English Header Co", GOOD, "G011"])
    book.save(tmp_path / "u.xlsx")
    assert import_file("units", tmp_path / "u.xlsx").created == 1


def test_second_pass_rereads_when_rows_exceed_the_memory_limit(tmp_path, units, monkeypatch):
    monkeypatch.setattr(member_kind, "KEEP_ROWS_IN_MEMORY", 2)
    uscc = units["a1"].uscc
    rows = [[f"会员{i}", make_id_number("220102", dt.date(1980, 1, 1 + i), 10 + i), uscc]
            for i in range(6)]
    rows[3][1] = rows[3][1][:-1] + ("1" if rows[3][1][-1] != "1" else "2")  # bad check
    path = write_csv(tmp_path / "m.csv", ["姓名", "身份证号", "单位统一社会信用代码"], rows)
    outcome = import_file("members", path, valid_only=True)
    assert outcome.created == 5 and outcome.error_count == 1
    assert sorted(Member.objects.values_list("name", flat=True)) == [
        "会员0", "会员1", "会员2", "会员4", "会员5"]


def _cli(argv):
    import argparse

    parser = argparse.ArgumentParser()
    configure(parser)
    return run(parser.parse_args(argv))


@pytest.mark.django_db(transaction=True)
def test_command_line_exit_codes_and_error_report(tmp_path, tree, capsys):
    good = write_csv(tmp_path / "u.csv", HEADER, [["甲区新医院", GOOD, "G011", "", "", "", ""]])
    assert _cli(["units", str(good)]) == 0
    bad = write_csv(tmp_path / "bad.csv", HEADER,
                    [["乙", make_uscc("91220101MA0000999"), "NOPE", "", "", "", ""]])
    report = tmp_path / "report.xlsx"
    assert _cli(["units", str(bad), "--errors-out", str(report)]) == 1
    err = capsys.readouterr().err
    assert "未找到编码为“NOPE”的工会" in err and "未导入任何数据" in err
    rows = list(openpyxl.load_workbook(report).active.iter_rows(values_only=True))
    assert rows[1][:3] == ("bad.csv", 2, "基层工会编码")
    assert _cli(["units", str(bad), "--as", "nobody"]) == 2
    assert Unit.objects.count() == 1
