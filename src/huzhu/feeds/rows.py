"""One settlement row, checked: the ID number, the dates, the money and the diagnoses.

The checks are the issue's: an ID number whose check digit fails, a discharge before the
admission, amounts that do not add up (fund + account + cash = total, within a fen),
negative amounts, plus empty required cells and dates outside a sane range. Messages
name the column and never repeat an ID number (:func:`huzhu.imports.cells.quote`);
amounts are written with thousands separators, so no run of six digits appears either.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from operator import mul

from huzhu.imports.cells import (
    MAX_AMOUNT,
    CellError,
    digits_text,
    parse_amount,
    parse_date,
    quote,
    text,
)
from huzhu.imports.columns import Mapping
from huzhu.imports.errors import RowError
from huzhu.imports.reading import Cell
from huzhu.members.idcard import PROVINCE_CODES, IdNumberError, parse_id_number
from huzhu.rules.money import yuan

FEN = Decimal("0.01")
ZERO = Decimal("0.00")
EARLIEST = dt.date(1990, 1, 1)  # older stays are not in any bureau's settlement system
MAX_SETTLEMENT_ID = 64
MAX_NAME = 50
MAX_HOSPITAL = 100
MAX_DIAGNOSIS = 500
# ICD-10 as the national medical-insurance edition writes it (C34.900, I10.x00x002),
# after upper-casing; "+" joins a dagger and an asterisk code (A18.0+M49.0*).
_ICD10 = re.compile(r"[A-Z][0-9]{2}(?:\.[0-9A-Z]{1,10})?")
_CODE_SEPARATORS = re.compile(r"[;；,，、+\s]+")

LABELS = {
    "settlement_id": "结算ID", "id_number": "证件号码", "name": "姓名",
    "hospital": "定点医药机构名称", "admit_date": "入院日期", "discharge_date": "出院日期",
    "total_cost": "医疗费总额", "fund_paid": "基金支付", "account_paid": "个人账户支付",
    "out_of_pocket": "个人现金支付", "self_pay": "个人自付", "self_expense": "个人自费",
    "diagnosis": "主要诊断编码", "other_diagnosis": "其他诊断编码",
}


class NotText:
    """A JSON value where a cell's text belongs (an object or array; for the settlement
    ID, a number or true/false too): the API's reader puts this in the cell, and the
    validator refuses it as the field's error rather than reading its Python spelling."""

    __slots__ = ("kind",)
    KINDS = {dict: "对象", list: "数组", bool: "真假值"}

    def __init__(self, value: object) -> None:
        self.kind = next((word for kind, word in self.KINDS.items() if isinstance(value, kind)),
                         "数字")

    def message(self, label: str) -> str:
        return f"{label}应为文本（JSON 字符串），不能是{self.kind}"


@dataclass(slots=True)
class SettlementRow:
    row: int
    settlement_id: str
    id_number: str
    name: str
    hospital: str
    admit_date: dt.date
    discharge_date: dt.date
    total_cost: Decimal
    fund_paid: Decimal
    account_paid: Decimal | None
    out_of_pocket: Decimal
    self_pay: Decimal | None
    self_expense: Decimal | None
    diagnosis: str  # upper case, ";"-joined, main first


