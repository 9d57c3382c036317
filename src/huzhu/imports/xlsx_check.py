"""Look inside an .xlsx before python-calamine opens it, and refuse a bomb in seconds.

calamine reads the shared strings, styles and workbook parts whole when it opens a file,
then parses the first worksheet into a dense rectangle from its first to its last cell
reference. Neither step can be interrupted from Python, so every bound is checked here
first, on what the zip really unpacks to (a zip may lie about its sizes):

1. the zip directory: number of parts, no ZIP64 surprises, no encryption, only the
   stored and deflate methods, no two parts whose names differ only in case;
2. the sizes the directory declares: total, and the compression ratio of each part;
3. every part is inflated with zlib in bounded steps (never more than a few MB at once),
   counting what it really unpacks to against the total and against its declared size;
4. the first worksheet (found the way calamine finds it) is scanned while it inflates:
   rows, cells, and the largest row and column a cell reference or ``<dimension>``
   names — the rectangle calamine would allocate.

The scan works on bytes with regular expressions: a real XML parser in Python would take
longer than calamine itself. Writers put ``r`` first in ``<c r="B2" …>``; that case is
counted exactly and fast, anything else (namespace prefixes, other attribute orders,
cells without ``r``) falls back to slower patterns and a safe over-estimate.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import BinaryIO

from huzhu.imports.errors import ImportFileError
from huzhu.imports.limits import (
    MAX_TAG_BYTES,
    MIB,
    RATIO_FLOOR_BYTES,
    ImportLimits,
    check_shape,
    too_big,
    too_many_cells,
)

READ_BYTES = 1 * MIB  # compressed bytes read at a time
STEP_BYTES = 16 * MIB  # most bytes one inflate step may produce
MAX_DIRECTORY_BYTES = 16 * MIB  # the zip's central directory (a real one: a few KB)
MAX_WORKBOOK_BYTES = 16 * MIB  # workbook.xml and its relationships, read whole
MAX_REF_LETTERS = 3  # XFD: anything longer is beyond Excel and overflows calamine
MAX_REF_DIGITS = 7  # 1048576

_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_EOCD = b"PK\x06\x06"
_LOCAL_HEADER = b"PK\x03\x04"

# The forms writers produce: no namespace prefix, ``r`` first, double quotes.
_CELL_COL = re.compile(rb'<c r="([A-Za-z]+)')
_CELL_ROW = re.compile(rb'<c r="[A-Za-z]+([0-9]+)"')
_ROW_REF = re.compile(rb'<row r="([0-9]+)"')
_PREFIXED = re.compile(rb"<[\w.-]+:(?:c|row)[\s/>]")


@dataclass(frozen=True)
class _Patterns:
    cell: re.Pattern
    row: re.Pattern
    cell_ref: re.Pattern  # any attribute order, either quote: (letters, digits)
    row_ref: re.Pattern


def _patterns(prefix: bytes) -> _Patterns:
    ref = rb"""\s[^>]*?(?<=\s)r\s*=\s*["']"""
    return _Patterns(
        cell=re.compile(rb"<" + prefix + rb"c[\s/>]"),
        row=re.compile(rb"<" + prefix + rb"row[\s/>]"),
        cell_ref=re.compile(rb"<" + prefix + rb"c" + ref + rb"""([A-Za-z]+)([0-9]+)["']"""),
        row_ref=re.compile(rb"<" + prefix + rb"row" + ref + rb"""([0-9]+)["']"""),
    )


# Without prefixes the patterns start with a literal, which re searches for fast.
_PLAIN = _patterns(b"")
_ANY_PREFIX = _patterns(rb"(?:[\w.-]+:)?")
_DIMENSION = re.compile(
    rb"""<(?:[\w.-]+:)?dimension\s[^>]*?(?<=\s)ref\s*=\s*["']([^"']*)["']""")
_REF = re.compile(rb"([A-Za-z]*)([0-9]*)")
# workbook.xml and its relationships
_COMMENT = re.compile(rb"<!--.*?-->", re.DOTALL)
_SHEET = re.compile(rb"<(?:[\w.-]+:)?sheet\s[^>]*>")
_SHEET_RID = re.compile(rb"""\s(?:r|relationships):id\s*=\s*["']([^"']*)["']""")
_RELATIONSHIP = re.compile(rb"<(?:[\w.-]+:)?Relationship\s[^>]*>")
_REL_ID = re.compile(rb"""\sId\s*=\s*["']([^"']*)["']""")
_REL_TARGET = re.compile(rb"""\sTarget\s*=\s*["']([^"']*)["']""")


@dataclass
class SheetStats:
    """What the scan found in the first worksheet (for the refusal and for tests)."""

    xml_bytes: int = 0
    rows: int = 0
    cells: int = 0
    max_row: int = 0  # the largest row a reference names (1-based)
    max_column: int = 0
    rows_without_ref: int = 0  # each may push the row of the cells after it by one
    cells_without_ref: int = 0
    widest_row: int = 0  # cells in the widest row, counted only where cells lack refs

    @property
    def height(self) -> int:
        return self.max_row + self.rows_without_ref

    @property
    def width(self) -> int:
        return self.max_column + (self.widest_row if self.cells_without_ref else 0)


def check_xlsx(path: Path, name: str, limits: ImportLimits) -> SheetStats:
    """Raise :class:`ImportFileError` unless ``path`` is an .xlsx within ``limits``."""
    with path.open("rb") as fh:
        _check_directory(fh, name, limits)
        try:
            infos = zipfile.ZipFile(fh).infolist()
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, struct.error):
            raise _corrupt(name) from None
        parts = _index(infos, name, limits)
        meter = _Meter(name, limits)
        workbook = _read_whole(fh, parts, "xl/workbook.xml", name, meter)
        rels = _read_whole(fh, parts, "xl/_rels/workbook.xml.rels", name, meter)
        if workbook is None or rels is None:
            raise ImportFileError(name, "不是有效的 .xlsx 文件（缺少工作簿信息）；"
                                        "如为 .xlsb 或 .ods 文件，请在 Excel 中另存为 .xlsx")
        sheet = parts.get(_first_sheet_path(workbook, rels, name).lower())
        if sheet is None:
            raise ImportFileError(name, "Excel 文件中找不到第一个工作表（文件可能已损坏）")
        stats = SheetStats()
        scan = _SheetScan(name, limits, stats)
        for info in infos:
            if info.filename.lower() in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
                continue
            for chunk in _inflate(fh, info, name, meter):
                if info is sheet:
                    scan.feed(chunk)
        scan.finish()
    return stats


