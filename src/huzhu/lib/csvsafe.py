"""CSV files the app writes: a text cell never starts a formula when Excel opens the file.

CSV has no cell types: Excel reads ``=HYPERLINK(...)``, ``+1``, ``-1+2`` or ``@SUM(A1)``
in a field as a formula. Following OWASP's advice on CSV injection, a text that starts
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is written with a leading
apostrophe (``'=HYPERLINK(...)``): Excel then shows the text. Amounts are passed as
Decimal and written as plain numbers with two places (``-12.50`` stays a number); counts
as int. The same start characters as the xlsx writer (:mod:`huzhu.lib.xlsx`).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Protocol

from huzhu.rules.money import yuan
from huzhu.rules.xlsx_safe import looks_like_formula

__all__ = ["SafeWriter", "cell", "writer"]


class _Writable(Protocol):
    def write(self, s: str, /) -> Any: ...


def cell(value: object) -> str:
    """One CSV field: text neutralised, a Decimal as 12345.60, None as empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if looks_like_formula(value) else value
    if isinstance(value, Decimal):
        return yuan(value, grouped=False)
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(f"不能写入 CSV 的值：{value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"不能写入 CSV 的值：{value!r}")


class SafeWriter:
    """``csv.writer`` whose rows go through :func:`cell`."""

    def __init__(self, handle: _Writable, **options: Any) -> None:
        self._writer = csv.writer(handle, **options)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(handle: _Writable, **options: Any) -> SafeWriter:
    """A CSV writer on ``handle`` (options as csv.writer's) that never writes a formula."""
    return SafeWriter(handle, **options)
