"""No ID number, bank account or long digit run from a cell reaches an error message, the
job's stored errors, the error report or the job page; no cell or file name becomes a
formula in a report. Issue 7, findings 11 and 15 (part)."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from huzhu.imports.errors import RowError, write_report
from huzhu.imports.models import ImportJob
from huzhu.imports.service import import_file
from huzhu.members.idcard import make_id_number
from tests.fixtures import PASSWORD

IDS = [make_id_number("110105", dt.date(1990, 1, 1) + dt.timedelta(days=37 * i), 123 + i)
       for i in range(7)]
BANKS = ["6222020200112233445", "6217000010012345678", "4367421234567890123",
         "621700001001234567"]  # the last is 18 digits with a failing ID check
HEADER = ["姓名", "身份证号", "手机号", "单位统一社会信用代码", "单位名称", "入会日期", "状态",
          "职业类别", "家庭关联身份证号", "银行账号"]


def member_rows(units) -> list[list[str]]:
    uscc = units["a1"].uscc
    return [
        # Every optional column holds somebody's ID number or bank account.
        ["张三", IDS[0], IDS[1], IDS[2], "", BANKS[0], IDS[3], BANKS[1], BANKS[2],
         "11010519491231002X"],
        # The unit by name, and a bank account where the ID number should be.
        ["李四", BANKS[3], "6222 0202 0011 2233", "", IDS[5], IDS[6], "退休", "其他", "", ""],
        # A grouped account in the date column, an ID with a lowercase x in the status.
        ["王五", IDS[6], "13800138000", uscc, "", "6222-0202-0011-2233", "11010519491231002x",
         "", "", ""],
    ]


def secrets() -> list[str]:
    grouped = "6222020200112233"
    return [*IDS, *BANKS, grouped, "11010519491231002X", "11010519491231002x"]


def digit_windows(secret: str) -> set[str]:
    digits = re.sub(r"\D", "", secret)
    return {digits[i:i + 6] for i in range(len(digits) - 5)}


def assert_clean(text: str, where: str) -> None:
    flat = re.sub(r"[\s\-]", "", text)
    for secret in secrets():
        assert secret not in text and secret not in flat, f"{secret} in {where}"
        for window in digit_windows(secret):
            assert window not in flat, f"{window} (of {secret}) in {where}: {text}"


def report_text(data: bytes) -> str:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    return "\n".join(" ".join(str(c) for c in row if c is not None)
                     for row in sheet.iter_rows(values_only=True))


def test_quote_masks_long_digit_runs_and_cuts_long_text():
    from huzhu.imports.cells import quote

    assert quote("110105199001011234") == "“＊＊＊（18位）”"
    assert quote("11010519491231002X") == "“＊＊＊（18位）”"
    assert quote("6222 0202 0011 2233") == "“＊＊＊（16位）”"
    assert quote("2024-02-30") == "“2024-02-30”"  # a date stays readable
    assert quote("在职人员") == "“在职人员”" and quote(12345) == "“12345”"
    long = quote("这是一个非常长的单元格内容，里面有身份证号110105199001011234")
    assert long.endswith("……”") and "1101" not in long and "＊＊＊（1" not in long


def test_members_file_full_of_ids_and_accounts_leaks_none_of_them(client, users, units,
                                                                  settings, tmp_path):
    settings.UPLOAD_ROOT = tmp_path / "uploads"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    lines = [",".join(HEADER)] + [",".join(r) for r in member_rows(units)]
    content = ("\n".join(lines) + "\n").encode("utf-8")

    outcome = import_file("members", _write(tmp_path / "m.csv", content))
    columns = {e.column for e in outcome.errors}
    assert {"身份证号", "手机号", "单位统一社会信用代码", "单位名称", "入会日期", "状态",
            "职业类别", "家庭关联身份证号", "银行账号"} <= columns
    assert_clean("\n".join(f"{e.column} {e.message}" for e in outcome.errors), "outcome")

    assert client.login(username="clerk_a1", password=PASSWORD)
    client.post(reverse("imports:new"), {"kind": "members",
                                         "file": SimpleUploadedFile("m.csv", content)})
    job = ImportJob.objects.get()
    assert job.status == "failed" and job.error_count == len(outcome.errors)
    assert_clean(repr(job.errors) + job.message, "ImportJob.errors")
    assert_clean(report_text(Path(job.error_report_path).read_bytes()), "report file")
    rebuilt = client.get(reverse("imports:errors", args=[job.pk]))
    assert_clean(report_text(b"".join(rebuilt.streaming_content)), "report download")
    page = client.get(reverse("imports:detail", args=[job.pk])).content.decode()
    errors_table = page[page.index('id="import-result"'):]
    assert "手机号应为11位大陆手机号码" in errors_table and "＊＊＊（18位）" in errors_table
    assert_clean(errors_table, "job page")
    for secret in secrets():
        assert secret not in page


def test_numbers_excel_stored_as_numbers_are_masked_too(units, tmp_path):
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    book.active.append(["张三", IDS[0], int(IDS[1][:15]), units["a1"].uscc, "",
                        float(BANKS[0]), "", "", "", ""])
    book.save(tmp_path / "n.xlsx")
    outcome = import_file("members", tmp_path / "n.xlsx")
    assert {e.column for e in outcome.errors} == {"手机号", "入会日期"}
    assert_clean("\n".join(e.message for e in outcome.errors), "outcome")
    assert all(IDS[1][:15] not in e.message for e in outcome.errors)


def test_units_file_with_ids_in_code_and_phone_leaks_none(tree, tmp_path):
    header = ["单位名称", "统一社会信用代码", "基层工会编码", "联系人", "联系电话", "地址",
              "确认校验位"]
    rows = [["甲单位", IDS[0], IDS[1], "", "11010519491231002X", "", IDS[2]],
            ["乙单位", BANKS[0], BANKS[1], IDS[3] * 3, "", "", ""]]
    path = _write(tmp_path / "u.csv", ("\n".join(",".join(r) for r in [header, *rows]) + "\n")
                  .encode())
    outcome = import_file("units", path)
    columns = {e.column for e in outcome.errors}
    assert {"基层工会编码", "联系电话", "确认校验位", "联系人"} <= columns
    assert_clean("\n".join(e.message for e in outcome.errors), "units outcome")


# ---------------------------------------------------------------- formula injection

FORMULAS = ["=1+1", "+1+1", "-1+1", "@SUM(A1)", '=HYPERLINK("http://x","y")']


@pytest.mark.parametrize("where", ["path", "buffer"])
def test_report_writes_formula_like_text_as_text(tmp_path, where):
    errors = [RowError(f"{f}.csv", 2, f, f) for f in FORMULAS]
    if where == "path":
        write_report(errors, tmp_path / "r.xlsx", total_errors=9)
        data = (tmp_path / "r.xlsx").read_bytes()
    else:
        buffer = io.BytesIO()
        write_report(errors, buffer, total_errors=9)
        data = buffer.getvalue()
    cells = [c for row in openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows()
             for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert [c.value for c in cells if c.column == 1][1:6] == [f"{f}.csv" for f in FORMULAS]


def test_upload_named_like_a_formula_shows_as_text_in_its_report(client, users, units,
                                                                 settings, tmp_path):
    settings.UPLOAD_ROOT = tmp_path / "uploads"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    assert client.login(username="clerk_a1", password=PASSWORD)
    content = f"姓名,身份证号,单位名称\n=2+3,{IDS[0]},=SUM(1;2)\n".encode()
    client.post(reverse("imports:new"), {"kind": "members",
                                         "file": SimpleUploadedFile("=1+1.csv", content)})
    job = ImportJob.objects.get()
    for data in (Path(job.error_report_path).read_bytes(),
                 b"".join(client.get(reverse("imports:errors", args=[job.pk]))
                          .streaming_content)):
        sheet = openpyxl.load_workbook(io.BytesIO(data)).active
        assert sheet["A2"].value == "=1+1.csv" and sheet["A2"].data_type == "s"
        assert not [c.coordinate for row in sheet.iter_rows() for c in row
                    if c.data_type == "f"]
    template = client.get(reverse("imports:template", args=["members"]))
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(template.streaming_content))).active
    assert not [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path
