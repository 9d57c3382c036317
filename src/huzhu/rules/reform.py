"""Reforms (what-if policies): overlay files, and what changed between two policies.

A reform is either a whole policy file, or a small overlay that names its base and
changes some parameters (the format: :mod:`huzhu.rules.overlay`). The result is
validated like any policy file; errors name the reform file. An overlay is a policy file
too: :func:`huzhu.rules.load_policy` reads it, so ``huzhu calc`` and ``huzhu policy
check`` take it as they take its base.

:func:`describe_changes` lists, parameter by parameter and in Chinese, what differs
between two policies (the first table of ``huzhu simulate``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from huzhu.rules.loader import load_overlay
from huzhu.rules.money import as_decimal
from huzhu.rules.overlay import apply_overlay, code_of, is_overlay
from huzhu.rules.schema import Benefit, Policy, band_range_words, percent_label

# Overlays are read by the loader (an overlay is a policy file); their names stay
# importable from here, where reforms are described.
__all__ = ["FIELD_NAMES", "ParameterChange", "apply_overlay", "describe_changes",
           "is_overlay", "load_overlay"]

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


def _versions(benefit: dict[str, Any]) -> list[dict[str, Any]]:
    return [benefit["formula"]] if "formula" in benefit else list(benefit.get("formulas", []))


def _diff_benefit(a: dict[str, Any], b: dict[str, Any], path: str, title: str,
                  model: Benefit, out: list[ParameterChange]) -> None:
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


def _diff_versions(a: list[dict[str, Any]], b: list[dict[str, Any]], path: str, title: str,
                   model: Benefit, out: list[ParameterChange]) -> None:
    """Versions are matched by their effective date (the first one: by position)."""
    code = model.code
    def key(i: int, f: dict[str, Any]) -> Any:
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


def _diff_caps(a: list[dict[str, Any]], b: list[dict[str, Any]], path: str, title: str,
               code: str, out: list[ParameterChange]) -> None:
    old = {code_of(c): c for c in a}
    new = {code_of(c): c for c in b}
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


def _row_label(key: str, i: int, row: dict[str, Any]) -> str:
    if key == "bands":
        upto = None if row.get("upto") is None else as_decimal(row["upto"])
        return f"第 {i + 1} 档（{band_range_words(as_decimal(row['above']), upto)}）"
    if "grade" in row:
        return f"{row['grade']} 级"
    return f"第 {i + 1} 项"
