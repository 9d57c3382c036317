"""How big an uploaded spreadsheet may be once it is unpacked, and the words for refusing.

An .xlsx is a zip of XML: a 1 MB upload can unpack to gigabytes, and python-calamine
loads the whole used range of a sheet into memory as a dense rectangle from the first
to the last cell reference (one cell at XFD1048576 asks for 17 billion cells). These
bounds are checked before calamine opens a file (:mod:`huzhu.imports.xlsx_check`) and
again while rows are read. The defaults fit the largest real member file (a few hundred
thousand rows of a dozen columns; the import is benchmarked at a million CSV rows) with
room to spare; each can be changed in the Django settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from huzhu.imports.errors import ImportFileError

MIB = 1024 * 1024

# Parts below this size are not ratio-checked: a 5 KB styles.xml may compress 30x and
# still be harmless.
RATIO_FLOOR_BYTES = 1 * MIB
# No tag in a worksheet is this long; a longer one is a malformed or hostile file.
MAX_TAG_BYTES = 1 * MIB
# A member row is a few hundred bytes; a longer CSV line is not a record.
MAX_LINE_BYTES = 1 * MIB
# Python's csv default; one cell of a member file holds at most an address.
MAX_FIELD_CHARS = 131_072


@dataclass(frozen=True)
class ImportLimits:
    max_rows: int = 1_100_000  # HUZHU_IMPORT_MAX_ROWS
    max_columns: int = 100  # HUZHU_IMPORT_MAX_COLUMNS
    # Cells in the sheet, and also rows x columns of the rectangle calamine allocates.
    max_cells: int = 30_000_000  # HUZHU_IMPORT_MAX_CELLS
    # All parts of an .xlsx together, as really unpacked (not as the zip claims).
    max_unpacked_bytes: int = 600 * MIB  # HUZHU_IMPORT_MAX_UNPACKED_BYTES
    # Real member sheets compress 5-11x (shared strings about 5x); 100 leaves room.
    max_ratio: int = 100  # HUZHU_IMPORT_MAX_RATIO
    max_parts: int = 10_000  # zip entries; Excel writes a few dozen

    @classmethod
    def from_settings(cls) -> ImportLimits:
        from django.conf import settings

        defaults = cls()
        return cls(
            max_rows=getattr(settings, "HUZHU_IMPORT_MAX_ROWS", defaults.max_rows),
            max_columns=getattr(settings, "HUZHU_IMPORT_MAX_COLUMNS", defaults.max_columns),
            max_cells=getattr(settings, "HUZHU_IMPORT_MAX_CELLS", defaults.max_cells),
            max_unpacked_bytes=getattr(settings, "HUZHU_IMPORT_MAX_UNPACKED_BYTES",
                                       defaults.max_unpacked_bytes),
            max_ratio=getattr(settings, "HUZHU_IMPORT_MAX_RATIO", defaults.max_ratio),
        )


def column_letters(number: int) -> str:
    """1 → A, 27 → AA: the column as Excel labels it, for the message."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def check_shape(name: str, limits: ImportLimits, *, rows: int, columns: int,
                what: str = "第一个工作表") -> None:
    """Refuse a sheet whose used rectangle exceeds the bounds (rows and columns are the
    largest 1-based row and column a cell occupies)."""
    if rows > limits.max_rows:
        raise ImportFileError(
            name, f"{what}超过 {limits.max_rows:,} 行（至少 {rows:,} 行），无法导入；"
            "请拆分为多个文件，或删除表格下方多余的行后重新保存")
    if columns > limits.max_columns:
        raise ImportFileError(
            name, f"{what}有单元格位于第 {columns:,} 列（{column_letters(columns)} 列），"
            f"超过上限 {limits.max_columns} 列；请删除右侧多余的列"
            "（包括远处看似空白的单元格）后重新保存")
    if rows * columns > limits.max_cells:
        raise ImportFileError(
            name, f"{what}的范围过大（{rows:,} 行 × {columns} 列），超过 "
            f"{limits.max_cells:,} 个单元格；请删除远处多余的单元格后重新保存")


def too_many_cells(name: str, limits: ImportLimits, what: str = "第一个工作表") -> ImportFileError:
    return ImportFileError(
        name, f"{what}的单元格超过 {limits.max_cells:,} 个，无法导入；请拆分为多个文件")


def too_big(name: str, limits: ImportLimits) -> ImportFileError:
    return ImportFileError(
        name, f"文件解压后过大（超过 {limits.max_unpacked_bytes // MIB} MB），无法导入；"
        "请删除多余的工作表、图片和空白行列，或拆分为多个文件")
