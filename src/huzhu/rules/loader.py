"""Loading policy files: YAML → validated :class:`~huzhu.rules.schema.Policy`.

YAML floats are read as ``Decimal`` straight from their text, so ``0.015`` never passes
through a binary float on its way to a rate.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from huzhu.rules.errors import PolicyError
from huzhu.rules.overlay import apply_overlay, is_overlay
from huzhu.rules.paths import resolve_policy_path, shipped_policy_names, shipped_reform_names
from huzhu.rules.schema import FORMULA_KINDS, PathError, Policy

__all__ = ["load_overlay", "load_policy", "load_reform", "policy_from_dict",
           "resolve_policy_path", "shipped_policy_names", "shipped_reform_names"]

_MESSAGES = {
    "extra_forbidden": "未知的键（拼写错误？）",
    "missing": "缺少必填项",
}


class _DecimalLoader(yaml.SafeLoader):
    """SafeLoader whose floats are Decimals."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal:
    return Decimal(loader.construct_scalar(node).replace("_", ""))


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def load_policy(name_or_path: str | os.PathLike[str]) -> Policy:
    """Load and validate a shipped policy by name or a policy file by path. A reform
    overlay (a file with ``reform_of``) is applied to the policy it names."""
    return load_reform(name_or_path)


def load_reform(name_or_path: str | os.PathLike[str], base: Policy | None = None) -> Policy:
    """A policy file, or a reform overlay applied to ``base`` (default: the policy the
    overlay names in ``reform_of``). A whole policy file ignores ``base``."""
    path, data = _read_yaml(name_or_path)
    if is_overlay(data):
        return load_overlay(data, source=str(path), base=base)
    return policy_from_dict(data, source=str(path))


def load_overlay(data: dict[str, Any], source: str, base: Policy | None = None) -> Policy:
    """Validate an overlay: its base is ``base`` if given (it must have the code the
    overlay names), else the policy ``reform_of`` names."""
    named = str(data["reform_of"])
    if base is None:
        here = Path(source).parent
        candidate = here / named
        base = load_policy(candidate if candidate.suffix in (".yaml", ".yml")
                           and candidate.is_file() else named)
    elif Path(named).stem != base.code and named != base.code:
        raise PolicyError([(source, "reform_of",
                            f"改革方案基于 {named}，而给出的原方案是 {base.code}")])
    return policy_from_dict(apply_overlay(base, data, source), source=source)


def _read_yaml(name_or_path: str | os.PathLike[str]) -> tuple[Path, Any]:
    path = resolve_policy_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError([(str(path), "", f"无法读取：{exc}")]) from None
    try:
        data = yaml.load(text, Loader=_DecimalLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyError([(str(path), where, f"YAML 语法错误：{problem}")]) from None
    return path, data


def policy_from_dict(data: Any, source: str = "<dict>") -> Policy:
    """Validate a policy given as plain data (as YAML would load it)."""
    if not isinstance(data, dict):
        raise PolicyError([(source, "", "政策文件的顶层应是一个映射（键: 值）")])
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(
            [(source, _yaml_path(_loc(err)), _message(err)) for err in exc.errors()]
        ) from None


def _loc(err: ErrorDetails) -> tuple[Any, ...]:
    # A bad formula kind is reported at the formula; point at its `kind` key instead.
    if err.get("type") in ("union_tag_invalid", "union_tag_not_found"):
        return (*err["loc"], "kind")
    # A check run by an enclosing object names the key below it that is wrong.
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, PathError):
        return (*err["loc"], *cause.path)
    return tuple(err["loc"])


def _yaml_path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for i, item in enumerate(loc):
        if isinstance(item, int):
            parts.append(f"[{item}]")
            continue
        # Discriminated unions put the tag ("bands") into the location; the YAML has no
        # such level, so it is dropped to give the path as written in the file.
        prev = loc[i - 1] if i else None
        if item in FORMULA_KINDS and (prev in ("formula",) or isinstance(prev, int)) and (
            "formula" in loc[:i] or "formulas" in loc[:i]
        ):
            continue
        if item.startswith(("function-", "constrained-")):
            continue
        parts.append(("." if parts else "") + item)
    return "".join(parts)


def _message(err: ErrorDetails) -> str:
    kind = err.get("type", "")
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    msg = str(err.get("msg", ""))
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"取值 {err.get('input')!r} 无效，应为 {expected}"
    if kind == "union_tag_invalid":
        return f"未知的公式类型 {err.get('input')!r}，应为 {'、'.join(FORMULA_KINDS)}"
    if kind.endswith(("_parsing", "_type")):
        return f"类型错误：{msg}（实际值 {err.get('input')!r}）"
    return msg
