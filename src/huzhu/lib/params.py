"""Query-string parameters that name a record: a clear 400, never a 500.

A database id is a signed 64-bit integer; ``?unit=99999999999999999999999`` overflowed it
and answered 500, and ``?unit=abc`` was silently ignored (the list then showed rows the
clerk had not asked for). Both are now a 400 page that names the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated

from django.core.exceptions import BadRequest
from ninja import Path
from pydantic import Field

MAX_ID = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")

# The API's ids: out of range is a 422 from validation, never a database overflow.
ApiId = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
PageSize = Annotated[int, Field(ge=1, le=200)]


def parse_id(value: str | None) -> int | None:
    """An id from text, or None when it is not one (empty, malformed or out of range)."""
    if value is None or not _DIGITS.fullmatch(value):
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


def id_param(params: Mapping[str, str], name: str) -> int | None:
    """``params[name]`` as an id; absent or empty is None, anything else must be an id."""
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    number = parse_id(raw)
    if number is None:
        raise BadRequest(f"参数 {name} 的值无效：应为正整数编号")
    return number


class IdConverter:
    """``<id:name>`` in URL patterns: 1 to 19 digits; anything larger is a 404."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValueError(value)  # Django answers 404 for a converter's ValueError
        return number

    def to_url(self, value: int) -> str:
        return str(value)