class SettlementValidator:
    """Checks one row on its own; the importer checks rows against each other and
    against what was imported before."""

    def __init__(self, file_name: str, mapping: Mapping, today: dt.date | None = None,
                 *, json: bool = False) -> None:
        self.file = file_name
        # The API's JSON rows may hold NotText cells, which only the checked path reads.
        self.json = json
        self.m = mapping
        self.today = today or dt.date.today()
        self.id_field = "settlement_id" if mapping.has("settlement_id") else "visit_id"
        self.fund_field = "fund_paid" if mapping.has("fund_paid") else "pooled_fund_paid"
        self._index = [(f, mapping.index.get(f)) for f in (
            self.id_field, "id_number", "name", "hospital", "admit_date", "discharge_date",
            "total_cost", self.fund_field, "account_paid", "out_of_pocket", "self_pay",
            "self_expense", "diagnosis", "other_diagnosis")]
        # The settlement ID of the row just checked, even when another cell failed: a
        # duplicate is a duplicate whatever else is wrong with either row.
        self.last_id: str = ""

    def header(self, field: str) -> str:
        field = {"settlement_id": self.id_field, "fund_paid": self.fund_field}.get(field, field)
        return self.m.headers.get(field, LABELS.get(field, field))

    def _err(self, row: int, field: str, message: str) -> RowError:
        return RowError(self.file, row, self.header(field), message)

    def __call__(self, row: int, cells: list[Cell]) -> tuple[SettlementRow | None,
                                                            list[RowError]]:
        n = len(cells)
        picked = [cells[i] if i is not None and i < n else None for _, i in self._index]
        if self.json and any(isinstance(c, NotText) for c in picked):
            return self._checked(row, picked)
        parsed = self._fast(row, picked)
        if parsed is not None:
            return parsed, []
        return self._checked(row, picked)

    def _fast(self, row: int, picked: list[Cell]) -> SettlementRow | None:
        """The row when every cell is in its plain form (text from a CSV, typed values
        from Parquet) and valid; None sends the row to :meth:`_checked`, which accepts
        exactly the same rows and says what is wrong with the others. A million rows
        through the general converters took ninety seconds; this takes a third of that."""
        (sid, idn, name, hospital, admit, discharge, total, fund, account, cash, self_pay,
         self_expense, main_dx, other_dx) = picked
        if type(sid) is not str:
            return None
        sid = sid.strip()
        if not sid or len(sid) > MAX_SETTLEMENT_ID or " " in sid or not sid.isprintable():
            return None
        self.last_id = sid
        id_number = _fast_id(idn, self.today)
        if id_number is None or type(name) is not str or type(hospital) is not str:
            return None
        name = " ".join(name.split())
        hospital = " ".join(hospital.split())
        if not name or len(name) > MAX_NAME or not hospital or len(hospital) > MAX_HOSPITAL:
            return None
        admit, discharge = _fast_date(admit), _fast_date(discharge)
        if (admit is None or discharge is None or admit < EARLIEST or discharge > self.today
                or discharge < admit):
            return None
        total, fund, cash = _fast_money(total), _fast_money(fund), _fast_money(cash)
        account = _fast_money(account)
        self_pay, self_expense = _fast_money(self_pay), _fast_money(self_expense)
        if (total is None or fund is None or cash is None or _BAD in (
                total, fund, cash, account, self_pay, self_expense)):
            return None
        if abs(fund + (account or ZERO) + cash - total) > FEN:
            return None
        if (self_pay is not None and self_pay > total) or (
                self_expense is not None and self_expense > total):
            return None
        diagnosis = _fast_diagnosis(main_dx, other_dx)
        if diagnosis is None:
            return None
        return SettlementRow(row, sid, id_number, name, hospital, admit, discharge, total, fund,
                             account, cash, self_pay, self_expense, diagnosis)

    def _checked(self, row: int, picked: list[Cell]) -> tuple[SettlementRow | None,
                                                             list[RowError]]:
        wrong: dict[str, RowError] = {}
        for k, ((field, _), cell) in enumerate(zip(self._index, picked, strict=True)):
            if isinstance(cell, NotText):
                label = LABELS.get(field, "结算ID")
                wrong[self.header(field)] = self._err(row, field, cell.message(label))
                picked[k] = None
        parsed, errors = self._fields(row, picked)
        if wrong:  # the field's own error, not "不能为空" for the value set aside
            return None, [e for e in errors if e.column not in wrong] + list(wrong.values())
        return parsed, errors

    def _fields(self, row: int, picked: list[Cell]) -> tuple[SettlementRow | None,
                                                            list[RowError]]:
        (sid, idn, name, hospital, admit, discharge, total, fund, account, cash, self_pay,
         self_expense, main_dx, other_dx) = picked
        errors: list[RowError] = []
        settlement_id = self._settlement_id(row, sid, errors)
        id_number = self._id_number(row, idn, errors)
        name = self._text(row, "name", name, MAX_NAME, errors)
        hospital = self._text(row, "hospital", hospital, MAX_HOSPITAL, errors)
        admit_date = self._date(row, "admit_date", admit, errors)
        discharge_date = self._date(row, "discharge_date", discharge, errors)
        if admit_date and discharge_date and discharge_date < admit_date:
            errors.append(self._err(row, "discharge_date", "出院日期早于入院日期"))
        amounts = {}
        before = len(errors)
        for field, cell, required in (("total_cost", total, True), ("fund_paid", fund, True),
                                      ("account_paid", account, False),
                                      ("out_of_pocket", cash, True),
                                      ("self_pay", self_pay, False),
                                      ("self_expense", self_expense, False)):
            amounts[field] = self._amount(row, field, cell, required, errors)
        if len(errors) == before:  # with an amount unreadable, a sum says nothing more
            self._check_sums(row, amounts, errors)
        diagnosis = self._diagnosis(row, main_dx, other_dx, errors)
        if errors:
            return None, errors
        return SettlementRow(
            row, settlement_id, id_number, name, hospital, admit_date, discharge_date,
            amounts["total_cost"], amounts["fund_paid"], amounts["account_paid"],
            amounts["out_of_pocket"], amounts["self_pay"], amounts["self_expense"], diagnosis,
        ), errors

    def _settlement_id(self, row: int, cell: Cell, errors: list[RowError]) -> str:
        self.last_id = ""
        try:
            value = digits_text(cell, "结算ID")
        except CellError as exc:
            errors.append(self._err(row, "settlement_id", str(exc)))
            return ""
        if not value:
            errors.append(self._err(row, "settlement_id", "结算ID不能为空"))
        elif len(value) > MAX_SETTLEMENT_ID or not value.isprintable():
            errors.append(self._err(row, "settlement_id",
                                    f"结算ID{quote(value)}无效（最多{MAX_SETTLEMENT_ID}个字符）"))
        else:
            self.last_id = value
        return value

    def _id_number(self, row: int, cell: Cell, errors: list[RowError]) -> str:
        try:
            return parse_id_number(digits_text(cell, "证件号码"), today=self.today).value
        except (IdNumberError, CellError) as exc:
            errors.append(self._err(row, "id_number", str(exc)))
            return ""

    def _text(self, row: int, field: str, cell: Cell, limit: int,
              errors: list[RowError]) -> str:
        value = " ".join(text(cell).split())
        if not value:
            errors.append(self._err(row, field, f"{LABELS[field]}不能为空"))
        elif len(value) > limit:
            errors.append(self._err(row, field, f"{LABELS[field]}不能超过{limit}个字"))
        return value

    def _date(self, row: int, field: str, cell: Cell,
              errors: list[RowError]) -> dt.date | None:
        label = LABELS[field]
        if not text(cell):
            errors.append(self._err(row, field, f"{label}不能为空"))
            return None
        try:
            value = _fast_date(cell) or parse_date(cell, label)
        except CellError as exc:
            errors.append(self._err(row, field, str(exc)))
            return None
        if value < EARLIEST:
            errors.append(self._err(row, field, f"{label}早于1990年1月1日，不是有效的结算记录"))
            return None
        if value > self.today:
            errors.append(self._err(row, field, f"{label}晚于今天"))
            return None
        return value

    def _amount(self, row: int, field: str, cell: Cell, required: bool,
                errors: list[RowError]) -> Decimal | None:
        label = LABELS[field]
        if not isinstance(cell, Decimal | int | float) and not text(cell):
            if required:
                errors.append(self._err(row, field, f"{label}不能为空"))
            return None
        try:
            value = parse_amount(cell, label)
        except CellError as exc:
            errors.append(self._err(row, field, str(exc)))
            return None
        if value < 0:
            errors.append(self._err(row, field, f"{label}不能为负数"))
            return None
        return value

    def _check_sums(self, row: int, a: dict[str, Decimal | None],
                    errors: list[RowError]) -> None:
        total, fund, cash = a["total_cost"], a["fund_paid"], a["out_of_pocket"]
        account = a["account_paid"] or ZERO
        parts = fund + account + cash
        if abs(parts - total) > FEN:
            named = [f"{self.header('fund_paid')}（{yuan(fund)}）"]
            if self.m.has("account_paid"):
                named.append(f"{self.header('account_paid')}（{yuan(account)}）")
            named.append(f"{self.header('out_of_pocket')}（{yuan(cash)}）")
            errors.append(self._err(
                row, "total_cost",
                f"{' + '.join(named)} = {yuan(parts)}，与{self.header('total_cost')}"
                f"（{yuan(total)}）相差 {yuan(abs(parts - total))}（最多允许相差一分）"))
            return  # with the total in doubt, comparing other amounts to it says nothing
        for field in ("self_pay", "self_expense"):
            value = a[field]
            if value is not None and value > total:
                errors.append(self._err(row, field, f"{LABELS[field]}不能超过医疗费总额"))

    def _diagnosis(self, row: int, main: Cell, other: Cell, errors: list[RowError]) -> str:
        main_codes = _codes(main)
        if not main_codes:
            errors.append(self._err(row, "diagnosis", "主要诊断编码不能为空"))
        codes: list[str] = []
        for field, found in (("diagnosis", main_codes), ("other_diagnosis", _codes(other))):
            for code in found:
                if not _ICD10.fullmatch(code):
                    errors.append(self._err(row, field,
                                            f"诊断编码{quote(code)}不是有效的 ICD-10 编码"))
                elif code not in codes:
                    codes.append(code)
        joined = ";".join(codes)
        if len(joined) > MAX_DIAGNOSIS:
            errors.append(self._err(row, "other_diagnosis",
                                    f"诊断编码过多（超过{MAX_DIAGNOSIS}个字符）"))
        return joined


