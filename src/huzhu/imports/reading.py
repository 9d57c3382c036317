"""Open an uploaded spreadsheet as a stream of rows, whatever clerks save it as.

CSV comes as UTF-8 (with or without BOM), GBK/GB18030 (Excel on Chinese Windows) or
UTF-16 ("Unicode text"); Excel files as .xlsx or the older .xls. The format is decided
by content, not by the file name, from a sample at the start, so a 20 MB junk file is
refused after reading one megabyte. Every format is held to :class:`ImportLimits`: an
.xlsx is inspected before calamine may open it, CSV lines and rows are bounded as they
stream.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from huzhu.imports.errors import ImportFileError
from huzhu.imports.limits import MAX_FIELD_CHARS, MAX_LINE_BYTES, ImportLimits, check_shape
from huzhu.imports.xls_check import check_xls
from huzhu.imports.xlsx_check import check_xlsx

SAMPLE_BYTES = 1024 * 1024
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls
_CONTROL_OK = {9, 10, 13}  # tab, LF, CR

Cell = str | int | float | bool | dt.date | dt.datetime | dt.time | dt.timedelta | None


@dataclass
class Table:
    """Rows of the first sheet; ``rows`` yields ``(row_number, cells)``, header = row 1."""

    file_name: str
    format: str  # "csv:utf-8", "csv:gb18030", "xlsx" ...
    rows: Iterator[tuple[int, list[Cell]]]
    size_bytes: int
    # Share of the file read so far (0..1), for a progress bar before the row count is known.
    position: list[float]

    def fraction_read(self) -> float:
        return min(1.0, self.position[0])


def open_table(path: Path, file_name: str | None = None,
               limits: ImportLimits | None = None) -> Table:
    """Open ``path`` as a table; raises :class:`ImportFileError` if it is not one, or is
    larger than ``limits`` (default: the settings)."""
    name = file_name or path.name
    limits = limits or ImportLimits.from_settings()
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            sample = fh.read(SAMPLE_BYTES)
    except OSError as exc:
        raise ImportFileError(name, f"无法读取文件：{exc.strerror or exc}") from None
    if not sample.strip():
        raise ImportFileError(name, "文件是空的")
    position = [0.0]
    if sample.startswith(_ZIP_MAGIC):
        check_xlsx(path, name, limits)  # before calamine: it cannot be stopped midway
        return Table(name, "xlsx", _excel_rows(path, name, position, limits), size, position)
    if sample.startswith(_OLE_MAGIC):
        check_xls(path, name, limits)
        return Table(name, "xls", _excel_rows(path, name, position, limits), size, position)
    encoding = _detect_text_encoding(sample, name, at_eof=size <= SAMPLE_BYTES)
    return Table(name, f"csv:{encoding}",
                 _csv_rows(path, name, encoding, size, position, limits), size, position)


def _detect_text_encoding(sample: bytes, name: str, *, at_eof: bool) -> str:
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _looks_binary(sample):
        raise ImportFileError(
            name, "文件不是 CSV 或 Excel 文件（含有二进制内容），请上传 .xlsx 或 .csv 文件"
        )
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        try:
            # final=False: the sample may end in the middle of a multi-byte character.
            decoder.decode(sample, final=at_eof)
        except UnicodeDecodeError:
            continue
        return encoding
    raise ImportFileError(name, _unrecognised_encoding_message(sample))


def _looks_binary(sample: bytes) -> bool:
    head = sample[:65536]
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in _CONTROL_OK)
    return controls > len(head) // 100


def _unrecognised_encoding_message(sample: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(sample[:65536]).best()
    guess = f"（疑似 {best.encoding}）" if best is not None else ""
    return f"无法识别文件编码{guess}，请在 Excel 中另存为“CSV UTF-8”或 GBK 编码的 CSV 文件"


def _csv_rows(path: Path, name: str, encoding: str, size: int, position: list[float],
              limits: ImportLimits) -> Iterator[tuple[int, list[Cell]]]:
    with path.open("rb") as raw:
        lines = _decoded_lines(raw, name, encoding)
        first = next(lines, "")
        dialect = _dialect(first)
        row_number = 0
        try:
            for row_number, cells in enumerate(csv.reader(_chain(first, lines), dialect), 1):
                if not row_number & 1023:
                    position[0] = raw.tell() / size
                if row_number > limits.max_rows or len(cells) > limits.max_columns:
                    raise _too_large(name, row_number, len(cells), limits)
                yield row_number, cells
        except csv.Error as exc:
            raise ImportFileError(name, _csv_problem(row_number + 1, exc),
                                  row=row_number + 1) from None
        position[0] = 1.0


def _too_large(name: str, row: int, columns: int, limits: ImportLimits) -> ImportFileError:
    if row > limits.max_rows:
        return ImportFileError(name, f"文件超过 {limits.max_rows:,} 行，无法导入；"
                                     "请拆分为多个文件", row=row)
    return ImportFileError(
        name, f"第{row}行有 {columns:,} 列，超过上限 {limits.max_columns} 列；"
        "请删除多余的列（包括看似空白的列）后重新另存为 CSV", row=row)


def _csv_problem(row: int, exc: csv.Error) -> str:
    """csv's own messages are English; say the same in Chinese."""
    text = str(exc)
    if "field larger than field limit" in text:
        return (f"第{row}行有一个单元格超过 {MAX_FIELD_CHARS:,} 个字符"
                "（可能缺少一个结束引号），不是有效的名单文件")
    if "NUL" in text:
        return f"第{row}行含有空字符（NUL），文件可能已损坏"
    return f"第{row}行不是有效的 CSV（引号或分隔符有误），请在 Excel 中重新另存为 CSV"


