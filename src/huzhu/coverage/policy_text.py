"""A scheme's rules in Chinese, generated from its pinned policy (never retyped): what
the scheme page shows for each benefit — eligibility, the formula (bands as a table),
caps, waiting periods, dated versions, and which numbers are illustrative."""

from __future__ import annotations

from dataclasses import dataclass, field

from huzhu.rules.schema import (
    BandsFormula,
    Benefit,
    GradeTableFormula,
    LumpSumFormula,
    OutcomeFormula,
    PercentFormula,
    PerDayFormula,
    Policy,
    percent_label,
)

BASE = {"out_of_pocket": "医保报销后个人现金支付", "total_cost": "医疗费总额",
        "loss_amount": "核定损失金额", "days": "住院天数", "disability_grade": "伤残等级"}
FIELDS = {**BASE, "admit_date": "入院日期", "diagnosis": "诊断", "outcome": "伤害结果",
          "fracture_site": "骨折部位", "work_related": "是否工伤",
          "certificate_no": "火灾事故认定书编号", "on_duty": "是否因公", "relation": "亲属关系",
          "relative_id": "亲属", "co_resident": "是否共同生活"}
STATUS = {"active": "在职", "retired": "退休", "left": "离会"}
OCCUPATION = {"medical": "医务人员", "cdc": "疾控人员", "other": "其他"}
RELATION = {"self": "本人", "parent": "父母", "spouse": "配偶", "child": "子女", "other": "其他"}
OUTCOME = {"death": "身故", "disability": "伤残", "fracture": "骨折", "none": "无"}
KIND = {"illness": "疾病", "accident": "意外", "property": "财产", "relief": "救助"}
PER = {"event": "每次", "member": "每人", "family": "每个家庭", "relative": "每位亲属"}
PERIOD = {"year": "每个自然年", "period": "每个互助期", "lifetime": "终身"}


@dataclass
class Version:
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
    names = {b.code: b.name for b in policy.benefits}
    return [_benefit(b, names) for b in policy.benefits]


def _benefit(b: Benefit, names: dict[str, str]) -> BenefitText:
    return BenefitText(
        code=b.code, name=b.name, kind=KIND.get(b.kind, b.kind),
        eligibility=eligibility(b, names), versions=[_version(b, f) for f in b.versions],
        caps=caps(b), illustrative=bool(getattr(b, "illustrative", False)),
        source=getattr(b, "source", None) or "")


def _mark(item) -> str:
    return "（示例数值，待核实）" if getattr(item, "illustrative", False) else ""


def eligibility(b: Benefit, names: dict[str, str] | None = None) -> list[str]:
    e, lines = b.eligibility, []
    if e.status:
        lines.append("会员状态：" + "、".join(STATUS[s] for s in e.status))
    if e.age:
        low = f"{e.age.min}" if e.age.min is not None else "不限"
        high = f"{e.age.max}" if e.age.max is not None else "不限"
        lines.append(f"事件发生时年龄 {low} 至 {high} 周岁（含）")
    if e.gender:
        lines.append("性别：" + "、".join({"M": "男", "F": "女"}[g] for g in e.gender))
    if e.occupation:
        lines.append("职业类别：" + "、".join(OCCUPATION[o] for o in e.occupation))
    if e.window:
        start, end = e.window.start or "不限", e.window.end or "不限"
        lines.append(f"事件日期在 {start} 至 {end} 之间（含）")
    if e.enrolment:
        lines.append("须已参加事件发生时的互助期并缴费")
    if e.waiting:
        w = e.waiting
        text = f"等待期：首次参保后 {w.no_pay_days} 天内不给付"
        if w.reduced_days:
            text += f"，{w.reduced_days} 天内按 {percent_label(w.reduced_rate)} 给付"
        lines.append(text + "（连续续保不重新计算）" + _mark(w))
    if e.relation:
        lines.append("申请人：会员的" + "、".join(RELATION[r] for r in e.relation))
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
        lines.append("申请时须提供：" + "、".join(FIELDS.get(f, f) for f in e.required))
    return lines or ["无特别条件"]


def _version(b: Benefit, f) -> Version:
    base = BASE.get(b.effective_base(f) or "", "")
    when = f"{f.effective_from}" if f.effective_from else ""
    v = Version(when, [], illustrative=bool(getattr(f, "illustrative", False)))
    if isinstance(f, BandsFormula):
        mode = "整笔金额按所在档的比例计算" if f.mode == "bracket" else "分段累进计算"
        head = f"以{base}为基数，{mode}"
        if f.threshold is not None:
            head += f"；超过 {f.threshold} 元才给付"
        if f.deductible is not None:
            head += f"；先扣除免赔额 {f.deductible} 元"
        v.lines.append(head)
        v.bands = [(_band_range(band), percent_label(band.rate)) for band in f.bands]
    elif isinstance(f, PerDayFormula):
        text = f"住院每天 {f.amount} 元，自第 {f.from_day} 天起"
        if f.max_days:
            text += f"，每次最多 {f.max_days} 天"
        v.lines.append(text)
    elif isinstance(f, LumpSumFormula):
        v.lines.append(f"一次性给付 {f.amount} 元")
    elif isinstance(f, PercentFormula):
        v.lines.append(f"按{base}的 {percent_label(f.rate)} 给付")
    elif isinstance(f, GradeTableFormula):
        v.lines.append("按伤残等级：" + "；".join(f"{r.grade} 级 {r.amount} 元" for r in f.grades))
    elif isinstance(f, OutcomeFormula):
        if f.death is not None:
            v.lines.append(f"身故 {f.death} 元")
        if f.disability:
            grades = "；".join(f"{r.grade} 级 {r.amount} 元" for r in f.disability)
            v.lines.append(f"伤残：{grades}")
        if f.fracture is not None:
            v.lines.append(f"骨折（无伤残等级）：颅骨、脊椎、骨盆、股骨 {f.fracture.major} 元，"
                           f"其他部位 {f.fracture.other} 元；未达骨折不给付")
    else:  # a kind added to the engine later shows its own description
        v.lines += f.describe(b.effective_base(f))
    return v


def _band_range(band) -> str:
    upper = f"{band.upto} 元（含）" if band.upto is not None else "以上"
    return f"超过 {band.above} 元至 {upper}" if band.upto is not None else \
        f"超过 {band.above} 元"


def caps(b: Benefit) -> list[str]:
    lines = []
    for c in b.caps:
        who = PER[c.per] if c.per == "event" else f"{PER[c.per]}{PERIOD[c.period]}"
        if c.amount is not None:
            text = f"{who}最多 {c.amount} 元"
        elif c.times is not None:
            text = f"{who}最多给付 {c.times} 次"
        else:
            text = f"{who}最多 {c.days} 天"
        if c.unless_outcome:
            text += "（" + "、".join(OUTCOME[o] for o in c.unless_outcome) + "除外）"
        lines.append(text + _mark(c))
    return lines or ["无上限"]