# ---------------------------------------------------------------- the zip directory

def _check_directory(fh: BinaryIO, name: str, limits: ImportLimits) -> None:
    """Count the parts before :mod:`zipfile` builds an object for each of them."""
    size = fh.seek(0, 2)
    start = max(0, size - 65557)  # the end record plus the longest comment
    fh.seek(start)
    tail = fh.read()
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        raise _corrupt(name)
    _, _, _, _, entries, directory_bytes, _, _ = struct.unpack("<4s4H2LH", tail[at:at + 22])
    if at >= 20 and tail[at - 20:at - 16] == _ZIP64_LOCATOR:
        (offset,) = struct.unpack("<Q", tail[at - 12:at - 4])
        fh.seek(offset)
        record = fh.read(56)
        if len(record) < 56 or record[:4] != _ZIP64_EOCD:
            raise _corrupt(name)
        entries, directory_bytes = struct.unpack("<2Q", record[32:48])
    if entries > limits.max_parts or directory_bytes > MAX_DIRECTORY_BYTES:
        raise ImportFileError(name, f"Excel 文件内部的部件过多（{entries:,} 个），"
                                    "不是正常的 Excel 文件，已拒绝")


def _index(infos: list[zipfile.ZipInfo], name: str,
           limits: ImportLimits) -> dict[str, zipfile.ZipInfo]:
    """Parts by lower-case name (calamine looks names up ignoring case), after the
    checks that need only the directory."""
    parts: dict[str, zipfile.ZipInfo] = {}
    declared = 0
    for info in infos:
        key = info.filename.lower()
        if key in parts:
            raise ImportFileError(name, f"Excel 文件内部有重名的部件 {info.filename}，"
                                        "文件可能已损坏或被篡改")
        parts[key] = info
        if info.flag_bits & 0x1:
            raise ImportFileError(name, "Excel 文件已加密，请取消密码后重新上传")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ImportFileError(name, "Excel 文件使用了不支持的压缩方式，"
                                        "请在 Excel 中另存为 .xlsx 后重新上传")
        declared += info.file_size
        if declared > limits.max_unpacked_bytes:
            raise too_big(name, limits)
        if info.file_size > RATIO_FLOOR_BYTES and (
                info.file_size > limits.max_ratio * max(1, info.compress_size)):
            ratio = info.file_size // max(1, info.compress_size)
            raise ImportFileError(
                name, f"文件解压后过大：其中 {info.filename} 解压后是压缩前的 {ratio:,} 倍"
                f"（正常的 Excel 文件不超过 {limits.max_ratio} 倍），"
                "疑似恶意构造的压缩文件，已拒绝")
    return parts


