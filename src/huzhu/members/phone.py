"""Mainland mobile numbers (11 digits, 1[3-9]x)."""

from __future__ import annotations

import re

_MOBILE = re.compile(r"1[3-9]\d{9}")


class PhoneError(ValueError):
    pass


def parse_mobile(raw: str) -> str:
    """The 11 digits; the error says what is wrong without repeating the input, which
    may be someone's ID number typed into the wrong column."""
    value = re.sub(r"[\s-]", "", raw or "")
    if value.startswith("+86"):
        value = value[3:]
    if not _MOBILE.fullmatch(value):
        raise PhoneError(f"手机号应为11位大陆手机号码，{_what_it_is(value)}")
    return value


def _what_it_is(value: str) -> str:
    if not value.isdigit():
        return "填写的内容含有数字以外的字符"
    if len(value) != 11:
        return f"填写的是{len(value)}位数字"
    return "填写的号码不是以13至19开头"
