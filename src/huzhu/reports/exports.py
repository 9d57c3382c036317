"""The statistics tables as an xlsx workbook (huzhu.lib.xlsx): one sheet per table, the page's
definitions on the first. The tables are aggregates (no names, ID or account numbers),
so the file is an ordinary download."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from huzhu.lib.xlsx import BOLD, MONEY, Sheet, Workbook
from huzhu.reports import tables
from huzhu.reports.figures import Statistics


def statistics_xlsx(stats: Statistics, keys: list[str] | None = None) -> bytes:
    out = io.BytesIO()
    book = Workbook(out)
    s = stats.selection
    chosen = [tables.BUILDERS[k](stats) for k in (keys or tables.TABLE_KEYS)]
    for table in [*chosen, tables.definitions()]:
        sheet = book.sheet(table.title[:31])
        for i, _ in enumerate(table.columns):
            sheet.widths(i, i, 40 if i == 1 and table.key == "definitions" else 18)
        # Names of schemes, unions and benefits are data: text only, never a formula.
        sheet.text(0, 0, f"{s.scheme.name} · {s.union.name} · {s.label} · {table.title}",
                   BOLD)
        sheet.header(table.columns, row=1, style=BOLD, freeze=False)
        for r, row in enumerate(table.rows, start=2):
            for i, value in enumerate(row):
                _cell(sheet, r, i, value, money=i in table.money)
    book.close()
    return out.getvalue()


def _cell(sheet: Sheet, r: int, col: int, value: Any, *, money: bool) -> None:
    if value is None:
        sheet.text(r, col, "—")
    elif money:
        sheet.amount(r, col, value, MONEY)  # to the fen, shown with two places
    elif isinstance(value, Decimal | int) and not isinstance(value, bool):
        sheet.number(r, col, value)  # a rate or a count: its digits as they are
    else:
        sheet.text(r, col, str(value))