def _decoded_lines(raw: io.BufferedReader, name: str, encoding: str) -> Iterator[str]:
    """Decode line by line so that a stray byte is reported at its own line; a line
    longer than MAX_LINE_BYTES is refused before it is held in memory whole."""
    if encoding == "utf-16":
        # Newlines are two bytes here: let the text layer split them.
        text = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
        yield from _bounded(text.readline, "", name)
        return
    # A newline byte never occurs inside a UTF-8 or GB18030 character, so splitting
    # the bytes first is safe.
    line_number = 0
    rest = "utf-8" if encoding == "utf-8-sig" else encoding  # a BOM only starts a file
    try:
        for line_number, line in enumerate(_bounded(raw.readline, b"", name), 1):
            yield line.decode(encoding if line_number == 1 else rest)
    except UnicodeDecodeError:
        raise ImportFileError(
            name, f"第{line_number}行的内容不是有效的 {_label(encoding)} 编码，"
            "文件可能混用了多种编码，请重新另存为 CSV UTF-8", row=line_number,
        ) from None


def _bounded(readline, empty: bytes | str, name: str) -> Iterator:
    """Lines from ``readline`` (bytes or text), each read at most MAX_LINE_BYTES + 1 long,
    so that a file without newlines is refused instead of read into memory whole."""
    line_number = 0
    while True:
        line = readline(MAX_LINE_BYTES + 1)
        if line == empty:
            return
        line_number += 1
        if len(line) > MAX_LINE_BYTES:
            raise ImportFileError(
                name, f"第{line_number}行超过 {MAX_LINE_BYTES // 1024 // 1024} MB，"
                "不是有效的名单文件（可能缺少换行或有大量多余的列）", row=line_number)
        yield line


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _dialect(header_line: str) -> type[csv.Dialect]:
    # Excel writes commas; "Unicode text" and some exports use tabs or semicolons.
    counts = {d: header_line.count(d) for d in (",", "\t", ";")}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","

    class Dialect(csv.excel):
        pass

    Dialect.delimiter = delimiter
    return Dialect


def _label(encoding: str) -> str:
    return {"utf-8-sig": "UTF-8", "gb18030": "GBK/GB18030", "utf-16": "UTF-16"}[encoding]


def _excel_rows(path: Path, name: str, position: list[float],
                limits: ImportLimits) -> Iterator[tuple[int, list[Cell]]]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        if not workbook.sheet_names:
            raise ImportFileError(name, "Excel 文件中没有工作表")
        sheet = workbook.get_sheet_by_index(0)
    except ImportFileError:
        raise
    except Exception:  # calamine's own error types; their English text may quote a cell
        raise ImportFileError(name, "无法读取 Excel 文件（文件可能已损坏），"
                                    "请在 Excel 中打开后另存为 .xlsx 再上传") from None
    except BaseException as exc:
        # A Rust panic inside calamine arrives as pyo3's PanicException, which is not an
        # Exception; it is a broken file all the same.
        if type(exc).__name__ != "PanicException":
            raise
        raise ImportFileError(name, "无法读取 Excel 文件（文件可能已损坏）") from None
    # The pre-check bounded this already; the loaded sheet is checked again because
    # iterating a wide sheet costs time even when its memory was affordable.
    check_shape(name, limits, rows=sheet.height, columns=sheet.width)
    # A sheet whose used range starts below row 1 is offset; keep Excel's row numbers.
    first_row = (sheet.start or (0, 0))[0] + 1
    height = max(1, sheet.height)
    for offset, cells in enumerate(sheet.iter_rows()):
        if not offset & 1023:
            position[0] = offset / height
        yield first_row + offset, list(cells)
    position[0] = 1.0


def data_rows(rows: Iterator[tuple[int, list[Cell]]]) -> Iterator[tuple[int, list[Cell]]]:
    """The rows with something in them: blank lines between records are not records."""
    for row, cells in rows:
        if any(c is not None and c != "" and (not isinstance(c, str) or c.strip())
               for c in cells):
            yield row, cells