# ---------------------------------------------------------------- inflating parts

class _Meter:
    """Bytes really unpacked so far, against the total allowed."""

    def __init__(self, name: str, limits: ImportLimits) -> None:
        self.name = name
        self.limits = limits
        self.total = 0

    def add(self, n: int) -> None:
        self.total += n
        if self.total > self.limits.max_unpacked_bytes:
            raise too_big(self.name, self.limits)


def _inflate(fh: BinaryIO, info: zipfile.ZipInfo, name: str, meter: _Meter) -> Iterator[bytes]:
    """The part's bytes as they unpack, never trusting the sizes the zip declares."""
    produced = 0
    for piece in _unpack(fh, info, name):
        produced += len(piece)
        if produced > info.file_size:  # more than the zip declares: a lie, or damage
            raise ImportFileError(
                name, f"文件解压后过大：其中 {info.filename} 解压后超过了文件自己记录的大小"
                f"（{info.file_size:,} 字节），疑似恶意构造的压缩文件，已拒绝")
        meter.add(len(piece))
        yield piece
    if produced != info.file_size:
        raise _corrupt(name)


def _unpack(fh: BinaryIO, info: zipfile.ZipInfo, name: str) -> Iterator[bytes]:
    fh.seek(info.header_offset)
    header = fh.read(30)
    if len(header) < 30 or header[:4] != _LOCAL_HEADER:
        raise _corrupt(name)
    name_len, extra_len = struct.unpack("<2H", header[26:30])
    fh.seek(info.header_offset + 30 + name_len + extra_len)
    inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    left = info.compress_size
    while left > 0:
        raw = fh.read(min(READ_BYTES, left))
        if not raw:
            raise _corrupt(name)
        left -= len(raw)
        if inflater is None:
            yield raw
            continue
        try:
            while raw:
                out = inflater.decompress(raw, STEP_BYTES)
                raw = inflater.unconsumed_tail
                if out:
                    yield out
        except zlib.error:
            raise _corrupt(name) from None


def _read_whole(fh: BinaryIO, parts: dict[str, zipfile.ZipInfo], part: str, name: str,
                meter: _Meter) -> bytes | None:
    info = parts.get(part)
    if info is None:
        return None
    if info.file_size > MAX_WORKBOOK_BYTES:
        raise too_big(name, meter.limits)
    return b"".join(_inflate(fh, info, name, meter))


def _first_sheet_path(workbook: bytes, rels: bytes, name: str) -> str:
    """The part calamine opens as sheet 0: the first ``<sheet>``'s relationship target.
    Comments go first: calamine's XML reader skips a ``<sheet>`` written inside one."""
    workbook, rels = _COMMENT.sub(b"", workbook), _COMMENT.sub(b"", rels)
    sheet = _SHEET.search(workbook)
    rid = _SHEET_RID.search(sheet.group(0)) if sheet else None
    if rid is None:
        raise ImportFileError(name, "Excel 文件中没有工作表")
    targets = {}
    for rel in _RELATIONSHIP.finditer(rels):
        rel_id, target = _REL_ID.search(rel.group(0)), _REL_TARGET.search(rel.group(0))
        if rel_id and target:
            targets[rel_id.group(1)] = target.group(1)  # the last one wins, as in calamine
    target = targets.get(rid.group(1), b"").decode("utf-8", "replace")
    if target.startswith("/xl/"):
        return target[1:]
    return target if target.startswith("xl/") else f"xl/{target}"


def _corrupt(name: str) -> ImportFileError:
    return ImportFileError(name, "无法读取 Excel 文件（文件可能已损坏），"
                                 "请在 Excel 中打开后另存为 .xlsx 再上传")


# ---------------------------------------------------------------- the worksheet scan

