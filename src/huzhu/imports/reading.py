"""Open an uploaded spreadsheet as a stream of rows, whatever clerks save it as.

CSV comes as UTF-8 (with or without BOM), GBK/GB18030 (Excel on Chinese Windows) or
UTF-16 ("Unicode text"); Excel files as .xlsx or the older .xls. The format is decided
by content, not by the file name, from a sample at the start, so a 20 MB junk file is
refused after reading one megabyte.
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


def open_table(path: Path, file_name: str | None = None) -> Table:
    """Open ``path`` as a table; raises :class:`ImportFileError` if it is not one."""
    name = file_name or path.name
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            sample = fh.read(SAMPLE_BYTES)
    except OSError as exc:
        raise ImportFileError(name, f"无法读取文件：{exc.strerror or exc}") from None
    if not sample.strip():
        raise ImportFileError(name, "文件是空的")
    position = [0.0]
    if sample.startswith(_ZIP_MAGIC) or sample.startswith(_OLE_MAGIC):
        return Table(name, "xlsx" if sample.startswith(_ZIP_MAGIC) else "xls",
                     _excel_rows(path, name, position), size, position)
    encoding = _detect_text_encoding(sample, name, at_eof=size <= SAMPLE_BYTES)
    return Table(name, f"csv:{encoding}", _csv_rows(path, name, encoding, size, position),
                 size, position)


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


def _csv_rows(path: Path, name: str, encoding: str, size: int,
              position: list[float]) -> Iterator[tuple[int, list[Cell]]]:
    with path.open("rb") as raw:
        lines = _decoded_lines(raw, name, encoding)
        first = next(lines, "")
        dialect = _dialect(first)
        row_number = 0
        try:
            for row_number, cells in enumerate(csv.reader(_chain(first, lines), dialect), 1):
                if not row_number & 1023:
                    position[0] = raw.tell() / size
                yield row_number, cells
        except csv.Error as exc:
            raise ImportFileError(name, f"第{row_number + 1}行不是有效的 CSV：{exc}") from None
        position[0] = 1.0


def _decoded_lines(raw: io.BufferedReader, name: str, encoding: str) -> Iterator[str]:
    """Decode line by line so that a stray byte is reported at its own line."""
    if encoding == "utf-16":
        # Newlines are two bytes here: let the text layer split them.
        yield from io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
        return
    # A newline byte never occurs inside a UTF-8 or GB18030 character, so splitting
    # the bytes first is safe.
    line_number = 0
    rest = "utf-8" if encoding == "utf-8-sig" else encoding  # a BOM only starts a file
    try:
        for line_number, line in enumerate(raw, 1):
            yield line.decode(encoding if line_number == 1 else rest)
    except UnicodeDecodeError:
        raise ImportFileError(
            name, f"第{line_number}行的内容不是有效的 {_label(encoding)} 编码，"
            "文件可能混用了多种编码，请重新另存为 CSV UTF-8", row=line_number,
        ) from None


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


def _excel_rows(path: Path, name: str,
                position: list[float]) -> Iterator[tuple[int, list[Cell]]]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        if not workbook.sheet_names:
            raise ImportFileError(name, "Excel 文件中没有工作表")
        sheet = workbook.get_sheet_by_index(0)
    except ImportFileError:
        raise
    except Exception as exc:  # calamine raises its own error types for broken files
        raise ImportFileError(name, f"无法读取 Excel 文件（文件可能已损坏）：{exc}") from None
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
