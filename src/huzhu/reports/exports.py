"""The statistics tables as an xlsx workbook (openpyxl): one sheet per table, the page's
definitions on the first. The tables are aggregates (no names, ID or account numbers),
so the file is an ordinary download."""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font

from huzhu.reports import tables
from huzhu.reports.figures import Statistics

MONEY_FORMAT = "#,##0.00"


def statistics_xlsx(stats: Statistics, keys: list[str] | None = None) -> bytes:
    book = Workbook()
    book.remove(book.active)
    s = stats.selection
    chosen = [tables.BUILDERS[k](stats) for k in (keys or tables.TABLE_KEYS)]
    for table in [*chosen, tables.definitions()]:
        sheet = book.create_sheet(table.title[:31])
        sheet.append([f"{s.scheme.name} · {s.union.name} · {s.label} · {table.title}"])
        sheet["A1"].font = Font(bold=True)
        sheet.append(table.columns)
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append([_cell(v) for v in row])
            for i in table.money:
                sheet.cell(sheet.max_row, i + 1).number_format = MONEY_FORMAT
        for i, _ in enumerate(table.columns):
            sheet.column_dimensions[chr(ord("A") + i)].width = 40 if i == 1 and \
                table.key == "definitions" else 18
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(value):
    # Decimals go in as numbers with two places (openpyxl writes Decimal as a number).
    if isinstance(value, Decimal):
        return value
    return "—" if value is None else value
