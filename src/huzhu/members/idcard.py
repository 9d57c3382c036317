"""Resident identity card numbers (居民身份证号码, GB 11643-1999).

18 characters: 6-digit address code, 8-digit birth date, 3-digit sequence (odd for
men, even for women) and an ISO 7064 MOD 11-2 check character. Only the province
part of the address code is checked: abolished county codes stay valid for life.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]
_CHECK_CHARS = "10X98765432"

# Province-level codes of GB/T 2260, plus 71/81/82/83 (Taiwan, Hong Kong, Macao and
# the residence permits that use them) and 91 (foreigners' permanent residence, 2023).
PROVINCE_CODES = frozenset(
    {
        "11", "12", "13", "14", "15",
        "21", "22", "23",
        "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46",
        "50", "51", "52", "53", "54",
        "61", "62", "63", "64", "65",
        "71", "81", "82", "83", "91",
    }
)  # fmt: skip


class IdNumberError(ValueError):
    """A resident ID number that is not valid; the message is for the user (Chinese)."""


@dataclass(frozen=True)
class IdNumber:
    value: str
    birth_date: dt.date
    gender: str  # "M" or "F"


def check_character(first17: str) -> str:
    """The MOD 11-2 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def parse_id_number(raw: str, *, today: dt.date | None = None) -> IdNumber:
    """Validate and normalise an ID number; raises :class:`IdNumberError` with the reason.

    The reasons never quote digits of the number (nor the check character it should
    have): they reach error reports and pages shown to staff who may not know it.
    """
    value = (raw or "").strip().replace(" ", "").upper()
    if not value:
        raise IdNumberError("身份证号不能为空")
    if len(value) == 15 and value.isdigit():
        raise IdNumberError("这是15位旧身份证号，请提供18位身份证号")
    if len(value) != 18:
        raise IdNumberError(f"身份证号应为18位，实际为{len(value)}位")
    if not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        raise IdNumberError("身份证号前17位应为数字，最后一位为数字或X")
    if value[:2] not in PROVINCE_CODES:
        raise IdNumberError("身份证号前两位（省级地址码）不存在")
    try:
        birth = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise IdNumberError("身份证号第7至14位（出生日期）不是有效日期") from None
    today = today or dt.date.today()
    if birth > today or birth.year < 1900:
        raise IdNumberError("身份证号中的出生日期不合理（晚于今天或早于1900年）")
    expected = check_character(value[:17])
    if value[17] != expected:
        raise IdNumberError("身份证号校验位错误（最后一位与前17位不符），请核对号码")
    gender = "M" if int(value[16]) % 2 == 1 else "F"
    return IdNumber(value=value, birth_date=birth, gender=gender)


def make_id_number(address: str, birth: dt.date, sequence: int) -> str:
    """Compose a valid ID number (demo data and tests): sequence odd = male, even = female."""
    first17 = f"{address}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)
