"""Where policy files are: shipped names and paths (no YAML, no pydantic imported here,
so ``huzhu calc`` can find a cached plan without loading the policy's schema)."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from huzhu.rules.errors import PolicyError


def shipped_policy_names() -> list[str]:
    """Names of the policies shipped in ``huzhu/policies`` (without ``.yaml``)."""
    folder = resources.files("huzhu") / "policies"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def shipped_reform_names() -> list[str]:
    """Names of the sample reforms shipped in ``huzhu/policies/reforms``."""
    folder = resources.files("huzhu") / "policies" / "reforms"
    if not folder.is_dir():
        return []
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def resolve_policy_path(name_or_path: str | os.PathLike[str]) -> Path:
    """A shipped name (``changchun-2023``, or a sample reform's name) or a path to a YAML
    file."""
    text = os.fspath(name_or_path)
    path = Path(text)
    if path.suffix in (".yaml", ".yml") or os.sep in text or path.exists():
        if not path.is_file():
            raise PolicyError([(text, "", "文件不存在")])
        return path
    shipped = resources.files("huzhu") / "policies" / f"{text}.yaml"
    if not shipped.is_file():
        shipped = resources.files("huzhu") / "policies" / "reforms" / f"{text}.yaml"
    if not shipped.is_file():
        names = "、".join(shipped_policy_names())
        raise PolicyError([(text, "", f"没有这个政策；已内置：{names}")])
    return Path(str(shipped))
