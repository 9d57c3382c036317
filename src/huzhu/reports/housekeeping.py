"""The reports' share of ``huzhu manage housekeeping`` (every minute under ``huzhu serve``):
record the payouts paid since the last time, so the statistics stay current."""

from __future__ import annotations


def sweep() -> dict[str, int]:
    from huzhu.reports import paid

    return {"统计新记录的给付": paid.refresh()}
