"""The policy a scheme runs: a shipped file or an uploaded one, validated by the engine's
loader and pinned by its content hash."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import yaml

from huzhu.rules.errors import PolicyError
from huzhu.rules.loader import _DecimalLoader, policy_from_dict, resolve_policy_path
from huzhu.rules.schema import Policy

MAX_POLICY_BYTES = 512 * 1024


def shipped_text(name: str) -> str:
    """The YAML text of a shipped policy (``changchun-2023``)."""
    return Path(resolve_policy_path(name)).read_text(encoding="utf-8")


@lru_cache(maxsize=64)
def policy_from_text(text: str, source: str = "<上传的政策文件>") -> Policy:
    """Validate YAML text into a policy; raises :class:`PolicyError` naming the YAML path."""
    if len(text.encode()) > MAX_POLICY_BYTES:
        raise PolicyError([(source, "", "政策文件过大（上限 512 KB）")])
    try:
        data = yaml.load(io.StringIO(text), Loader=_DecimalLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第{mark.line + 1}行" if mark is not None else ""
        raise PolicyError([(source, where, "不是有效的 YAML 文件")]) from None
    return policy_from_dict(data, source)


def content_hash(text: str) -> str:
    return policy_from_text(text).content_hash