def _codes(cell: Cell) -> list[str]:
    """The codes of a cell: ";"-separated text, or a Parquet list column."""
    if cell is None:
        return []
    parts = cell if isinstance(cell, list | tuple) else [cell]
    codes = []
    for part in parts:
        for code in _CODE_SEPARATORS.split(text(part).upper()):
            code = code.rstrip("*†")
            if code:
                codes.append(code)
    return codes


_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]
_ASCII_ZERO_SUM = ord("0") * sum(_WEIGHTS)
_CHECK_CHARS = "10X98765432"
_BAD = object()  # a money cell the fast path does not take


def _fast_id(cell: Cell, today: dt.date) -> str | None:
    """The ID number if it is 18 plain characters and valid (the checks of
    :func:`~huzhu.members.idcard.parse_id_number`, without building its messages)."""
    if type(cell) is not str:
        return None
    value = cell.strip().upper()
    head = value[:17]
    if len(value) != 18 or not head.isascii() or not head.isdigit():
        return None
    if value[:2] not in PROVINCE_CODES:
        return None
    if value[17] != _CHECK_CHARS[(sum(map(mul, head.encode(), _WEIGHTS)) - _ASCII_ZERO_SUM) % 11]:
        return None
    try:
        birth = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None
    if birth > today or birth.year < 1900:
        return None
    return value


