"""A readable summary of a policy (``huzhu policy check``), printed with rich."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from huzhu.rules.schema import Benefit, Policy

_STATUS = {"active": "在职", "retired": "退休", "left": "离会"}


def _marks(item: object) -> str:
    """``（示例数值）`` for an illustrative parameter; its source is listed separately."""
    return "（示例数值，待核实）" if getattr(item, "illustrative", False) else ""


def eligibility_lines(b: Benefit) -> list[str]:
    e = b.eligibility
    lines = []
    if e.status:
        lines.append("状态：" + "、".join(_STATUS[s] for s in e.status))
    if e.age:
        lines.append(f"年龄：{e.age.min if e.age.min is not None else '不限'}–"
                     f"{e.age.max if e.age.max is not None else '不限'} 周岁（含）")
    if e.gender:
        lines.append("性别：" + "、".join({"M": "男", "F": "女"}[g] for g in e.gender))
    if e.occupation:
        lines.append("职业：" + "、".join(e.occupation))
    if e.window:
        lines.append(f"期间：{e.window.start or '不限'} 至 {e.window.end or '不限'}（含）")
    if e.enrolment:
        lines.append("须在参保互助期内")
    if e.waiting:
        w = e.waiting
        text = f"等待期：首次参保后 {w.no_pay_days} 天内不给付"
        if w.reduced_days:
            text += f"，{w.reduced_days} 天内按 {(w.reduced_rate * 100).normalize():f}% 给付"
        lines.append(text + _marks(w))
    if e.relation:
        lines.append("亲属关系：" + "、".join(e.relation))
    if e.co_resident:
        lines.append("须共同生活")
    if e.work_related is False:
        lines.append("非工伤")
    if e.on_duty:
        lines.append("须因公")
    if e.diagnosis is not None:
        lines.append("诊断：" + "、".join(e.diagnosis))
    for v in e.diagnosis_versions or []:
        lines.append(f"诊断（{v.effective_from} 起）：" + "、".join(v.codes) + _marks(v))
    if e.requires is not None:
        lines.append(f"前置：本人须先有 {e.requires.benefit} 事件（日期不晚于本事件）")
    if e.required:
        lines.append("必填：" + "、".join(e.required))
    return lines or ["无条件"]


def formula_lines(b: Benefit) -> list[str]:
    lines = []
    for f in b.versions:
        prefix = f"[{f.effective_from} 起] " if f.effective_from else ""
        first, *rest = f.describe(b.effective_base(f))
        lines += [prefix + first + _marks(f), *rest]
    return lines


def cap_lines(b: Benefit) -> list[str]:
    lines = []
    for c in b.caps:
        unit = {"money": "元", "times": "次", "days": "天"}[c.measure]
        text = f"{c.cap_code}：{c.limit} {unit}"
        if c.unless_outcome:
            text += f"（{'、'.join(c.unless_outcome)} 除外）"
        lines.append(text + _marks(c))
    return lines or ["无"]


def print_policy(policy: Policy, console: Console | None = None) -> None:
    if console is None:
        console = Console()
        if not console.is_terminal:  # piped or captured: do not squeeze Chinese text
            console = Console(width=200)
    console.print(f"[bold]{policy.name}[/bold]  ({policy.code} 版本 {policy.version})")
    if policy.issuer:
        console.print(f"发布：{policy.issuer}")
    if policy.premium_per_year is not None:
        console.print(f"会费：每人每年 {policy.premium_per_year} 元")
    if policy.source:
        console.print(f"依据：{policy.source}")
    console.print(f"内容哈希：{policy.content_hash}")
    table = Table(show_lines=True)
    for title in ("项目", "名称", "保障条件", "计算方法", "上限（按顺序适用）"):
        table.add_column(title)
    for b in policy.benefits:
        name = f"{b.name}\n({b.kind})" + ("\n示例数值，待核实" if b.illustrative else "")
        table.add_row(b.code, name, "\n".join(eligibility_lines(b)),
                      "\n".join(formula_lines(b)), "\n".join(cap_lines(b)))
    console.print(table)
    rows = source_rows(policy)
    if rows:
        sources = Table(title="依据（source）与示例数值（illustrative）")
        for title in ("项目", "规则", "依据", "示例数值"):
            sources.add_column(title)
        for row in rows:
            sources.add_row(*row)
        console.print(sources)
    console.print("[green]校验通过[/green]")


def source_rows(policy: Policy) -> list[tuple[str, str, str, str]]:
    """(benefit, rule, source, 是/否) for every benefit and parameter that states a
    source or is marked illustrative (the policy file as the law's mirror)."""
    out = []
    for b in policy.benefits:
        items: list[tuple[str, object]] = [("项目", b), ("保障条件", b.eligibility)]
        if b.eligibility.waiting is not None:
            items.append(("等待期", b.eligibility.waiting))
        if b.eligibility.requires is not None:
            items.append(("前置项目", b.eligibility.requires))
        items += [(f"诊断（{v.effective_from} 起）", v)
                  for v in b.eligibility.diagnosis_versions or []]
        items += [(f"公式（{f.effective_from or '最初'} 起）" if len(b.versions) > 1 else "公式",
                   f) for f in b.versions]
        items += [(f"上限 {c.cap_code}", c) for c in b.caps]
        for label, item in items:
            source = getattr(item, "source", None)
            marked = getattr(item, "illustrative", False)
            if source or marked:
                out.append((b.code, label, source or "", "是" if marked else ""))
    return out