class _SheetScan:
    """Counts rows, cells and the rectangle of the first worksheet as it streams by."""

    def __init__(self, name: str, limits: ImportLimits, stats: SheetStats) -> None:
        self.name = name
        self.limits = limits
        self.stats = stats
        self.carry = b""  # a tag cut in two by the chunk boundary
        self.open_row_cells = 0  # cells so far of the row the last slow chunk ended in

    def feed(self, chunk: bytes) -> None:
        self.stats.xml_bytes += len(chunk)
        data = self.carry + chunk if self.carry else chunk
        cut = data.rfind(b"<")
        if cut >= 0 and data.find(b">", cut) < 0:
            data, self.carry = data[:cut], data[cut:]
            if len(self.carry) > MAX_TAG_BYTES:
                raise _corrupt(self.name)
        else:
            self.carry = b""
        if b"dimension" in data:
            self._dimension(data)
        self._scan(data)
        self._check()

    def finish(self) -> None:
        self._check()

    def _scan(self, data: bytes) -> None:
        prefixed = bool((b":c" in data or b":row" in data) and _PREFIXED.search(data))
        pattern = _ANY_PREFIX if prefixed else _PLAIN
        cells = len(pattern.cell.findall(data))
        rows = len(pattern.row.findall(data))
        columns: list[bytes] = []
        cell_rows: list[bytes] = []
        row_refs: list[bytes] = []
        if not prefixed:  # the fast forms first: they are what writers produce
            columns = _CELL_COL.findall(data)
            cell_rows = _CELL_ROW.findall(data)
            row_refs = _ROW_REF.findall(data)
        if len(columns) != cells or len(cell_rows) != cells:
            refs = pattern.cell_ref.findall(data)
            columns = [letters for letters, _ in refs]
            cell_rows = [digits for _, digits in refs]
        if len(row_refs) != rows:
            row_refs = pattern.row_ref.findall(data)
        stats = self.stats
        stats.rows += rows
        stats.cells += cells
        stats.rows_without_ref += rows - len(row_refs)
        stats.cells_without_ref += cells - len(cell_rows)
        self._rows(row_refs)
        self._rows(cell_rows)
        self._columns(set(columns))
        if len(cell_rows) < cells:
            self._widest_row(data, pattern)
        elif cells or rows:
            # A new row, or a cell with its own position: cells without one that follow
            # count from here.
            self.open_row_cells = 0

    def _widest_row(self, data: bytes, pattern: _Patterns) -> None:
        """Cells without ``r`` sit one right of the cell before: bound them by the
        number of cells in their row (counted in place, without copying rows out)."""
        bounds = [0, *(m.start() for m in pattern.row.finditer(data)), len(data)]
        counts = [len(pattern.cell.findall(data, a, b)) for a, b in pairwise(bounds)]
        counts[0] += self.open_row_cells
        self.stats.widest_row = max(self.stats.widest_row, max(counts))
        self.open_row_cells = counts[-1]

    def _rows(self, numbers: list[bytes]) -> None:
        if not numbers:
            return
        # Digit strings compare as numbers by (length, text) once leading zeros are gone.
        distinct = {n.lstrip(b"0") for n in set(numbers)}
        top = max(distinct, key=lambda b: (len(b), b))
        self.stats.max_row = max(self.stats.max_row, _row_number(top))

    def _columns(self, letters: set[bytes]) -> None:
        if letters:
            self.stats.max_column = max(self.stats.max_column,
                                        *(_column_number(c) for c in letters))

    def _dimension(self, data: bytes) -> None:
        for found in _DIMENSION.finditer(data):
            for part in found.group(1).split(b":"):
                ref = _REF.fullmatch(part)
                if ref is None:
                    continue
                letters, digits = ref.groups()
                if letters:
                    self._columns({letters})
                if digits:
                    self._rows([digits])

    def _check(self) -> None:
        stats, limits = self.stats, self.limits
        if stats.cells > limits.max_cells:
            raise too_many_cells(self.name, limits)
        check_shape(self.name, limits, rows=max(stats.rows, stats.height),
                    columns=stats.width)


def _row_number(digits: bytes) -> int:
    """``digits`` without leading zeros; past 7 digits it is past Excel's last row, and
    8 of them are enough to say so (int() of a 5,000-digit string is refused anyway)."""
    return int(digits[:MAX_REF_DIGITS + 1]) if digits else 0


def _column_number(letters: bytes) -> int:
    number = 0
    for ch in letters[:MAX_REF_LETTERS + 1].upper():
        number = number * 26 + ch - 64
    return number
