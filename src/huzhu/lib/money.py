"""The money column: :class:`MoneyField`, a ``DecimalField`` of 14 digits and 2 places;
and its totals: :class:`MoneySum` (exact on SQLite, where a plain ``Sum`` is a float).

It replaces the ``MONEY = {...}`` constants and ``**MONEY`` spreads of every app. It
deconstructs as the plain ``DecimalField`` it stores, so migrations written before it
stay valid and ``makemigrations`` sees no change.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Sum

from huzhu.rules.money import DECIMAL_PLACES, MAX_DIGITS, as_decimal, to_fen

if TYPE_CHECKING:
    # django-stubs makes fields generic over their set and get types; the plugin fills in
    # Any with DecimalField's own (Decimal, optional when null=True). Django's Field has no
    # __class_getitem__, so the subscript exists for the type checker only.
    _DecimalField = models.DecimalField[Any, Any]
else:
    _DecimalField = models.DecimalField


class MoneyField(_DecimalField):
    description = "金额（元，两位小数）"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", MAX_DIGITS)
        kwargs.setdefault("decimal_places", DECIMAL_PLACES)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, Sequence[Any], dict[str, Any]]:
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DecimalField", args, kwargs


# ---------------------------------------------------------------- sums, exact on SQLite
#
# SQLite has no decimal type: a money column holds INTEGER (880.00 is stored as 880) or
# REAL (0.01), and SUM adds them as floats, which Django reads back with up to 15
# significant digits ("1196623.97000000", "0.0100000000000000", or 1196623.9700000002
# after enough additions). Every money total therefore adds whole fen: each value is
# rounded to its fen (exact: a REAL within 14 digits is within a millionth of a fen of
# it), the fen are summed as 64-bit integers (exact), and the total goes back to yuan.


class MoneyTotalField(_DecimalField):
    """The output of :class:`MoneySum`: a total read back as a Decimal of two places."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 18)
        kwargs.setdefault("decimal_places", DECIMAL_PLACES)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Decimal | None:
        # SQLite's converter has made the quotient a Decimal of 15 significant digits,
        # which is the exact total up to 9,999,999,999,999.99 (the whole fen sum is exact,
        # and a float is far nearer to it than a fen): the fen are its two places.
        return None if value is None else to_fen(value)


class MoneySum(Sum):
    """``Sum`` of a money column or expression, exact on every database: use it for
    every money total (``MoneySum("amount")``, ``MoneySum("amount", filter=Q(...))``).
    PostgreSQL sums ``numeric`` exactly; SQLite sums whole fen."""

    def __init__(self, *expressions: Any, **extra: Any) -> None:
        extra.setdefault("output_field", MoneyTotalField())
        super().__init__(*expressions, **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, Any]:
        # The division stays outside the aggregate, after its FILTER (WHERE ...) clause;
        # the cast gives the total NUMERIC affinity, as Django's own decimal expressions
        # on SQLite, so that it compares with an amount (HAVING total > '100.00').
        fen = self.copy()
        fen.template = ("%(function)s(%(distinct)s"
                        "CAST(ROUND((%(expressions)s) * 100) AS INTEGER))")
        sql, params = super(MoneySum, fen).as_sql(compiler, connection, **extra_context)
        return f"CAST(({sql}) / 100.0 AS NUMERIC)", params


def sum_fen_sql(expression: str, vendor: str) -> str:
    """SQL for the exact total of a money expression in fen, for hand-written queries:
    read the value with :func:`from_fen`. SQLite: integer fen; PostgreSQL: ``numeric``."""
    if vendor == "sqlite":
        return f"SUM(CAST(ROUND(({expression}) * 100) AS INTEGER))"
    return f"SUM(({expression}) * 100)"


def from_fen(value: object) -> Decimal:
    """A total of :func:`sum_fen_sql` (an int, a Decimal, or None for no rows) in yuan."""
    if value is None:
        return Decimal("0.00")
    return to_fen(as_decimal(value).scaleb(-2))
