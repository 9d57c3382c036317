"""The money column: :class:`MoneyField`, a ``DecimalField`` of 14 digits and 2 places.

It replaces the ``MONEY = {...}`` constants and ``**MONEY`` spreads of every app. It
deconstructs as the plain ``DecimalField`` it stores, so migrations written before it
stay valid and ``makemigrations`` sees no change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db import models

from huzhu.rules.money import DECIMAL_PLACES, MAX_DIGITS

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
