"""What-if (改革测算): a reform of a scheme's pinned policy, simulated over the registry's
real claims history of a past period, as a background task with progress.

The reform is a policy or an overlay file (``reform_of`` the scheme's policy), or a few
parameters changed in a form generated from the policy (:func:`parameters`), which
becomes an overlay of ``set`` changes. The task exports the scheme as the engine reads
it (:func:`huzhu.coverage.engine_inputs.export_engine`, the same files as ``huzhu export
engine``), keeps the period's events (not drafts or withdrawn claims) and, as prior
payouts, the claims paid for earlier events, then runs :func:`huzhu.rules.simulation.simulate`
— the engine of ``huzhu simulate``, called in process. The report is kept as JSON on the
run and as the xlsx ``huzhu simulate`` writes.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml
from django.db import OperationalError
from django.utils import timezone
from django_tasks import task

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.coverage.engine_inputs import export_engine
from huzhu.coverage.models import Period, Scheme
from huzhu.lib.errors import Refused
from huzhu.lib.jobs import PRIVATE_FILE
from huzhu.members.models import Member
from huzhu.orgs.models import User
from huzhu.reports.models import WhatIfRun
from huzhu.rules.errors import PolicyError
from huzhu.rules.loader import _DecimalLoader, policy_from_dict
from huzhu.rules.reform import is_overlay, load_overlay
from huzhu.rules.schema import (
    BandsFormula,
    LumpSumFormula,
    PercentFormula,
    PerDayFormula,
    Policy,
    canonical_text,
    percent_label,
)
from huzhu.rules.simulate_xlsx import write_xlsx
from huzhu.rules.simulation import SimulationReport, simulate

EXCLUDED_STATES = ("draft", "withdrawn")
MAX_UPLOAD = 512 * 1024


class WhatIfRefused(Refused):
    """A reform that cannot be run (bad file, nothing changed, period not past)."""


# ---------------------------------------------------------------- the reform


@dataclass(frozen=True)
class Parameter:
    path: str
    """The overlay path (``benefits[hospital].caps[0].amount``)."""
    label: str
    value: str
    kind: str  # "money", "rate" or "days"


def parameters(policy: Policy) -> list[Parameter]:
    """The parameters a form may change: caps, and each single formula's amounts, rates,
    thresholds and days (benefits with dated versions take an overlay file instead)."""
    out: list[Parameter] = []
    for b in policy.benefits:
        head = f"benefits[{b.code}]"
        f = b.formula
        if isinstance(f, BandsFormula):
            if f.threshold is not None:
                out.append(Parameter(f"{head}.formula.threshold", f"{b.name}：起付线（元）",
                                     str(f.threshold), "money"))
            if f.deductible is not None:
                out.append(Parameter(f"{head}.formula.deductible", f"{b.name}：免赔额（元）",
                                     str(f.deductible), "money"))
            for i, band in enumerate(f.bands):
                out.append(Parameter(f"{head}.formula.bands[{i}].rate",
                                     f"{b.name}：第 {i + 1} 档（{band.words}）比例",
                                     percent_label(band.rate), "rate"))
        elif isinstance(f, PerDayFormula):
            out.append(Parameter(f"{head}.formula.amount", f"{b.name}：每天金额（元）",
                                 str(f.amount), "money"))
            out.append(Parameter(f"{head}.formula.from_day", f"{b.name}：自第几天起付",
                                 str(f.from_day), "days"))
        elif isinstance(f, LumpSumFormula):
            out.append(Parameter(f"{head}.formula.amount", f"{b.name}：定额（元）",
                                 str(f.amount), "money"))
        elif isinstance(f, PercentFormula):
            out.append(Parameter(f"{head}.formula.rate", f"{b.name}：比例",
                                 percent_label(f.rate), "rate"))
        for i, cap in enumerate(b.caps):
            if cap.amount is not None:
                out.append(Parameter(f"{head}.caps[{i}].amount",
                                     f"{b.name}：上限（{_cap_label(cap)}，元）",
                                     str(cap.amount), "money"))
    return out


def _cap_label(cap) -> str:
    per = {"event": "每次", "member": "每人", "family": "每户", "relative": "每位亲属"}[cap.per]
    period = {"year": "每年", "period": "每期", "lifetime": "终身", None: ""}[cap.period]
    return per + period


def _clean(param: Parameter, raw: str) -> Any:
    text = raw.strip().replace(",", "").replace("，", "")
    try:
        if param.kind == "rate":
            number = Decimal(text.rstrip("%"))
            return f"{number}%"
        number = Decimal(text)
    except InvalidOperation:
        raise WhatIfRefused(f"“{param.label}”应为数字：{raw[:20]}") from None
    if number < 0:
        raise WhatIfRefused(f"“{param.label}”不能为负数")
    return int(number) if param.kind == "days" else number


def reform_from_form(scheme: Scheme, values: dict[str, str]) -> tuple[Policy, str]:
    """The reform that changes the parameters whose value differs from the policy's."""
    base = scheme.policy()
    changes = []
    for param in parameters(base):
        raw = values.get(param.path)
        if raw is None or raw.strip() in ("", param.value):
            continue
        value = _clean(param, raw)
        if str(value) != param.value:
            changes.append({"set": param.path, "to": value})
    if not changes:
        raise WhatIfRefused("没有改动任何参数：请修改至少一项，或上传改革方案文件")
    overlay = {"reform_of": base.code, "code": f"{base.code}-what-if",
               "name": f"{base.name}（参数调整）", "changes": changes}
    text = yaml.safe_dump(_plain(overlay), allow_unicode=True, sort_keys=False)
    return _load(base, overlay, "表单"), text


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def reform_from_text(scheme: Scheme, text: str, source: str = "上传的文件") -> Policy:
    """A whole policy file, or an overlay of the scheme's policy."""
    if len(text.encode()) > MAX_UPLOAD:
        raise WhatIfRefused(f"{source}太大（最多 {MAX_UPLOAD // 1024} KB）")
    try:
        data = yaml.load(text, Loader=_DecimalLoader)
    except yaml.YAMLError as exc:
        raise WhatIfRefused(f"{source}不是有效的 YAML：{getattr(exc, 'problem', exc)}") from None
    return _load(scheme.policy(), data, source)


