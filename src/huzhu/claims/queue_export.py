"""The work queue's list as an xlsx file: exactly the claims the filter finds, in
Chinese, for a reviewer's or a finance officer's own sheet.

Written through :mod:`huzhu.lib.xlsx`: text cells are text (a name or unit typed "=…"
is shown as typed and, quote-prefixed, stays text even when edited in Excel); amounts
are numbers with two decimals (Excel adds them up); dates are text (2026-03-10), as the
pages write them.
"""

from __future__ import annotations

from typing import IO

from django.db.models import QuerySet
from django.utils import timezone

from huzhu.claims.models import Claim
from huzhu.lib.xlsx import HEAD, Workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = (("理赔编号", 16), ("会员姓名", 10), ("单位", 30), ("保障方案", 24),
           ("保障项目", 18), ("事件日期", 12), ("测算金额（元）", 14), ("核定金额（元）", 14),
           ("状态", 14), ("经办人", 12))
MONEY_COLUMNS = {6, 7}
MAX_ROWS = 100_000  # one file; a larger list is narrowed by the filter first
CHUNK = 2000


def too_many(claims: QuerySet[Claim]) -> int | None:
    """How many claims the filter finds, when more than one file takes (None: it fits)."""
    n = claims.order_by().count()
    return n if n > MAX_ROWS else None


def text(value: object) -> str:
    """A cell's text ("" for None)."""
    return "" if value is None else str(value)


def row(claim: Claim) -> list[object]:
    return [claim.number, claim.member.name, claim.member.unit.name, claim.scheme.name,
            claim.benefit_name, f"{claim.event_date:%Y-%m-%d}", claim.computed, claim.final,
            claim.get_state_display(), str(claim.filed_by) if claim.filed_by_id else "系统"]


def write_xlsx(claims: QuerySet[Claim], target: IO[bytes], described: str) -> int:
    """Write the claims of ``claims`` to ``target``, oldest first; return how many."""
    book = Workbook(target)
    sheet = book.sheet("理赔清单")
    sheet.header(HEADERS)
    n = 0
    qs = claims.select_related("member__unit", "scheme", "filed_by").order_by("pk")
    for n, claim in enumerate(qs.iterator(chunk_size=CHUNK), start=1):
        for col, value in enumerate(row(claim)):
            if col in MONEY_COLUMNS:
                sheet.amount(n, col, value)  # to the fen (whatever SQLite returned)
            else:
                sheet.text(n, col, text(value))
    about = book.sheet("说明")
    about.widths(0, 0, 12)
    about.widths(1, 1, 60)
    for r, (name, value) in enumerate((
            ("筛选条件", described.strip("（）") or "全部"), ("理赔笔数", f"{n:,}"),
            ("导出时间", f"{timezone.localtime():%Y-%m-%d %H:%M:%S}"))):
        about.text(r, 0, name, HEAD)
        about.text(r, 1, text(value))
    book.close()
    return n
