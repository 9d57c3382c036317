"""The reports' share of ``huzhu manage housekeeping`` (every minute under ``huzhu serve``):
record the payouts paid since the last time, so the statistics stay current, and compute
the usual pages ahead (:mod:`huzhu.reports.precompute`)."""

from __future__ import annotations

from huzhu.reports import paid, precompute


def sweep() -> dict[str, int]:
    return {"统计新记录的给付": paid.refresh(), "统计预先计算的页面": precompute.precompute()}
