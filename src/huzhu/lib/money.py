"""The money column: :class:`MoneyField`, a ``DecimalField`` of 14 digits and 2 places.

It replaces the ``MONEY = {...}`` constants and ``**MONEY`` spreads of every app. It
deconstructs as the plain ``DecimalField`` it stores, so migrations written before it
stay valid and ``makemigrations`` sees no change.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from huzhu.rules.money import DECIMAL_PLACES, MAX_DIGITS


class MoneyField(models.DecimalField):
    description = "金额（元，两位小数）"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", MAX_DIGITS)
        kwargs.setdefault("decimal_places", DECIMAL_PLACES)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, list[Any], dict[str, Any]]:
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DecimalField", args, kwargs
