"""A policy's rules in Chinese, generated from the policy itself (never retyped): the one
describer that both the scheme page and ``huzhu policy check`` read.

Each benefit reads as its eligibility, its formula (one version per effective date, rate
bands as a table), its caps in the order they apply, and which numbers are illustrative.
The words of codes (statuses, occupations, relations, outcomes, fields, cap scopes) are
:mod:`huzhu.rules.vocabulary`'s; amounts read as :func:`huzhu.rules.money.yuan` writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from huzhu.rules.money import yuan
from huzhu.rules.schema import (
    Band,
    BandsFormula,
    Benefit,
    Cap,
    GradeTableFormula,
    LumpSumFormula,
    OutcomeFormula,
    PercentFormula,
    PerDayFormula,
    Policy,
    percent_label,
)
from huzhu.rules.vocabulary import (
    BASE,
    FIELDS,
    GENDER,
    KIND,
    OCCUPATION,
    OUTCOME,
    PER,
    PERIOD,
    RELATION,
    STATUS,
    words,
)

ILLUSTRATIVE = "（示例数值，待核实）"


@dataclass
class Version:
    """One dated version of a benefit's formula."""

    effective_from: str  # "" for the first
    lines: list[str]
    bands: list[tuple[str, str]] = field(default_factory=list)  # (range, rate)
    illustrative: bool = False


@dataclass
class BenefitText:
    code: str
    name: str
    kind: str
    eligibility: list[str]
    versions: list[Version]
    caps: list[str]
    illustrative: bool
    source: str


def describe_policy(policy: Policy) -> list[BenefitText]:
    """Every benefit of ``policy`` in words, in the policy's order."""
    names = {b.code: b.name for b in policy.benefits}
    return [describe_benefit(b, names) for b in policy.benefits]


def describe_benefit(b: Benefit, names: dict[str, str] | None = None) -> BenefitText:
    return BenefitText(
        code=b.code, name=b.name, kind=KIND.get(b.kind, b.kind),
        eligibility=eligibility(b, names), versions=[version(b, f) for f in b.versions],
        caps=caps(b), illustrative=bool(getattr(b, "illustrative", False)),
        source=getattr(b, "source", None) or "")


def _mark(item: object) -> str:
    """The note after an illustrative parameter (its source is listed separately)."""
    return ILLUSTRATIVE if getattr(item, "illustrative", False) else ""


def eligibility(b: Benefit, names: dict[str, str] | None = None) -> list[str]:
    """Who may claim the benefit and when; ``names`` gives other benefits' names."""
    e, lines = b.eligibility, []
    if e.status:
        lines.append("会员状态：" + words(STATUS, e.status))
    if e.age:
        low = f"{e.age.min}" if e.age.min is not None else "不限"
        high = f"{e.age.max}" if e.age.max is not None else "不限"
        lines.append(f"事件发生时年龄 {low} 至 {high} 周岁（含）")
    if e.gender:
        lines.append("性别：" + words(GENDER, e.gender))
    if e.occupation:
        lines.append("职业类别：" + words(OCCUPATION, e.occupation))
    if e.window:
        start, end = e.window.start or "不限", e.window.end or "不限"
        lines.append(f"事件日期在 {start} 至 {end} 之间（含）")
    if e.enrolment:
        lines.append("须已参加事件发生时的互助期并缴费")
    if e.waiting:
        w = e.waiting
        text = f"等待期：首次参保后 {w.no_pay_days} 天内不给付"
        if w.reduced_days and w.reduced_rate is not None:  # the schema sets both or neither
            text += f"，{w.reduced_days} 天内按 {percent_label(w.reduced_rate)} 给付"
        lines.append(text + "（连续续保不重新计算）" + _mark(w))
    if e.relation:
        lines.append("申请人：会员的" + words(RELATION, e.relation))
    if e.co_resident:
        lines.append("须与会员共同生活")
    if e.work_related is False:
        lines.append("非工伤")
    if e.on_duty:
        lines.append("须因公（在岗位上）")
    if e.diagnosis is not None:
        lines.append("诊断编码（国际疾病分类第十版）开头为：" + "、".join(e.diagnosis))
    for v in e.diagnosis_versions or []:
        lines.append(f"自 {v.effective_from} 起诊断：" + "、".join(v.codes) + _mark(v))
    requires = getattr(e, "requires", None)
    if requires is not None:
        other = (names or {}).get(requires.benefit, requires.benefit)
        lines.append(f"须会员本人先有“{other}”的事件（日期不晚于本事件，无论该事件是否给付）")
    if e.required:
        lines.append("申请时须提供：" + words(FIELDS, e.required))
    return lines or ["无特别条件"]


