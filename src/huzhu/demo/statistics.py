"""Demo step: the statistics computed ahead, so that the first view of 统计 is fast.

The same work as ``huzhu manage housekeeping`` does every minute under ``huzhu serve``
(:func:`huzhu.reports.paid.refresh`, then :func:`huzhu.reports.precompute.precompute`),
for the demo's two years and for this year and last year (the statistics page opens on
this year): without it the first view after ``huzhu demo`` aggregates the payouts while
the person waits.
"""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from huzhu.demo.base import DemoContext, Step
from huzhu.lib.sql import is_postgresql
from huzhu.reports import paid, precompute


def years(ctx: DemoContext) -> list[int]:
    """The demo's two years and the two the statistics page offers first."""
    today = timezone.localdate().year
    return sorted({ctx.as_of.year - 1, ctx.as_of.year, today - 1, today})


def compute_ahead(ctx: DemoContext) -> int:
    ctx.progress.start("统计", 1)
    if is_postgresql():
        # The demo has just written its tables in bulk: without fresh statistics the
        # planner takes the new tables for empty and nests loops over thousands of rows
        # (a premiums sum took a minute). ANALYZE sees this transaction's own rows too.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    paid.refresh()
    computed = precompute.precompute(years(ctx), force=True)
    ctx.progress.advance()
    return computed


STEPS = [Step("statistics", "统计", compute_ahead)]
