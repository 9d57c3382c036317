"""Reading the bank's result file (回盘文件) of a batch's transfers: CSV (UTF-8, with or
without a byte-order mark, or GBK; comma, tab or semicolon) or xlsx, one row per
transfer, under a header row the bank's 代发 results use (title lines above it are
skipped; a last 合计/总计 row is skipped).

Columns, by header (spaces and full-width brackets ignored; other columns are ignored):

- the transfer: 理赔编号 (the 通用 layout's column), or 序号 / 流水号 / 客户流水号 /
  明细序号 (the row's 序号 in the bank file, which every layout has) — at least one;
- amount: 金额 / 金额（元） / 交易金额 / 付款金额 / 实付金额 / 代发金额 — required;
- status: 状态 / 处理结果 / 交易状态 / 处理状态 / 交易结果 — required; 成功 (交易成功,
  处理成功 …) paid, 失败 failed, 退票 / 已退回 / 退回 returned;
- the bank's reason: 失败原因 / 退票原因 / 错误原因 / 返回信息 / 处理说明 / 备注 / 附言;
- date: 交易日期 / 日期 / 付款日期 / 入账日期 / 处理日期 / 退票日期 (2026-05-03,
  2026/5/3, 20260503, 2026年5月3日 or an Excel date);
- name: 户名 / 收款人户名 / 账户名称 / 收款人名称 / 客户名称 / 姓名, checked against the
  member's name when present; an account column (客户账号 / 收款人账号 …) is not needed.

This module only reads: each problem is a :class:`RowError` naming the file, the row
and the field, and :mod:`huzhu.claims.payouts.reconcile` decides what the rows do.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import openpyxl

from huzhu.rules.money import FEN

REFERENCE = ("理赔编号",)
SEQ = ("序号", "流水号", "客户流水号", "明细序号", "原序号")
AMOUNT = ("金额", "金额(元)", "交易金额", "交易金额(元)", "付款金额", "实付金额", "代发金额",
          "金额(人民币)")
STATUS = ("状态", "处理结果", "交易状态", "处理状态", "交易结果", "结果")
REASON = ("失败原因", "退票原因", "错误原因", "返回信息", "处理说明", "备注", "附言")
DATE = ("交易日期", "日期", "付款日期", "入账日期", "处理日期", "退票日期")
NAME = ("户名", "收款人户名", "账户名称", "收款人名称", "客户名称", "姓名")
HEADER_SEARCH = 20  # lines of titles a bank may put above the header row

PAID, FAILED, RETURNED = "paid", "failed", "returned"
STATUS_WORDS = {PAID: "成功", FAILED: "失败", RETURNED: "退票"}


class ReturnFileError(Exception):
    """The file cannot be read at all (format, encoding, no header): one message."""


@dataclass(frozen=True)
class RowError:
    file: str
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file} 第 {self.row} 行“{self.field}”：{self.message}"


@dataclass(frozen=True)
class ReturnRow:
    row: int  # the line or sheet row, from 1, as a spreadsheet program shows it
    number: str  # 理赔编号 ("" when the file has no such column)
    seq: int | None  # 序号 (None when the file has no such column)
    amount: Decimal
    status: str  # PAID, FAILED or RETURNED
    reason: str
    date: dt.date | None
    name: str


def _norm(header: object) -> str:
    text = str(header or "").replace("（", "(").replace("）", ")")
    return re.sub(r"\s+", "", text)


def _find(headers: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in headers:
            return headers.index(name)
    return None


def _status(text: str) -> str | None:
    """A bank's status word: 退票 and 退回 before 失败 before 成功."""
    if "退票" in text or "退回" in text or "退汇" in text:
        return RETURNED
    if "失败" in text or "不成功" in text:
        return FAILED
    if "成功" in text or text in ("已入账", "已付款", "已完成"):
        return PAID
    return None


def _amount(value: object) -> Decimal | None:
    """An amount as the bank writes it: exactly to the fen (1,234.50, ¥240, 240.0); an
    Excel number is read by its shortest decimal digits (240.1 is 240.10, never a float
    sum)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        text = str(value)
    elif isinstance(value, float):
        text = repr(value)
    else:
        text = re.sub(r"[\s,，¥￥元]", "", str(value or ""))
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount != amount.quantize(FEN):
        return None
    return amount.quantize(FEN)


def _date(value: object) -> dt.date | str | None:
    """The row's date, None for an empty cell, "" when it cannot be read."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value or "").strip()
    if not text:
        return None
    found = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(\s.*)?", text) or \
        re.fullmatch(r"(\d{4})(\d{2})(\d{2})(\d{6})?", text)
    if not found:
        return ""
    try:
        return dt.date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        return ""