def version(b: Benefit, f: Any) -> Version:  # f: one of the schema's formula kinds
    """One version of the benefit's formula: its lines and, for rate bands, the table."""
    base = BASE.get(b.effective_base(f) or "", "")
    when = f"{f.effective_from}" if f.effective_from else ""
    v = Version(when, [], illustrative=bool(getattr(f, "illustrative", False)))
    if isinstance(f, BandsFormula):
        mode = "整笔金额按所在档的比例计算" if f.mode == "bracket" else "分段累进计算"
        head = f"以{base}为基数，{mode}"
        if f.threshold is not None:
            head += f"；超过 {yuan(f.threshold)} 元才给付"
        if f.deductible is not None:
            head += f"；先扣除免赔额 {yuan(f.deductible)} 元"
        v.lines.append(head)
        v.bands = [(band_range(band), percent_label(band.rate)) for band in f.bands]
    elif isinstance(f, PerDayFormula):
        text = f"住院每天 {yuan(f.amount)} 元，自第 {f.from_day} 天起"
        if f.max_days:
            text += f"，每次最多 {f.max_days} 天"
        v.lines.append(text)
    elif isinstance(f, LumpSumFormula):
        v.lines.append(f"一次性给付 {yuan(f.amount)} 元")
    elif isinstance(f, PercentFormula):
        v.lines.append(f"按{base}的 {percent_label(f.rate)} 给付")
    elif isinstance(f, GradeTableFormula):
        v.lines.append("按伤残等级：" + "；".join(f"{r.grade} 级 {yuan(r.amount)} 元"
                                                 for r in f.grades))
    elif isinstance(f, OutcomeFormula):
        if f.death is not None:
            v.lines.append(f"{OUTCOME['death']} {yuan(f.death)} 元")
        if f.disability:
            grades = "；".join(f"{r.grade} 级 {yuan(r.amount)} 元" for r in f.disability)
            v.lines.append(f"{OUTCOME['disability']}：{grades}")
        if f.fracture is not None:
            major, other = yuan(f.fracture.major), yuan(f.fracture.other)
            v.lines.append(f"骨折（无伤残等级）：颅骨、脊椎、骨盆、股骨 {major} 元，"
                           f"其他部位 {other} 元；未达骨折不给付")
    else:  # a kind added to the engine later shows its own description
        v.lines += f.describe(b.effective_base(f))
    return v


def band_range(band: Band) -> str:
    if band.upto is None:
        return f"超过 {yuan(band.above)} 元"
    return f"超过 {yuan(band.above)} 元至 {yuan(band.upto)} 元（含）"


def cap_text(c: Cap) -> str:
    """One cap in words: whose, over which period, how much."""
    who = PER[c.per] if c.per == "event" else f"{PER[c.per]}{PERIOD.get(c.period or '', '')}"
    if c.amount is not None:
        text = f"{who}最多 {yuan(c.amount)} 元"
    elif c.times is not None:
        text = f"{who}最多给付 {c.times} 次"
    else:
        text = f"{who}最多 {c.days} 天"
    if c.unless_outcome:
        text += f"（{words(OUTCOME, c.unless_outcome)}除外）"
    return text + _mark(c)


def caps(b: Benefit) -> list[str]:
    """The benefit's caps in the order they apply."""
    return [cap_text(c) for c in b.caps] or ["无上限"]


# ---------------------------------------------------------------- huzhu policy check

def formula_lines(b: Benefit) -> list[str]:
    """The versions as plain lines: a dated version headed by its date, bands indented."""
    lines = []
    for v in (version(b, f) for f in b.versions):
        head = f"[自 {v.effective_from} 起{'，示例数值' if v.illustrative else ''}] " \
            if v.effective_from else ""
        first, *rest = v.lines or [""]
        mark = ILLUSTRATIVE if v.illustrative and not v.effective_from else ""
        lines += [head + first + mark, *rest]
        lines += [f"  {range_}：{rate}" for range_, rate in v.bands]
    return lines


def cap_lines(b: Benefit) -> list[str]:
    """The caps with the code ``huzhu calc`` names them by in its ``reason`` column."""
    return [f"{cap_text(c)}〔{c.cap_code}〕" for c in b.caps] or ["无上限"]


def print_policy(policy: Policy, console: Console | None = None) -> None:
    if console is None:
        console = Console()
        if not console.is_terminal:  # piped or captured: do not squeeze Chinese text
            console = Console(width=200)
    console.print(f"[bold]{policy.name}[/bold]  ({policy.code} 版本 {policy.version})")
    if policy.issuer:
        console.print(f"发布：{policy.issuer}")
    if policy.premium_per_year is not None:
        console.print(f"会费：每人每年 {yuan(policy.premium_per_year)} 元")
    if policy.source:
        console.print(f"依据：{policy.source}")
    console.print(f"内容哈希：{policy.content_hash}")
    table = Table(show_lines=True)
    for title in ("项目", "名称", "保障条件", "计算方法", "上限（按顺序适用）"):
        table.add_column(title)
    names = {b.code: b.name for b in policy.benefits}
    for b in policy.benefits:
        name = f"{b.name}\n（{KIND.get(b.kind, b.kind)}）" + (
            "\n示例数值，待核实" if b.illustrative else "")
        table.add_row(b.code, name, "\n".join(eligibility(b, names)),
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