def _load(base: Policy, data: Any, source: str) -> Policy:
    try:
        if is_overlay(data):
            return load_overlay(data, source=source, base=base)
        return policy_from_dict(data, source=source)
    except PolicyError as exc:
        raise WhatIfRefused(f"改革方案有误：{exc}") from None


# ---------------------------------------------------------------- the run


def past_periods(scheme: Scheme) -> list[Period]:
    today = timezone.localdate()
    return list(scheme.periods.filter(start__lte=today).order_by("-start"))


def request_run(user: User, scheme: Scheme, period: Period, reform: Policy,
                reform_text: str | None = None) -> WhatIfRun:
    """Queue a what-if run (the caller checked the role and scope)."""
    if period.scheme_id != scheme.pk:
        raise WhatIfRefused("互助期不属于该保障项目")
    if period.start > timezone.localdate():
        raise WhatIfRefused("只能对已开始的互助期测算（需要真实的理赔记录）")
    run = WhatIfRun.objects.create(
        scheme=scheme, union=user.union if user.union_id else scheme.union, period=period,
        created_by=user, name=reform.name[:200],
        reform_text=reform_text or canonical_text(reform))
    # The run reads every claim of the union's members in the period: who asked for it,
    # and with which rules, is on the record like an export.
    log.record(user, AuditEntry.Action.WHAT_IF_STARTED, run, union_path=run.union.path,
               summary=f"开始改革测算“{run.name}”（{scheme.name} {period.name}）",
               changes={"what_if": run.pk, "reform": reform.code,
                        "content_hash": reform.content_hash})
    run_what_if.enqueue(run.pk)
    return run


def _update(run_id: int, **fields) -> None:
    for attempt in range(5):
        try:
            WhatIfRun.objects.filter(pk=run_id).update(**fields)
            return
        except OperationalError:  # SQLite busy: progress can wait, the result cannot
            if "status" not in fields or attempt == 4:
                return
            time.sleep(1)


