"""The audit log as an xlsx file for an auditor: exactly the filtered list, in Chinese.

Every cell is written as text through :mod:`huzhu.lib.xlsx`, so a summary or a file
name that begins with "=", "+", "-" or "@" stays what it says and never runs in Excel.
The rows are read a thousand at a time, newest first, as on the page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from django.db.models import QuerySet
from django.utils import timezone

from huzhu.audit import labels, objects
from huzhu.audit.forms import operator_label
from huzhu.audit.models import AuditEntry
from huzhu.lib.xlsx import HEAD, Workbook

HEADERS = (("时间", 20), ("操作人", 30), ("操作", 16), ("对象", 34), ("摘要", 60),
           ("变更内容", 60))
MAX_ROWS = 200_000  # an Excel sheet holds 1,048,576 rows; a year of a city fits
CHUNK = 1000


def too_many(qs: QuerySet[AuditEntry]) -> int | None:
    """The number of entries when it is more than one file takes (None: it fits)."""
    n = qs.order_by().count()
    return n if n > MAX_ROWS else None


def rows(qs: QuerySet[AuditEntry]) -> Iterator[list[str]]:
    """The cells of each entry, as the page shows them."""
    qs = qs.select_related("actor__union").order_by("-id")
    last: int | None = None
    while True:
        chunk = list((qs.filter(id__lt=last) if last is not None else qs)[:CHUNK])
        if not chunk:
            return
        refs = objects.describe(chunk)
        for e in chunk:
            ref = refs.get(e.id)
            changes = "；".join(f"{k}：{v}" for k, v in
                               labels.changes_text(e.changes, e.object_type))
            yield [f"{timezone.localtime(e.at):%Y-%m-%d %H:%M:%S}", operator_label(e.actor),
                   e.get_action_display(), ref.text if ref else "", e.summary, changes]
        last = chunk[-1].id


def write_xlsx(qs: QuerySet[AuditEntry], target: IO[bytes], described: str) -> int:
    """Write the entries of ``qs`` to ``target``; return how many."""
    workbook = Workbook(target)
    sheet = workbook.sheet("审计日志")
    sheet.header(HEADERS)
    n = 0
    for n, cells in enumerate(rows(qs), start=1):
        sheet.row(n, 0, cells)
    about = workbook.sheet("说明")
    about.widths(0, 0, 12)
    about.widths(1, 1, 60)
    for row, (name, text) in enumerate((
            ("筛选条件", described), ("记录条数", f"{n:,}"),
            ("导出时间", f"{timezone.localtime():%Y-%m-%d %H:%M:%S}"))):
        about.text(row, 0, name, HEAD)
        about.text(row, 1, text)
    workbook.close()
    return n