def _fast_money(cell: Cell):
    """A Decimal to the fen, None for an empty cell, or _BAD for anything else."""
    if type(cell) is str:
        if not cell or cell.isspace():
            return None
        try:
            value = Decimal(cell)
            fen = value.quantize(FEN)  # NaN stays NaN (and differs); Infinity raises
        except InvalidOperation:
            return _BAD
    elif cell is None:
        return None
    elif type(cell) is Decimal:
        value = cell
        try:
            fen = value.quantize(FEN)
        except InvalidOperation:
            return _BAD
    else:
        return _BAD
    if fen != value or fen < ZERO or fen > MAX_AMOUNT:
        return _BAD
    return fen if fen else ZERO


def _fast_diagnosis(main: Cell, other: Cell) -> str | None:
    if type(main) is str:
        code = main.strip().upper()
        codes = [code] if _ICD10.fullmatch(code) else _codes(main)
    else:
        codes = _codes(main)
    if not codes:
        return None
    if other is not None and other != "":
        codes = codes + _codes(other)
    unique: list[str] = []
    for code in codes:
        if not _ICD10.fullmatch(code):
            return None
        if code not in unique:
            unique.append(code)
    joined = ";".join(unique)
    return joined if len(joined) <= MAX_DIAGNOSIS else None


def _fast_date(cell: Cell) -> dt.date | None:
    """2026-03-01 or a date object without the general parser (a million rows)."""
    if type(cell) is dt.date:
        return cell
    if isinstance(cell, str) and len(cell) == 10 and cell[4] == "-":
        try:
            return dt.date.fromisoformat(cell)
        except ValueError:
            return None
    return None