@task()
def run_what_if(run_id: int) -> dict:
    claimed = WhatIfRun.objects.filter(pk=run_id, status=WhatIfRun.Status.PENDING).update(
        status=WhatIfRun.Status.RUNNING)
    if not claimed:
        return {"what_if": run_id, "skipped": True}
    run = WhatIfRun.objects.select_related("scheme__union", "period").get(pk=run_id)
    try:
        report = for_people(simulate_run(run, progress=lambda step: _update(run_id, step=step)),
                            run)
        # In the kind's private folder (0700); write_xlsx replaces the file whole, so it is
        # made private once written (it lists members by registry id).
        target = WhatIfRun.files().new_path(".xlsx")
        write_xlsx(report, target)
        target.chmod(PRIVATE_FILE)
    except Exception as exc:
        _update(run_id, status=WhatIfRun.Status.FAILED, message=f"测算失败：{exc}"[:1000],
                finished_at=timezone.now())
        if isinstance(exc, WhatIfRefused | PolicyError) or exc.__class__.__name__ == \
                "InputError":
            return {"what_if": run_id, "failed": str(exc)}
        raise
    _update(run_id, status=WhatIfRun.Status.DONE, step=len(WhatIfRun.STEPS),
            report=report.to_dict(), file_path=str(target), finished_at=timezone.now())
    return {"what_if": run_id, "events": report.events}


def simulate_run(run: WhatIfRun, progress=lambda step: None):
    """The simulation report of ``run`` (policy pinned by the scheme vs the reform)."""
    scheme, period = run.scheme, run.period
    base = scheme.policy()
    reform = reform_from_text(scheme, run.reform_text, "改革方案")
    with tempfile.TemporaryDirectory(prefix="huzhu-what-if-") as tmp:
        out = Path(tmp)
        export_engine(scheme, out)  # members, enrolments, events, prior
        progress(1)
        members = pq.read_table(out / "members.parquet")
        enrolments = pq.read_table(out / "enrolments.parquet")
        events = pq.read_table(out / "events.parquet")
        prior = pq.read_table(out / "prior.parquet")
        progress(2)
    start, end = period.start, period.end
    in_period = pc.and_(pc.greater_equal(events["event_date"], start),
                        pc.less_equal(events["event_date"], end))
    kept = pc.invert(pc.is_in(events["state"], value_set=_strings(EXCLUDED_STATES)))
    period_events = events.filter(pc.and_(in_period, kept))
    prior = prior.filter(pc.less(prior["event_date"], start))
    within = _members_within(run)
    if within is not None:  # a district's leader sees the district's claims only
        period_events = period_events.filter(pc.is_in(period_events["member_id"],
                                                      value_set=within))
        prior = prior.filter(pc.is_in(prior["member_id"], value_set=within))
    report = simulate(base, reform, members, period_events, enrolments, prior)
    progress(3)
    return report


def for_people(report: SimulationReport, run: WhatIfRun) -> SimulationReport:
    """The report as the page and the xlsx show it: benefits by the policies' names (not
    "名称（code）") and caps by what they limit, members by name (not the registry's id)."""
    reform = reform_from_text(run.scheme, run.reform_text, "改革方案")
    benefits = [*run.scheme.policy().benefits, *reform.benefits]
    names = {b.code: b.name for b in benefits}
    # "住院医疗补贴（hospital） · 上限 cap_per_year · 金额"
    #   → "住院医疗补贴 · 上限（每人每年） · 金额"
    words = {f"（{b.code}）": "" for b in benefits}
    words.update({f"上限 {c.cap_code}": f"上限（{_cap_label(c)}）" for b in benefits
                  for c in b.caps})

    def label(text: str) -> str:
        for code, word in words.items():
            text = text.replace(code, word)
        return text

    report.changes = [replace(c, label=label(c.label)) for c in report.changes]
    ids = {int(e.member_id) for e in report.largest if str(e.member_id).isdigit()}
    members = {str(pk): name for pk, name in
               Member.objects.filter(pk__in=ids).values_list("pk", "name")}
    report.by_benefit = [replace(r, label=names.get(r.key, r.label)) for r in report.by_benefit]
    report.largest = [replace(e, benefit=names.get(e.benefit, e.benefit),
                              member_id=members.get(str(e.member_id), "（已删除的会员）"))
                      for e in report.largest]
    return report


def _members_within(run: WhatIfRun):
    """Member ids (engine strings) of the run's union subtree; None when that is the
    whole scheme (the run was made at the scheme's node or above it)."""
    if run.scheme.union.path.startswith(run.union.path):
        return None
    ids = Member.objects.filter(union__path__startswith=run.union.path).values_list(
        "id", flat=True)
    return _strings(str(i) for i in ids.iterator(chunk_size=50_000))


def _strings(values):
    return pa.array(list(values), pa.string())
