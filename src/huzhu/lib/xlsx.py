"""Every xlsx the app writes is made here: text stays text, amounts are exact numbers.

The writer itself lives in :mod:`huzhu.rules.xlsx_safe` because the engine's own report
(``huzhu simulate``, :mod:`huzhu.rules.simulate_xlsx`) needs it too, and huzhu.rules sits
below huzhu.lib (it may import neither Django nor this package). The apps import it from
here; see that module for what is written how and why.
"""

from __future__ import annotations

from huzhu.rules.xlsx_safe import (
    BOLD,
    COUNT,
    FORMULA_START,
    HEAD,
    MONEY,
    MONEY_PLAIN,
    SIGNED,
    TITLE,
    WRAP,
    Cell,
    Sheet,
    Style,
    Workbook,
    looks_like_formula,
)

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

__all__ = ["BOLD", "CONTENT_TYPE", "COUNT", "FORMULA_START", "HEAD", "MONEY", "MONEY_PLAIN",
           "SIGNED", "TITLE", "WRAP", "Cell", "Sheet", "Style", "Workbook",
           "looks_like_formula"]
