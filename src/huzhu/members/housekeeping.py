"""The members app's part of ``huzhu manage housekeeping``: export files."""

from __future__ import annotations

from huzhu.members.export_jobs import sweep as sweep_exports


def sweep() -> dict[str, int]:
    return sweep_exports()
