"""Unified social credit codes (统一社会信用代码, GB 32100-2015).

18 characters from a 31-character alphabet without I, O, S, V and Z; the last is a
check character (weights 3^i mod 31). Some genuine codes issued before 2016 fail the
check, so a bad check character is a warning the user may confirm, not a refusal.
"""

from __future__ import annotations

from dataclasses import dataclass

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_WEIGHTS = [pow(3, i, 31) for i in range(17)]


class UsccError(ValueError):
    """A code that cannot be a USCC at all (length or characters)."""


@dataclass(frozen=True)
class Uscc:
    value: str
    check_ok: bool
    expected_check: str


def check_character(first17: str) -> str:
    total = sum(_VALUE[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def parse_uscc(raw: str) -> Uscc:
    """Normalise and check a USCC; raises :class:`UsccError` for malformed codes."""
    value = (raw or "").strip().replace(" ", "").upper()
    if not value:
        raise UsccError("统一社会信用代码不能为空")
    if len(value) != 18:
        raise UsccError(f"统一社会信用代码应为18位，实际为{len(value)}位")
    bad = sorted({c for c in value if c not in _VALUE})
    if bad:
        raise UsccError(f"统一社会信用代码含有不允许的字符：{''.join(bad)}（不使用 I、O、S、V、Z）")
    expected = check_character(value[:17])
    return Uscc(value=value, check_ok=value[17] == expected, expected_check=expected)


def make_uscc(first17: str) -> str:
    """Complete a 17-character prefix with its check character (demo data and tests)."""
    return first17 + check_character(first17)
