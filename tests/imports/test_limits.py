"""Zip bombs and huge sheets are refused before calamine opens them, quickly and in little
memory; legitimate files still pass. Issue 7, finding 8."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from huzhu.imports.errors import ImportFileError
from huzhu.imports.limits import ImportLimits
from huzhu.imports.reading import data_rows, open_table
from huzhu.imports.service import import_file
from huzhu.imports.xlsx_check import check_xlsx
from tests.imports import bombs

SMALL = ImportLimits(max_rows=50, max_columns=10, max_cells=200, max_unpacked_bytes=2 << 20)

# Runs in a fresh interpreter, so that peak memory is this file's alone: the real path
# of the worker (settings, open_table, every row), reporting time, peak RSS and message.
CHILD = """
import json, os, resource, sys, time
os.environ["DJANGO_SETTINGS_MODULE"] = "huzhu.config.settings"
from pathlib import Path
from huzhu.imports.errors import ImportFileError
from huzhu.imports.reading import open_table
from django.conf import settings
settings.HUZHU_IMPORT_MAX_RATIO = int(sys.argv[2])
def peak_mb():
    # VmHWM belongs to this address space; ru_maxrss would carry the forking parent's
    # peak over (it survives fork and exec), so a large pytest process would fail this.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
# CPU time, not wall time: the bound is about the work done, whatever else the machine
# is running at the same moment.
start = time.process_time()
message = None
try:
    table = open_table(Path(sys.argv[1]))
    for _ in table.rows:
        pass
except ImportFileError as exc:
    message = exc.error.message
print(json.dumps({"message": message, "seconds": time.process_time() - start,
                  "peak_mb": peak_mb()}))
