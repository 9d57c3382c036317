"""Turn one spreadsheet cell into a Python value, or say in Chinese why it cannot be one.

Cells come from CSV as text and from Excel as text, numbers or dates; the converters
accept both, because clerks do not control how Excel typed a column.

A message may quote a cell only through :func:`quote`: a clerk who pasted ID numbers or
bank accounts into the wrong column must not find them copied into error messages, the
job's stored errors and the error report (a phone or date check used to repeat the cell).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from huzhu.imports.reading import Cell
from huzhu.rules import vocabulary
from huzhu.rules.money import FEN, yuan


class CellError(ValueError):
    """A cell value that cannot be used; the message is for the user."""


_DATE_SEPARATORS = re.compile(r"[./年月]")
# Six digits or more, also written in groups of four or more ("6222 0202 0011 2233",
# "6222-0202-…"), with an ID number's final X; a date's 2024-03-01 is left readable.
_DIGIT_RUN = re.compile(r"\d{4,}(?:[\s\-]+\d{4,})+[xX]?|\d{6,}[xX]?")
_MASK = re.compile(r"＊＊＊（\d+位）")
QUOTE_CHARS = 20
_EXCEL_EPOCH = dt.date(1899, 12, 30)



def _reading(words: dict[str, str], synonyms: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """What a clerk may write for each code: its word (:mod:`huzhu.rules.vocabulary`),
    the other words clerks use, and the code itself, in that order (the order a refusal
    lists them in)."""
    out: dict[str, str] = {}
    for code, word in words.items():
        for written in (word, *synonyms.get(code, ()), code):
            out[written] = code
    return out


STATUS_VALUES = _reading(vocabulary.STATUS, {"active": ("在岗",), "left": ("离职",)})
OCCUPATION_VALUES = _reading(vocabulary.OCCUPATION,
                             {"medical": ("医务", "医护人员"), "cdc": ("疾控",),
                              "other": ("其它",)})
YES_VALUES = {"是", "确认", "yes", "y", "true", "1", "√"}
NO_VALUES = {"", "否", "no", "n", "false", "0"}


def quote(cell: Cell) -> str:
    """The cell in “quotes” as a message may show it: every run of six digits or more
    masked (“＊＊＊（18位）”, so the clerk still sees its length), cut after a few words."""
    raw = text(cell)
    masked = _DIGIT_RUN.sub(lambda m: f"＊＊＊（{sum(c.isalnum() for c in m.group())}位）", raw)
    if len(masked) > QUOTE_CHARS:
        cut = QUOTE_CHARS
        for token in _MASK.finditer(masked):  # never cut a mask in two
            if token.start() < cut < token.end():
                cut = token.start()
        masked = masked[:cut] + "……"
    return f"“{masked}”"


def text(cell: Cell) -> str:
    """The cell as trimmed text; whole numbers lose Excel's trailing ".0"."""
    if cell is None:
        return ""
    if isinstance(cell, str):
        return cell.strip()
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def digits_text(cell: Cell, what: str) -> str:
    """A long digit string (ID number, bank account) that Excel must have kept as text.

    Excel stores numbers as doubles: beyond 15 digits the tail is already lost, so a
    numeric cell cannot be trusted and the clerk must retype it as text.
    """
    if isinstance(cell, float | int) and not isinstance(cell, bool):
        if abs(cell) >= 1e15:
            raise CellError(
                f"{what}在 Excel 中被存成了数字，15位以后的数字已丢失；"
                f"请把该列设为“文本”格式后重新录入"
            )
        return text(cell)
    return text(cell).replace(" ", "")


def parse_date(cell: Cell, what: str) -> dt.date:
    if isinstance(cell, dt.datetime):
        return cell.date()
    if isinstance(cell, dt.date):
        return cell
    if isinstance(cell, float | int) and not isinstance(cell, bool):
        # An Excel serial date that reached us as a plain number.
        if 1 <= cell < 2958466:
            return _EXCEL_EPOCH + dt.timedelta(days=int(cell))
        raise CellError(f"{what}{quote(cell)}不是有效日期")
    raw = text(cell)
    value = _DATE_SEPARATORS.sub("-", raw.rstrip("日").split(" ")[0].split("T")[0])
    try:
        if value.isdigit() and len(value) == 8:
            return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
        year, month, day = (int(p) for p in value.split("-"))
        return dt.date(year, month, day)
    except ValueError:
        raise CellError(
            f"{what}{quote(raw)}不是有效日期，请写成 2024-03-01 这样的格式"
        ) from None


ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("999999999999.99")  # DecimalField(max_digits=14, decimal_places=2)
_AMOUNT_DECORATION = re.compile(r"[,，\s¥￥元]")


def parse_amount(cell: Cell, what: str) -> Decimal:
    """Money to the fen as a ``Decimal`` (never through float arithmetic): "1,234.5",
    "￥1234.50" and Excel's numbers are accepted; more than two decimal places, NaN or an
    amount past 999,999,999,999.99 are refused. The sign is kept: callers decide
    whether a negative amount is allowed."""
    if isinstance(cell, bool):
        raise CellError(f"{what}{quote(cell)}不是有效金额")
    if isinstance(cell, Decimal):
        value = cell
    elif isinstance(cell, int):
        value = Decimal(cell)
    elif isinstance(cell, float):
        # Excel stores money as a double; its shortest repr is what Excel shows. A sum
        # Excel computed may be off by a hair (0.1 + 0.2): that is still the fen shown.
        rounded = round(cell, 2)
        value = Decimal(repr(rounded if abs(cell - rounded) < 1e-6 else cell))
    else:
        raw = text(cell)
        try:
            value = Decimal(raw)
        except InvalidOperation:
            try:
                value = Decimal(_AMOUNT_DECORATION.sub("", raw))
            except InvalidOperation:
                raise CellError(f"{what}{quote(raw)}不是有效金额") from None
    if not value.is_finite():
        raise CellError(f"{what}{quote(cell)}不是有效金额")
    if abs(value) > MAX_AMOUNT:
        raise CellError(f"{what}超过上限（{yuan(MAX_AMOUNT)}）")
    fen = value.quantize(FEN)
    if fen != value:
        raise CellError(f"{what}{quote(cell)}最多保留两位小数（到分）")
    return fen if fen else ZERO  # never "-0.00"


def parse_choice(cell: Cell, what: str, values: dict[str, str]) -> str:
    raw = text(cell)
    try:
        return values[raw.lower()]
    except KeyError:
        allowed = "、".join(k for k in values if not k.isascii())
        raise CellError(f"{what}{quote(raw)}无法识别，应为：{allowed}") from None


def parse_yes(cell: Cell, what: str) -> bool:
    raw = text(cell).lower()
    if raw in YES_VALUES:
        return True
    if raw in NO_VALUES:
        return False
    raise CellError(f"{what}{quote(cell)}无法识别，请填“是”或留空")
