"""The work queue's list as an xlsx file: exactly the claims the filter finds, in
Chinese, for a reviewer's or a finance officer's own sheet.

Text cells are written as text (formulas, numbers and links from strings off), and a
text that begins with "=", "+", "-" or "@" gets a leading apostrophe, so that a name or
hospital typed "=…" stays what it says even when the sheet is saved again as CSV and
reopened. Amounts are numbers with two decimals (Excel adds them up); dates are text
(2026-03-10), as the pages write them.
"""

from __future__ import annotations

from typing import IO

import xlsxwriter
from django.db.models import QuerySet
from django.utils import timezone

from huzhu.claims.models import Claim
from huzhu.rules.money import to_fen

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = (("理赔编号", 16), ("会员姓名", 10), ("单位", 30), ("保障方案", 24),
           ("保障项目", 18), ("事件日期", 12), ("测算金额（元）", 14), ("核定金额（元）", 14),
           ("状态", 14), ("经办人", 12))
MONEY_COLUMNS = {6, 7}
MAX_ROWS = 100_000  # one file; a larger list is narrowed by the filter first
CHUNK = 2000
FORMULA_START = ("=", "+", "-", "@")


def too_many(claims: QuerySet[Claim]) -> int | None:
    """How many claims the filter finds, when more than one file takes (None: it fits)."""
    n = claims.order_by().count()
    return n if n > MAX_ROWS else None


def text(value: object) -> str:
    """A cell's text; one that Excel would read as a formula is prefixed with '."""
    s = "" if value is None else str(value)
    return "'" + s if s.startswith(FORMULA_START) else s


def row(claim: Claim) -> list[object]:
    return [claim.number, claim.member.name, claim.member.unit.name, claim.scheme.name,
            claim.benefit_name, f"{claim.event_date:%Y-%m-%d}", claim.computed, claim.final,
            claim.get_state_display(), str(claim.filed_by) if claim.filed_by_id else "系统"]


def write_xlsx(claims: QuerySet[Claim], target: IO[bytes], described: str) -> int:
    """Write the claims of ``claims`` to ``target``, oldest first; return how many."""
    book = xlsxwriter.Workbook(target, {"constant_memory": True, "in_memory": True,
                                        "strings_to_formulas": False,
                                        "strings_to_numbers": False, "strings_to_urls": False})
    sheet = book.add_worksheet("理赔清单")
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    money = book.add_format({"num_format": "#,##0.00"})
    for col, (title, width) in enumerate(HEADERS):
        sheet.set_column(col, col, width)
        sheet.write_string(0, col, title, header)
    sheet.freeze_panes(1, 0)
    n = 0
    qs = claims.select_related("member__unit", "scheme", "filed_by").order_by("pk")
    for n, claim in enumerate(qs.iterator(chunk_size=CHUNK), start=1):
        for col, value in enumerate(row(claim)):
            if col in MONEY_COLUMNS:
                if value is not None:  # to the fen, as a number (whatever SQLite returned)
                    sheet.write_number(n, col, to_fen(value), money)
                else:
                    sheet.write_blank(n, col, None)
            else:
                sheet.write_string(n, col, text(value))
    about = book.add_worksheet("说明")
    about.set_column(0, 0, 12)
    about.set_column(1, 1, 60)
    for r, (name, value) in enumerate((
            ("筛选条件", described.strip("（）") or "全部"), ("理赔笔数", f"{n:,}"),
            ("导出时间", f"{timezone.localtime():%Y-%m-%d %H:%M:%S}"))):
        about.write_string(r, 0, name, header)
        about.write_string(r, 1, text(value))
    book.close()
    return n
