"""Column names clerks write, in Chinese or English, mapped to the fields we import."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from huzhu.members.importing.errors import ImportFileError
from huzhu.members.importing.reading import Cell

HEADER_SEARCH_ROWS = 10  # a title line or two above the header is common in 花名册


@dataclass(frozen=True)
class Column:
    field: str
    label: str  # the Chinese header we print in messages and templates
    aliases: tuple[str, ...]
    required: bool = False


MEMBER_COLUMNS = (
    Column("name", "姓名", ("姓名", "会员姓名", "职工姓名", "name"), required=True),
    Column("id_number", "身份证号", ("身份证号", "身份证号码", "公民身份号码", "证件号码",
                                     "id_number", "id number", "idnumber"), required=True),
    Column("phone", "手机号", ("手机号", "手机号码", "手机", "联系电话", "phone", "mobile")),
    Column("unit_uscc", "单位统一社会信用代码", ("单位统一社会信用代码", "统一社会信用代码",
                                              "单位信用代码", "unit_uscc", "uscc")),
    Column("unit_name", "单位名称", ("单位名称", "单位", "工作单位", "unit_name", "unit")),
    Column("joined_on", "入会日期", ("入会日期", "入会时间", "joined_on", "joined")),
    Column("status", "状态", ("状态", "会员状态", "人员状态", "status")),
    Column("occupation", "职业类别", ("职业类别", "职业", "人员类别", "occupation")),
    Column("family_id_number", "家庭关联身份证号", (
        "家庭关联身份证号", "家庭关联会员身份证号", "关联会员身份证号", "户主身份证号",
        "family_id_number", "family_id",
    )),
    Column("bank_account", "银行账号", ("银行账号", "银行卡号", "银行帐号", "bank_account")),
)

UNIT_COLUMNS = (
    Column("name", "单位名称", ("单位名称", "名称", "name", "unit_name"), required=True),
    Column("uscc", "统一社会信用代码", ("统一社会信用代码", "信用代码", "uscc"), required=True),
    Column("union_code", "基层工会编码", ("基层工会编码", "工会编码", "所属基层工会编码",
                                          "union_code"), required=True),
    Column("contact_name", "联系人", ("联系人", "联系人姓名", "contact_name", "contact")),
    Column("contact_phone", "联系电话", ("联系电话", "联系人电话", "电话", "contact_phone",
                                         "phone")),
    Column("address", "地址", ("地址", "单位地址", "address")),
    Column("confirm_check", "确认校验位", ("确认校验位", "确认校验", "confirm_check")),
)

COLUMNS = {"members": MEMBER_COLUMNS, "units": UNIT_COLUMNS}

_STRIP = re.compile(r"[\s*＊:：()（）\[\]【】_\-]+")


def _norm(header: str) -> str:
    return _STRIP.sub("", header).lower()


_ALIAS_INDEX = {
    kind: {_norm(alias): col for col in cols for alias in col.aliases}
    for kind, cols in COLUMNS.items()
}


@dataclass(frozen=True)
class Mapping:
    """Where each field sits in the row, and the header the file used for it."""

    header_row: int
    index: dict[str, int]
    headers: dict[str, str]

    def has(self, field: str) -> bool:
        return field in self.index


def find_header(kind: str, file_name: str,
                rows: Iterator[tuple[int, list[Cell]]]) -> Mapping:
    """Consume rows up to and including the header; raise if there is none."""
    best: tuple[int, list[Cell]] | None = None
    seen = 0
    for row_number, cells in rows:
        if not any(_text(c) for c in cells):
            continue
        seen += 1
        matched = sum(1 for c in cells if _norm(_text(c)) in _ALIAS_INDEX[kind])
        if matched >= 2:
            return _mapping(kind, file_name, row_number, cells)
        if best is None:
            best = (row_number, cells)
        if seen >= HEADER_SEARCH_ROWS:
            break
    if best is None:
        raise ImportFileError(file_name, "文件中没有数据（表头和数据行都是空的）")
    # No plausible header: report the missing columns against the first non-empty row.
    return _mapping(kind, file_name, *best)


def _mapping(kind: str, file_name: str, row_number: int, cells: list[Cell]) -> Mapping:
    index: dict[str, int] = {}
    headers: dict[str, str] = {}
    for i, cell in enumerate(cells):
        header = _text(cell)
        col = _ALIAS_INDEX[kind].get(_norm(header))
        if col is None:
            continue
        if col.field in index:
            raise ImportFileError(
                file_name, f"列“{headers[col.field]}”和列“{header}”都表示{col.label}，请只保留一列",
                row=row_number, column=header,
            )
        index[col.field] = i
        headers[col.field] = header
    missing = [c for c in COLUMNS[kind] if c.required and c.field not in index]
    if kind == "members" and "unit_uscc" not in index and "unit_name" not in index:
        missing.append(Column("unit", "单位统一社会信用代码（或 单位名称）", ("unit_uscc",)))
    if missing:
        names = "、".join(f"{c.label}（{_english(c)}）" for c in missing)
        raise ImportFileError(file_name, f"缺少必需的列：{names}", row=row_number,
                              column=missing[0].label)
    return Mapping(row_number, index, headers)


def _english(col: Column) -> str:
    return next((a for a in col.aliases if a.isascii()), col.field)


def _text(cell: Cell) -> str:
    return cell.strip() if isinstance(cell, str) else ("" if cell is None else str(cell))
