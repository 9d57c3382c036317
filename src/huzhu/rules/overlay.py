"""Reform overlays: a small file that names a base policy and changes some parameters::

    reform_of: changchun-2023            # a shipped name, or a path from this file
    code: changchun-2023-higher-cap      # optional (default: <base>-reform)
    name: 长春住院补贴提标（示例）        # optional
    changes:
      - set: benefits[hospital].caps[0].amount      # a YAML path into the base
        to: 60000
      - set: benefits[hospital].formula.bands[cap].rate   # [code] picks by code
        to: "12%"
      - add_version:                     # a new dated version of a benefit's formula:
          benefit: hospital_allowance    # the latest version, from this date, changed
          effective_from: 2024-07-01
          set: {amount: 50}
      - add_benefit: {code: ..., name: ..., formula: ...}
      - remove_benefit: fire

Paths are written as in the policy file: keys joined by ``.``, list items by index
``[0]`` or, in ``benefits`` and ``caps``, by code ``[hospital]`` / ``[cap_per_year]``.

This module turns an overlay and its base into plain policy data; the loader
(:func:`huzhu.rules.loader.load_overlay`) finds the base and validates the result, so an
overlay is read wherever a policy file is.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from huzhu.rules.errors import PolicyError
from huzhu.rules.schema import Cap, Policy

OVERLAY_KEYS = {"reform_of", "code", "name", "version", "issuer", "description", "source",
                "changes"}
CHANGE_KINDS = ("set", "add_version", "add_benefit", "remove_benefit")


def is_overlay(data: Any) -> bool:
    return isinstance(data, dict) and "reform_of" in data


def apply_overlay(base: Policy, data: dict[str, Any], source: str) -> dict[str, Any]:
    """The policy data (not yet validated) that ``data`` makes of ``base``."""
    unknown = set(data) - OVERLAY_KEYS
    if unknown:
        raise PolicyError([(source, k, "未知的键（改革方案可用："
                            + "、".join(sorted(OVERLAY_KEYS)) + "）") for k in sorted(unknown)])
    out = base.model_dump(mode="python", exclude_none=True)
    out["code"] = data.get("code") or f"{base.code}-reform"
    out["name"] = data.get("name") or f"{base.name}（改革方案）"
    out["version"] = str(data.get("version") or f"{base.version}+reform")
    for key in ("issuer", "description", "source"):
        if data.get(key) is not None:
            out[key] = data[key]
    changes = data.get("changes") or []
    if not isinstance(changes, list):
        raise PolicyError([(source, "changes", "应为一个列表")])
    for i, change in enumerate(changes):
        try:
            _apply(out, change)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            message = exc.args[0] if exc.args else str(exc)
            raise PolicyError([(source, f"changes[{i}]", str(message))]) from None
    return out


def _apply(data: dict[str, Any], change: Any) -> None:
    if not isinstance(change, dict):
        raise ValueError("每项修改应是一个映射（set/add_version/add_benefit/remove_benefit）")
    kinds = [k for k in CHANGE_KINDS if k in change]
    if len(kinds) != 1:
        raise ValueError(f"每项修改须恰好给出 {'、'.join(CHANGE_KINDS)} 之一")
    kind = kinds[0]
    if kind == "set":
        if "to" not in change or set(change) != {"set", "to"}:
            raise ValueError("set 需要 to（新值），且不带别的键")
        _set_path(data, str(change["set"]), change["to"])
    elif kind == "add_benefit":
        benefit = change["add_benefit"]
        if not isinstance(benefit, dict) or "code" not in benefit:
            raise ValueError("add_benefit 应是一个带 code 的项目")
        if any(b["code"] == benefit["code"] for b in data["benefits"]):
            raise ValueError(f"项目 {benefit['code']} 已存在，请用 set 修改")
        data["benefits"].append(copy.deepcopy(benefit))
    elif kind == "remove_benefit":
        code = str(change["remove_benefit"])
        kept = [b for b in data["benefits"] if b["code"] != code]
        if len(kept) == len(data["benefits"]):
            raise ValueError(f"没有项目 {code}")
        data["benefits"] = kept
    else:
        _add_version(data, change["add_version"])


def _add_version(data: dict[str, Any], spec: Any) -> None:
    if not isinstance(spec, dict) or not {"benefit", "effective_from"} <= set(spec):
        raise ValueError("add_version 需要 benefit 与 effective_from（以及可选的 set）")
    extra = set(spec) - {"benefit", "effective_from", "set", "formula"}
    if extra:
        raise ValueError(f"add_version 有未知的键 {sorted(extra)}")
    benefit = _pick(data["benefits"], str(spec["benefit"]))
    versions = [benefit.pop("formula")] if "formula" in benefit else list(benefit["formulas"])
    new = copy.deepcopy(spec["formula"] if "formula" in spec else versions[-1])
    if "formula" not in spec:
        # The copied version's source described the old numbers, not these.
        new.pop("source", None)
        new.pop("illustrative", None)
    new["effective_from"] = spec["effective_from"]
    for path, value in (spec.get("set") or {}).items():
        _set_path(new, str(path), value)
    benefit["formulas"] = [*versions, new]


_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[([^\]]+)\]")


def _tokens(path: str) -> list[str | int]:
    out: list[str | int] = []
    pos = 0
    for m in _TOKEN.finditer(path):
        if path[pos:m.start()] not in ("", "."):
            raise ValueError(f"路径 {path!r} 写法有误")
        key, index = m.groups()
        if key is not None:
            out.append(key)
        else:
            index = index.strip()
            out.append(int(index) if index.lstrip("-").isdigit() else index)
        pos = m.end()
    if pos != len(path) or not out:
        raise ValueError(f"路径 {path!r} 写法有误")
    return out


def _pick(items: list[Any], key: str | int) -> Any:
    if isinstance(key, int):
        if not -len(items) <= key < len(items):
            raise IndexError(f"第 {key} 项不存在（共 {len(items)} 项）")
        return items[key]
    for item in items:
        if isinstance(item, dict) and code_of(item) == key:
            return item
    raise KeyError(f"没有代码为 {key!r} 的项")


def code_of(item: dict[str, Any]) -> str | None:
    """An item's code: its ``code``, or a cap's default code (None: it has none)."""
    if "code" in item:
        return str(item["code"])
    if "per" in item:  # a cap: its default code
        try:
            return Cap.model_validate(item).cap_code
        except ValueError:
            return None
    return None


def _set_path(data: Any, path: str, value: Any) -> None:
    tokens = _tokens(path)
    node = data
    for i, token in enumerate(tokens[:-1]):
        if isinstance(node, list):
            node = _pick(node, token)
        elif isinstance(node, dict):
            if token not in node:
                raise KeyError(f"路径 {path!r}：{'.'.join(map(str, tokens[:i + 1]))} 不存在")
            node = node[token]
        else:
            raise ValueError(f"路径 {path!r}：{token} 之前已到达一个值")
    last = tokens[-1]
    if isinstance(node, list):
        target = _pick(node, last)
        node[node.index(target)] = copy.deepcopy(value)
    elif isinstance(node, dict):
        # New keys are allowed (a threshold the base did not have); validation catches typos.
        node[last] = copy.deepcopy(value)
    else:
        raise ValueError(f"路径 {path!r} 不能修改")
