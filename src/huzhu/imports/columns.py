"""Column names clerks write, in Chinese or English, mapped to the fields a kind imports."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from huzhu.imports.errors import ImportFileError
from huzhu.imports.reading import Cell

HEADER_SEARCH_ROWS = 10  # a title line or two above the header is common in 花名册

_STRIP = re.compile(r"[\s*＊:：()（）\[\]【】_\-]+")


def _norm(header: str) -> str:
    return _STRIP.sub("", header).lower()


@dataclass(frozen=True)
class Column:
    field: str
    label: str  # the Chinese header we print in messages and templates
    aliases: tuple[str, ...]
    required: bool = False

    @property
    def english(self) -> str:
        return next((a for a in self.aliases if a.isascii()), self.field)


@dataclass(frozen=True)
class ColumnSet:
    """The columns of one kind of file; ``one_of`` lists groups of which one must be there."""

    columns: tuple[Column, ...]
    one_of: tuple[tuple[str, str], ...] = ()  # (field, field): label for the message
    _aliases: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {_norm(alias): col for col in self.columns for alias in col.aliases}
        object.__setattr__(self, "_aliases", index)

    def __iter__(self) -> Iterator[Column]:
        return iter(self.columns)

    def lookup(self, header: str) -> Column | None:
        return self._aliases.get(_norm(header))

    def either(self, name: str) -> bool:
        """Whether ``name`` belongs to a one-of group (shown as 二选一 on the page)."""
        return any(name in group for group in self.one_of)


@dataclass(frozen=True)
class Mapping:
    """Where each field sits in the row, and the header the file used for it."""

    header_row: int
    index: dict[str, int]
    headers: dict[str, str]

    def has(self, field: str) -> bool:
        return field in self.index


def find_header(columns: ColumnSet, file_name: str,
                rows: Iterator[tuple[int, list[Cell]]]) -> Mapping:
    """Consume rows up to and including the header; raise if there is none."""
    best: tuple[int, list[Cell]] | None = None
    seen = 0
    for row_number, cells in rows:
        if not any(_text(c) for c in cells):
            continue
        seen += 1
        matched = sum(1 for c in cells if columns.lookup(_text(c)) is not None)
        if matched >= 2:
            return _mapping(columns, file_name, row_number, cells)
        if best is None:
            best = (row_number, cells)
        if seen >= HEADER_SEARCH_ROWS:
            break
    if best is None:
        raise ImportFileError(file_name, "文件中没有数据（表头和数据行都是空的）")
    # No plausible header: report the missing columns against the first non-empty row.
    return _mapping(columns, file_name, *best)


def _mapping(columns: ColumnSet, file_name: str, row_number: int,
             cells: list[Cell]) -> Mapping:
    index: dict[str, int] = {}
    headers: dict[str, str] = {}
    for i, cell in enumerate(cells):
        header = _text(cell)
        col = columns.lookup(header)
        if col is None:
            continue
        if col.field in index:
            raise ImportFileError(
                file_name, f"列“{headers[col.field]}”和列“{header}”都表示{col.label}，请只保留一列",
                row=row_number, column=header,
            )
        index[col.field] = i
        headers[col.field] = header
    missing = [f"{c.label}（{c.english}）" for c in columns if c.required and c.field not in index]
    by_field = {c.field: c for c in columns}
    for group in columns.one_of:
        if not any(f in index for f in group):
            first, *rest = (by_field[f].label for f in group)
            missing.append(f"{first}（或 {'、'.join(rest)}）")
    if missing:
        raise ImportFileError(file_name, f"缺少必需的列：{'、'.join(missing)}", row=row_number,
                              column=missing[0].split("（")[0])
    return Mapping(row_number, index, headers)


def _text(cell: Cell) -> str:
    return cell.strip() if isinstance(cell, str) else ("" if cell is None else str(cell))
