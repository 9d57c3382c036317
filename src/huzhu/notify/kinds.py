"""The kinds of notification (``coverage.renewal`` 续保提醒 …) and their Chinese labels.

Each app registers its own kinds when it loads (``AppConfig.ready``); the outbox refuses a
kind nobody registered, so that a typo cannot start a category of its own.
"""

from __future__ import annotations

import re

_CODE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+")
_LABELS: dict[str, str] = {}
UNKNOWN_LABEL = "其他通知"


def register_kind(code: str, label: str) -> None:
    """Make ``code`` (``app.what``, lower case) a kind of notification labelled ``label``.

    Registering the same pair again is harmless (apps load twice under some runners); the
    same code with another label is a programming error.
    """
    if not _CODE.fullmatch(code) or len(code) > 64:
        raise ValueError(f"通知类型编码应形如 coverage.renewal：{code!r}")
    if not label.strip():
        raise ValueError(f"通知类型 {code} 缺少中文名称")
    known = _LABELS.get(code)
    if known is not None and known != label:
        raise ValueError(f"通知类型 {code} 已登记为“{known}”")
    _LABELS[code] = label


def kind_label(code: str) -> str:
    """The Chinese label of ``code``; an unregistered code (an app since removed) reads
    as 其他通知 rather than as a code on a Chinese page."""
    return _LABELS.get(code, UNKNOWN_LABEL)


def is_registered(code: str) -> bool:
    return code in _LABELS


def registered() -> list[tuple[str, str]]:
    """(code, label) pairs, by label, for filters."""
    return sorted(_LABELS.items(), key=lambda pair: (pair[1], pair[0]))


def unregister_kind(code: str) -> None:
    """For tests that register a kind of their own."""
    _LABELS.pop(code, None)
