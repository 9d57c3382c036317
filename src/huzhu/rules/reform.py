"""Reforms (what-if policies): overlay files, and what changed between two policies.

A reform is either a whole policy file, or a small overlay that names its base and
changes some parameters::

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
The result is validated like any policy file; errors name the reform file. An overlay is
a policy file too: :func:`huzhu.rules.load_policy` reads it, so ``huzhu calc`` and
``huzhu policy check`` take it as they take its base.

:func:`describe_changes` lists, parameter by parameter and in Chinese, what differs
between two policies (the first table of ``huzhu simulate``).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from huzhu.rules.errors import PolicyError
from huzhu.rules.schema import Cap, Policy, money_label, percent_label

OVERLAY_KEYS = {"reform_of", "code", "name", "version", "issuer", "description", "source",
                "changes"}
CHANGE_KINDS = ("set", "add_version", "add_benefit", "remove_benefit")


def is_overlay(data: Any) -> bool:
    return isinstance(data, dict) and "reform_of" in data


def apply_overlay(base: Policy, data: dict, source: str) -> dict:
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


def _apply(data: dict, change: Any) -> None:
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


def _add_version(data: dict, spec: Any) -> None:
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


def _pick(items: list, key: str | int) -> Any:
    if isinstance(key, int):
        if not -len(items) <= key < len(items):
            raise IndexError(f"第 {key} 项不存在（共 {len(items)} 项）")
        return items[key]
    for item in items:
        if isinstance(item, dict) and _code_of(item) == key:
            return item
    raise KeyError(f"没有代码为 {key!r} 的项")


def _code_of(item: dict) -> str | None:
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


# ---------------------------------------------------------------- what changed


@dataclass(frozen=True)
class ParameterChange:
    """One parameter that differs between two policies."""

    path: str
    """Where, as a YAML path with benefits named by code: ``benefits[hospital].caps[0].amount``."""
    label: str
    """The same in Chinese: ``住院医疗补贴（hospital）· 上限 cap_per_year · 金额``."""
    before: str
    after: str
    """Both values as Chinese text (``50000.00 元``, ``10%``, ``（无）``)."""
    benefit: str | None = None

    @property
    def text(self) -> str:
        return f"{self.label}：{self.before} → {self.after}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "text": self.text}


FIELD_NAMES: dict[str, str] = {
    "threshold": "起付标准", "deductible": "免赔额", "rate": "比例", "amount": "金额",
    "bands": "档次表", "above": "下限", "upto": "上限", "mode": "计算方式",
    "from_day": "自第几天起给付", "max_days": "每次最多天数", "death": "身故",
    "disability": "伤残等级表", "fracture": "骨折", "major": "主要部位", "other": "其他部位",
    "grades": "等级表", "grade": "等级", "times": "次数", "days": "天数", "per": "统计对象",
    "period": "统计期间", "unless_outcome": "除外情形", "status": "会员状态", "age": "年龄",
    "min": "下限", "max": "上限", "gender": "性别", "occupation": "职业", "window": "保障期间",
    "start": "开始日期", "end": "结束日期", "enrolment": "须在参保互助期内", "waiting": "等待期",
    "no_pay_days": "不给付天数", "reduced_days": "减额给付截止天数", "reduced_rate": "减额比例",
    "relation": "亲属关系", "co_resident": "须共同生活", "work_related": "工伤",
    "on_duty": "因公", "diagnosis": "诊断范围", "diagnosis_versions": "诊断范围（按日期）",
    "codes": "编码", "required": "必填信息", "requires": "前置项目", "benefit": "项目",
    "message": "说明文字", "source": "依据", "illustrative": "示例数值", "name": "名称",
    "kind": "类别", "description": "说明", "base": "计算基数", "effective_from": "生效日期",
    "premium_per_year": "每人每年会费", "issuer": "发布单位", "version": "版本",
    "eligibility": "保障条件", "formula": "公式", "caps": "上限", "code": "代码",
}
_MONEY_KEYS = {"threshold", "deductible", "amount", "above", "upto", "death", "major", "other",
               "premium_per_year"}
_RATE_KEYS = {"rate", "reduced_rate"}
_DAY_KEYS = {"days", "no_pay_days", "reduced_days", "max_days"}


def _show(key: str, value: Any) -> str:
    if value is None:
        return "（无）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if key in _RATE_KEYS and isinstance(value, Decimal):
        return percent_label(value)
    if key in _MONEY_KEYS and isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.01'))} 元"
    if key in _DAY_KEYS and isinstance(value, int):
        return f"{value} 天"
    if key == "times" and isinstance(value, int):
        return f"{value} 次"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return "、".join(str(v) for v in value) or "（空）"
    if isinstance(value, dict | list):
        return _compact(value)
    return str(value)


def _compact(value: Any) -> str:
    if isinstance(value, dict):
        parts = [f"{FIELD_NAMES.get(k, k)} {_show(k, v)}" for k, v in value.items()
                 if v not in (None, [], False) and k not in ("source", "illustrative")]
        return "，".join(parts) or "（空）"
    return "；".join(_compact(v) if isinstance(v, dict) else str(v) for v in value)


def describe_changes(before: Policy, after: Policy) -> list[ParameterChange]:
    """What differs between two policies, parameter by parameter, in Chinese; empty when
    their content is the same (names, versions and codes of the policies aside)."""
    out: list[ParameterChange] = []
    a = before.model_dump(mode="python", exclude_none=True)
    b = after.model_dump(mode="python", exclude_none=True)
    for key in ("premium_per_year", "issuer"):
        if a.get(key) != b.get(key):
            out.append(ParameterChange(key, FIELD_NAMES[key], _show(key, a.get(key)),
                                       _show(key, b.get(key))))
    old = {x["code"]: x for x in a["benefits"]}
    new = {x["code"]: x for x in b["benefits"]}
    for code in old:
        title = f"{old[code]['name']}（{code}）"
        if code not in new:
            out.append(ParameterChange(f"benefits[{code}]", title, "有", "删除该项目", code))
            continue
        _diff_benefit(old[code], new[code], f"benefits[{code}]", title, after.benefit(code), out)
    for code in new:
        if code not in old:
            out.append(ParameterChange(f"benefits[{code}]", f"{new[code]['name']}（{code}）",
                                       "（无）", "新增该项目：" + _benefit_summary(after, code),
                                       code))
    return out


def _benefit_summary(policy: Policy, code: str) -> str:
    b = policy.benefit(code)
    lines = [line.strip() for f in b.versions for line in f.describe(b.effective_base(f))]
    return "；".join(lines)


def _versions(benefit: dict) -> list[dict]:
    return [benefit["formula"]] if "formula" in benefit else list(benefit.get("formulas", []))


def _diff_benefit(a: dict, b: dict, path: str, title: str, model: Any,
                  out: list[ParameterChange]) -> None:
    code = model.code
    for key in sorted(set(a) | set(b), key=_field_order):
        if key in ("formula", "formulas", "caps", "code"):
            continue
        _diff(a.get(key), b.get(key), f"{path}.{key}", [title, FIELD_NAMES.get(key, key)],
              key, code, out)
    _diff_versions(_versions(a), _versions(b), path, title, model, out)
    _diff_caps(a.get("caps", []), b.get("caps", []), path, title, code, out)


def _field_order(key: str) -> tuple[int, str]:
    order = ["name", "kind", "eligibility", "base", "formula", "formulas", "caps"]
    return (order.index(key) if key in order else len(order), key)


def _diff_versions(a: list[dict], b: list[dict], path: str, title: str, model: Any,
                   out: list[ParameterChange]) -> None:
    """Versions are matched by their effective date (the first one: by position)."""
    code = model.code
    def key(i: int, f: dict) -> Any:
        return "first" if i == 0 and f.get("effective_from") is None else f.get("effective_from")

    old = {key(i, f): f for i, f in enumerate(a)}
    new = {key(i, f): f for i, f in enumerate(b)}
    single = len(a) == len(b) == 1
    for k, f in old.items():
        when = "公式" if single else f"公式（{'最初' if k == 'first' else k} 起）"
        if k not in new:
            if single:  # one version replaced by another with a different date
                g = next(iter(new.values()))
                _diff(f, g, f"{path}.formula", [title, when], "formula", code, out)
            else:
                out.append(ParameterChange(f"{path}.formulas[{k}]", f"{title} · {when}",
                                           _compact(f), "删除该版本", code))
            continue
        sub = f"{path}.formula" if single else f"{path}.formulas[{k}]"
        _diff(f, new[k], sub, [title, when], "formula", code, out)
    if single and set(old) != set(new):
        return
    for k, f in new.items():
        if k not in old:
            version = next(v for v in model.versions
                           if v.effective_from == f.get("effective_from"))
            lines = version.describe(model.effective_base(version))
            text = "；".join(line.strip() for line in lines)
            out.append(ParameterChange(f"{path}.formulas[{k}]",
                                       f"{title} · 新增公式版本（{k} 起）", "（无）", text, code))


def _diff_caps(a: list[dict], b: list[dict], path: str, title: str, code: str,
               out: list[ParameterChange]) -> None:
    old = {_code_of(c): c for c in a}
    new = {_code_of(c): c for c in b}
    for k, c in old.items():
        if k not in new:
            out.append(ParameterChange(f"{path}.caps[{k}]", f"{title} · 上限 {k}", _compact(c),
                                       "删除该上限", code))
        else:
            _diff(c, new[k], f"{path}.caps[{k}]", [title, f"上限 {k}"], "cap", code, out)
    for k, c in new.items():
        if k not in old:
            out.append(ParameterChange(f"{path}.caps[{k}]", f"{title} · 上限 {k}", "（无）",
                                       "新增：" + _compact(c), code))


def _diff(a: Any, b: Any, path: str, labels: list[str], key: str, code: str,
          out: list[ParameterChange]) -> None:
    if a == b:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=_field_order):
            _diff(a.get(k), b.get(k), f"{path}.{k}", [*labels, FIELD_NAMES.get(k, k)], k, code,
                  out)
        return
    if (isinstance(a, list) and isinstance(b, list) and len(a) == len(b)
            and all(isinstance(x, dict) for x in [*a, *b])):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _diff(x, y, f"{path}[{i}]", [*labels, _row_label(key, i, x)], key, code, out)
        return
    out.append(ParameterChange(path, " · ".join(labels), _show(key, a), _show(key, b), code))


def _row_label(key: str, i: int, row: dict) -> str:
    if key == "bands":
        upper = "+∞)" if row.get("upto") is None else f"{money_label(row['upto'])}]"
        return f"第 {i + 1} 档 ({money_label(row['above'])},{upper}"
    if "grade" in row:
        return f"{row['grade']} 级"
    return f"第 {i + 1} 项"


def load_overlay(data: dict, source: str, base: Policy | None = None) -> Policy:
    """Validate an overlay: its base is ``base`` if given (it must have the code the
    overlay names), else the policy ``reform_of`` names."""
    from huzhu.rules.loader import load_policy, policy_from_dict

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
