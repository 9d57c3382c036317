"""The members app's part of ``huzhu manage housekeeping``: export files."""

from __future__ import annotations


def sweep() -> dict[str, int]:
    from huzhu.members.export_jobs import sweep as sweep_exports

    return sweep_exports()