"""


def read_in_child(path: Path, tmp_path: Path, max_ratio: int = 100) -> dict:
    env = {**os.environ, "HUZHU_VAR_DIR": str(tmp_path / "var")}
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), str(max_ratio)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, f"the reader died ({done.returncode}): {done.stderr[-2000:]}"
    return json.loads(done.stdout)


BOMBS = {
    # 1.6 MB unpacking to 300 MB of identical cells: refused by its compression ratio.
    "repeated-cells": (lambda p: bombs.repeated_cells_bomb(p), "解压后是压缩前的"),
    # The same with the ratio check out of the way (max_ratio 1000 below): the streaming
    # count of its 1.5 million rows refuses it.
    "repeated-cells-streamed": (lambda p: bombs.repeated_cells_bomb(p), "超过 1,100,000 行"),
    # The same bomb claiming to unpack to 1 MB: refused as soon as it unpacks to more.
    "lying-size": (lambda p: bombs.lie_about_size(bombs.repeated_cells_bomb(p), bombs.SHEET,
                                                  1 << 20), "超过了文件自己记录的大小"),
    # One far-away cell: a 1.5 KB file that made calamine abort the process.
    "far-cell": (bombs.far_cell_bomb, "XFD 列"),
    # Honest sizes, plausible ratio, too many rows: refused by the streaming count.
    "rows": (lambda p: bombs.write_xlsx(p, (
        "".join(bombs.inline_row(r, ["a", "b"]) for r in range(start, start + 10_000)).encode()
        for start in range(1, 1_200_000, 10_000))), "超过 1,100,000 行"),
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(BOMBS))
def test_xlsx_bomb_is_refused_within_seconds_and_little_memory(tmp_path, kind):
    build, words = BOMBS[kind]
    path = build(tmp_path / f"{kind}.xlsx")
    assert path.stat().st_size < 40 * 1024 * 1024
    result = read_in_child(path, tmp_path, 1000 if kind.endswith("streamed") else 100)
    assert result["message"] is not None and words in result["message"], result
    assert result["seconds"] < 10, result
    assert result["peak_mb"] < 300, result


def test_bomb_refusal_reaches_the_import_outcome(tmp_path, db):
    outcome = import_file("members", bombs.far_cell_bomb(tmp_path / "=炸弹.xlsx"))
    assert not outcome.imported and len(outcome.errors) == 1
    error = outcome.errors[0]
    assert error.file == "=炸弹.xlsx" and "超过上限 100 列" in error.message


def test_a_member_sized_xlsx_passes_with_exact_counts(tmp_path):
    body = ("".join(bombs.inline_row(r, [f"v{r}"] * 9) for r in range(1, 5001)).encode(),)
    stats = check_xlsx(bombs.write_xlsx(tmp_path / "m.xlsx", body), "m.xlsx", ImportLimits())
    assert (stats.rows, stats.cells, stats.max_row, stats.max_column) == (5000, 45000, 5000, 9)
    assert (stats.height, stats.width) == (5000, 9)


def test_openpyxl_file_with_styles_and_dimension_passes(tmp_path):
    book = openpyxl.Workbook()
    for r in range(200):
        book.active.append([f"姓名{r}", "220102198001020011", "13800138000"])
    book.active["C2"].number_format = "@"
    book.save(tmp_path / "o.xlsx")
    stats = check_xlsx(tmp_path / "o.xlsx", "o.xlsx", ImportLimits())
    assert (stats.max_row, stats.max_column) == (200, 3)
    assert len(list(data_rows(open_table(tmp_path / "o.xlsx").rows))) == 200


def refused(path: Path, limits: ImportLimits = SMALL) -> str:
    with pytest.raises(ImportFileError) as caught:
        check_xlsx(path, path.name, limits)
    return caught.value.error.message


def test_rows_columns_cells_and_rectangle_bounds(tmp_path):
    rows = [bombs.inline_row(r, ["x"] * 3).encode() for r in range(1, 52)]
    assert "超过 50 行" in refused(bombs.write_xlsx(tmp_path / "rows.xlsx", rows))
    wide = [bombs.inline_row(1, ["x"] * 11).encode()]
    assert "第 11 列（K 列）" in refused(bombs.write_xlsx(tmp_path / "wide.xlsx", wide))
    many = [bombs.inline_row(r, ["x"] * 10).encode() for r in range(1, 22)]
    assert "单元格超过 200 个" in refused(bombs.write_xlsx(tmp_path / "cells.xlsx", many))
    # Two cells only, but calamine would allocate the rectangle between them.
    corner = [b'<row r="1"><c r="A1"><v>1</v></c></row><row r="40"><c r="J40"><v>1</v></c>'
              b"</row>"]
    assert "40 行 × 10 列" in refused(bombs.write_xlsx(tmp_path / "corner.xlsx", corner))


def test_dimension_and_odd_references_are_counted(tmp_path):
    head = bombs.SHEET_HEAD.replace("<sheetData>", '<dimension ref="A1:Z9"/><sheetData>')
    one = [bombs.inline_row(1, ["x"]).encode()]
    assert "第 26 列" in refused(bombs.write_xlsx(tmp_path / "dim.xlsx", one, head=head))
    zeros = [b'<row r="1"><c r="A0000000000000000099"><v>1</v></c></row>']
    assert "99 行" in refused(bombs.write_xlsx(tmp_path / "zeros.xlsx", zeros),
                             ImportLimits(max_rows=98))
    letters = [b'<row r="1"><c r="AAAAAAAA1"><v>1</v></c></row>']
    assert "列" in refused(bombs.write_xlsx(tmp_path / "letters.xlsx", letters))


def test_cells_without_references_prefixes_and_quotes_take_the_careful_path(tmp_path):
    # No r: calamine places each cell right of the one before.
    bare = [("<row>" + "<c><v>1</v></c>" * 11 + "</row>").encode()]
    assert "第 11 列" in refused(bombs.write_xlsx(tmp_path / "bare.xlsx", bare))
    head = bombs.SHEET_HEAD.replace("<worksheet xmlns=", "<x:worksheet xmlns:x=").replace(
        "<sheetData>", "<x:sheetData>")
    prefixed = [b"<x:row r='1'><x:c s='0' r='K1'><x:v>1</x:v></x:c></x:row>"]
    path = bombs.write_xlsx(tmp_path / "prefixed.xlsx", prefixed, head=head,
                            tail="</x:sheetData></x:worksheet>")
    assert "第 11 列" in refused(path)
    rows = [b"<row><c><v>1</v></c></row>" * 51]
    assert "超过 50 行" in refused(bombs.write_xlsx(tmp_path / "bare-rows.xlsx", rows))


def test_a_row_split_across_chunks_is_still_counted(tmp_path, monkeypatch):
    from huzhu.imports import xlsx_check

    monkeypatch.setattr(xlsx_check, "STEP_BYTES", 7)  # every tag cut somewhere
    bare = [("<row>" + "<c><v>1</v></c>" * 11 + "</row>").encode()]
    assert "第 11 列" in refused(bombs.write_xlsx(tmp_path / "bare.xlsx", bare))
    fine = [bombs.inline_row(r, ["x"] * 3).encode() for r in range(1, 30)]
    stats = check_xlsx(bombs.write_xlsx(tmp_path / "ok.xlsx", fine), "ok.xlsx", SMALL)
    assert (stats.rows, stats.cells, stats.max_row, stats.max_column) == (29, 87, 29, 3)


def test_the_sheet_checked_is_the_one_calamine_reads_first(tmp_path):
    # A decoy <sheet> inside a comment points at a small part; calamine skips comments.
    decoy = bombs.WORKBOOK.replace("<sheets>", '<sheets><!-- <sheet name="x" sheetId="9" '
                                   'r:id="rId9"/> -->')
    path = bombs.write_xlsx(tmp_path / "decoy.xlsx", [bombs.inline_row(1, ["x"] * 11).encode()],
                            extra={"xl/worksheets/small.xml": b"<worksheet/>"})
    with zipfile.ZipFile(path) as book:
        parts = {n: book.read(n) for n in book.namelist()}
    parts["xl/workbook.xml"] = decoy.encode()
    parts["xl/_rels/workbook.xml.rels"] = bombs.WORKBOOK_RELS.replace(
        "</Relationships>", '<Relationship Id="rId9" Type="x" Target="worksheets/small.xml"/>'
        "</Relationships>").encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(name, data)
    assert "第 11 列" in refused(path)


def test_total_unpacked_size_counts_every_part(tmp_path):
    filler = {"xl/media/filler.bin": os.urandom(3 << 20)}  # incompressible, ratio 1
    path = bombs.write_xlsx(tmp_path / "big.xlsx", [b""], extra=filler)
    assert "文件解压后过大（超过 2 MB）" in refused(path)


def test_zip_structure_tricks_are_refused(tmp_path):
    path = bombs.write_xlsx(tmp_path / "dup.xlsx", [b""], extra={"XL/WORKBOOK.XML": b"x"})
    assert "重名" in refused(path, ImportLimits())
    many = {f"xl/junk/{i}.xml": b"" for i in range(30)}
    path = bombs.write_xlsx(tmp_path / "many.xlsx", [b""], extra=many)
    assert "部件过多" in refused(path, ImportLimits(max_parts=20))
    bz = tmp_path / "bz.xlsx"
    with zipfile.ZipFile(bz, "w", zipfile.ZIP_BZIP2) as book:
        book.writestr("xl/workbook.xml", bombs.WORKBOOK)
    assert "压缩方式" in refused(bz, ImportLimits())
    ods = tmp_path / "x.ods"
    with zipfile.ZipFile(ods, "w") as book:
        book.writestr("content.xml", "<office:document-content/>")
    assert "不是有效的 .xlsx" in refused(ods, ImportLimits())


# ---------------------------------------------------------------- CSV

def csv_refusal(path: Path, settings_limits: dict, settings) -> str:
    for key, value in settings_limits.items():
        setattr(settings, key, value)
    start, cpu = time.monotonic(), _cpu_seconds()
    with pytest.raises(ImportFileError) as caught:
        for _ in open_table(path).rows:
            pass
    assert _cpu_seconds() - cpu < 5
    assert time.monotonic() - start < 60
    return caught.value.error.message


def test_csv_line_of_a_million_commas_is_refused_at_once(tmp_path, settings):
    path = tmp_path / "commas.csv"
    path.write_bytes(b"name,id_number\n" + b"," * 1_000_000 + b"\n")
    message = csv_refusal(path, {}, settings)
    assert "第2行" in message and "1,000,001 列" in message and "上限 100 列" in message


def test_csv_endless_line_and_huge_field_are_refused(tmp_path, settings):
    path = tmp_path / "line.csv"
    path.write_bytes(b"name,id_number\n" + b"x" * (3 << 20))
    assert "第2行超过 1 MB" in csv_refusal(path, {}, settings)
    quoted = tmp_path / "quoted.csv"
    quoted.write_bytes(b'name,id_number\n"' + (b"y" * 1000 + b"\n") * 200)
    message = csv_refusal(quoted, {}, settings)
    assert "超过 131,072 个字符" in message and "field" not in message


def test_csv_rows_bound_from_settings(tmp_path, settings):
    path = tmp_path / "rows.csv"
    path.write_text("name,id_number\n" + "a,b\n" * 30, encoding="utf-8")
    assert "超过 20 行" in csv_refusal(path, {"HUZHU_IMPORT_MAX_ROWS": 20}, settings)


# ---------------------------------------------------------------- legacy .xls

def test_member_xls_still_imports(tmp_path, units):
    from huzhu.members.idcard import make_id_number

    number = make_id_number("220102", __import__("datetime").date(1980, 1, 2), 11)
    cells = [bombs.xls_label(0, 0, "姓名"), bombs.xls_label(0, 1, "身份证号"),
             bombs.xls_label(0, 2, "单位统一社会信用代码"), bombs.xls_label(1, 0, "张伟"),
             bombs.xls_label(1, 1, number), bombs.xls_label(1, 2, units["a1"].uscc)]
    outcome = import_file("members", bombs.write_xls(tmp_path / "m.xls", cells))
    assert outcome.errors == [] and outcome.created == 1


@pytest.mark.parametrize(("cells", "words"), [
    # Within the .xls format, but 256 columns wide: a 537 MB rectangle.
    ([bombs.xls_number(0, 0, 1), bombs.xls_number(65535, 255, 1)], "第 256 列（IV 列）"),
    # Column 65535: calamine asks for 137 GB and aborts (the child, not this process).
    ([bombs.xls_number(0, 0, 1), bombs.xls_number(65535, 65535, 1)], "无法读取 Excel 文件"),
    # One DIMENSIONS record claiming 4 billion rows: calamine reserves them up front.
    ([bombs.xls_dimensions(0, 0xFFFFFFFE, 0, 0xFFFE), bombs.xls_number(0, 0, 1)],
     "无法读取 Excel 文件"),
], ids=["wide", "far-column", "dimensions"])
def test_xls_bombs_are_refused_without_taking_the_worker_down(tmp_path, db, cells, words):
    start, cpu = time.monotonic(), _cpu_seconds()
    outcome = import_file("members", bombs.write_xls(tmp_path / "b.xls", cells))
    assert not outcome.imported and words in outcome.errors[0].message
    # The work done (this process and the reading child) is bounded; the wall clock only
    # guards against a hang, as other work on the machine stretches it.
    assert _cpu_seconds() - cpu < 10
    assert time.monotonic() - start < 60


def _cpu_seconds() -> float:
    me, kids = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                     resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