def _seq(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip().lstrip("'")


def _csv_lines(data: bytes, name: str) -> Iterator[tuple[int, list[object]]]:
    for encoding in ("utf-8-sig", "gbk"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ReturnFileError(f"{name}：无法读取，文件编码应为 UTF-8 或 GBK")
    sample = "\n".join(text.splitlines()[:HEADER_SEARCH])
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, ",\t;")
    except csv.Error:
        dialect = csv.excel
    for number, row in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
        yield number, list(row)


def _xlsx_lines(data: bytes, name: str) -> Iterator[tuple[int, list[object]]]:
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not xlsx
        raise ReturnFileError(f"{name}：不是有效的 Excel（xlsx）文件") from exc
    try:
        sheet = book.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(row)
    finally:
        book.close()


@dataclass
class Parsed:
    rows: list[ReturnRow]
    errors: list[RowError]
    has_reference: bool  # a 理赔编号 column
    has_seq: bool


def read(data: bytes, name: str) -> Parsed:
    """The file's transfers and the problems of its rows (none applied here)."""
    lines = _xlsx_lines(data, name) if data[:2] == b"PK" else _csv_lines(data, name)
    header: list[str] | None = None
    cols: dict[str, int | None] = {}
    rows: list[ReturnRow] = []
    errors: list[RowError] = []
    for number, raw in lines:
        if header is None:
            candidate = [_norm(h) for h in raw]
            if _find(candidate, AMOUNT) is not None and _find(candidate, STATUS) is not None:
                header = candidate
                cols = {"number": _find(header, REFERENCE), "seq": _find(header, SEQ),
                        "amount": _find(header, AMOUNT), "status": _find(header, STATUS),
                        "reason": _find(header, REASON), "date": _find(header, DATE),
                        "name": _find(header, NAME)}
                if cols["number"] is None and cols["seq"] is None:
                    raise ReturnFileError(f"{name} 第 {number} 行（表头）：没有“理赔编号”或"
                                          "“序号”列，无法对应到批次中的给付")
            elif number >= HEADER_SEARCH:
                break
            continue
        row = _row(name, number, raw, header, cols, errors)
        if row is not None:
            rows.append(row)
    if header is None:
        raise ReturnFileError(f"{name}：前 {HEADER_SEARCH} 行中没有找到表头（须有“金额”"
                              "和“状态”或“处理结果”等列）")
    return Parsed(rows, errors, cols["number"] is not None, cols["seq"] is not None)


def _row(name: str, number: int, raw: list[object], header: list[str],
         cols: dict[str, int | None], errors: list[RowError]) -> ReturnRow | None:
    def get(key: str) -> object:
        index = cols[key]
        return raw[index] if index is not None and index < len(raw) else None

    cells = [_cell(v) for v in raw]
    if not any(cells):
        return None
    if cells[0].startswith(("合计", "总计")) and not _cell(get("status")):
        return None  # the bank file's own total line, echoed back
    found: list[RowError] = []

    def bad(key: str, message: str) -> None:
        index = cols[key]
        found.append(RowError(name, number, header[index] if index is not None else key,
                              message))

    number_text = _cell(get("number"))
    seq = _seq(get("seq")) if cols["seq"] is not None else None
    if cols["seq"] is not None and seq is None and not number_text:
        bad("seq", f"“{_cell(get('seq'))}”不是序号（应为正整数）")
    if cols["number"] is not None and not number_text and cols["seq"] is None:
        bad("number", "为空")
    amount = _amount(get("amount"))
    if amount is None or amount <= 0:
        bad("amount", f"“{_cell(get('amount'))}”不是金额（应为大于零、最多两位小数的数）")
    status_text = _cell(get("status"))
    status = _status(status_text)
    if status is None:
        bad("status", f"“{status_text}”无法识别，应为 成功、失败 或 退票（已退回）")
    day = _date(get("date"))
    if day == "":
        bad("date", f"“{_cell(get('date'))}”不是日期（如 2026-05-03 或 20260503）")
    reason = " ".join(_cell(get("reason")).split())[:200]
    if status in (FAILED, RETURNED) and not reason:
        bad("reason" if cols["reason"] is not None else "status",
            "失败或退票须写明银行的原因（失败原因或备注列）")
    if found:
        errors.extend(found)
        return None
    assert amount is not None and status is not None and day != ""
    return ReturnRow(number, number_text, seq, amount, status, reason,
                     day if isinstance(day, dt.date) else None, _cell(get("name")))
