"""Mainland mobile numbers (11 digits, 1[3-9]x)."""

from __future__ import annotations

import re

_MOBILE = re.compile(r"1[3-9]\d{9}")


class PhoneError(ValueError):
    pass


def parse_mobile(raw: str) -> str:
    value = re.sub(r"[\s-]", "", raw or "")
    if value.startswith("+86"):
        value = value[3:]
    if not _MOBILE.fullmatch(value):
        raise PhoneError(f"手机号应为11位大陆手机号码，收到“{raw}”")
    return value
