"""A readable summary of a policy (``huzhu policy check``), printed with rich."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from huzhu.rules.schema import (
    BandsFormula,
    Benefit,
    GradeTableFormula,
    LumpSumFormula,
    OutcomeFormula,
    PercentFormula,
    PerDayFormula,
    Policy,
)

_STATUS = {"active": "在职", "retired": "退休", "left": "离会"}
_MODE = {"bracket": "全额按所在档比例", "progressive": "分段累进"}


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
        lines.append(text)
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
        lines.append(f"诊断（{v.effective_from} 起）：" + "、".join(v.codes))
    if e.required:
        lines.append("必填：" + "、".join(e.required))
    return lines or ["无条件"]


def formula_lines(b: Benefit) -> list[str]:
    lines = []
    for f in b.versions:
        prefix = f"[{f.effective_from} 起] " if f.effective_from else ""
        if isinstance(f, BandsFormula):
            head = f"{prefix}按档（{_MODE[f.mode]}），基数 {b.effective_base(f)}"
            if f.threshold is not None:
                head += f"，超过 {f.threshold} 元才给付"
            if f.deductible is not None:
                head += f"，免赔 {f.deductible} 元"
            lines.append(head)
            lines += [f"  {band.label}：{(band.rate * 100).normalize():f}%" for band in f.bands]
        elif isinstance(f, PercentFormula):
            lines.append(f"{prefix}{b.effective_base(f)} 的 {(f.rate * 100).normalize():f}%")
        elif isinstance(f, PerDayFormula):
            text = f"{prefix}每天 {f.amount} 元，自第 {f.from_day} 天起"
            if f.max_days:
                text += f"，每次最多 {f.max_days} 天"
            lines.append(text)
        elif isinstance(f, LumpSumFormula):
            lines.append(f"{prefix}定额 {f.amount} 元")
        elif isinstance(f, GradeTableFormula):
            lines.append(f"{prefix}伤残等级表")
            lines += [f"  {row.grade} 级：{row.amount} 元" for row in f.grades]
        elif isinstance(f, OutcomeFormula):
            lines.append(f"{prefix}按伤害结果")
            if f.death is not None:
                lines.append(f"  身故：{f.death} 元")
            for row in f.disability or []:
                lines.append(f"  伤残 {row.grade} 级：{row.amount} 元")
            if f.fracture is not None:
                lines.append(f"  骨折：主要部位 {f.fracture.major} 元，其他 {f.fracture.other} 元")
    return lines


def cap_lines(b: Benefit) -> list[str]:
    lines = []
    for c in b.caps:
        limit = f"{c.amount} 元" if c.amount is not None else f"{c.times} 次"
        text = f"{c.cap_code}：{limit}"
        if c.unless_outcome:
            text += f"（{'、'.join(c.unless_outcome)} 除外）"
        lines.append(text)
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
    table = Table(show_lines=True)
    for title in ("项目", "名称", "保障条件", "计算方法", "上限（按顺序适用）"):
        table.add_column(title)
    for b in policy.benefits:
        table.add_row(b.code, f"{b.name}\n({b.kind})", "\n".join(eligibility_lines(b)),
                      "\n".join(formula_lines(b)), "\n".join(cap_lines(b)))
    console.print(table)
    console.print("[green]校验通过[/green]")
