"""Filing a claim: which benefits cover the member on the event date, and the form each
benefit needs — generated from its policy, never hand-built per benefit."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from django import forms
from django.db import transaction
from django.utils import timezone

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.claims import computation
from huzhu.claims.models import Claim, ClaimEvent
from huzhu.coverage.lookup import Cover, member_coverage, schemes_over
from huzhu.coverage.models import Enrolment, Period, Scheme
from huzhu.lib import crypto
from huzhu.lib.forms import BootstrapFormMixin
from huzhu.members.idcard import IdNumberError, parse_id_number
from huzhu.members.models import Member
from huzhu.orgs.models import User
from huzhu.rules import vocabulary
from huzhu.rules.columns import stay_days

# The engine module itself: the package re-exports evaluate_claim lazily, untyped.
from huzhu.rules.engine import evaluate_claim
from huzhu.rules.money import DECIMAL_PLACES, MAX_DIGITS
from huzhu.rules.schema import Benefit, OutcomeFormula, PercentFormula, PerDayFormula

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
_ICD = re.compile(r"^[A-Z]\d{2}(\.\d{1,4})?$")


@dataclass(frozen=True)
class Offer:
    """A benefit that covers the member on the day, and under which scheme and period."""

    scheme: Scheme
    period: Period | None
    benefit: Benefit


def offers(member: Member, day: dt.date) -> list[Offer]:
    found = []
    for scheme in schemes_over(member):
        period = scheme.periods.filter(start__lte=day, end__gte=day).first()
        if scheme.needs_enrolment and not Enrolment.objects.filter(
                member=member, period__scheme=scheme, state__in=["active", "withdrawn"],
                coverage_from__lte=day, coverage_to__gte=day).exists():
            continue
        if period is None and scheme.needs_enrolment:
            continue
        found += [Offer(scheme, period, b) for b in scheme.policy().benefits]
    return found


@dataclass(frozen=True)
class Closed:
    """A benefit (or a whole scheme, ``benefit`` None) that does not cover the member on
    the day, and why, in the engine's or the enrolment's words."""

    scheme: Scheme
    benefit: Benefit | None
    reason: str


@dataclass
class Eligibility:
    """What the intake page shows for a day, before any fact or material is asked:
    the benefits that may be claimed (with a note, e.g. a reduced waiting period) and
    the others with why not."""

    open: list[tuple[Offer, str]] = field(default_factory=list)
    closed: list[Closed] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def offers(self) -> list[Offer]:
        return [offer for offer, _ in self.open]


# The engine's reasons that the member and the day decide, whatever the event's facts:
# a benefit failing one of these cannot be paid, so it is not offered. Every other
# reason (a field missing, a diagnosis, a relation, a threshold) waits for the facts.
DECIDED_BY_MEMBER_AND_DAY = frozenset({
    "unknown_member", "status_not_eligible", "age_out_of_range", "gender_not_eligible",
    "occupation_not_eligible", "outside_window", "not_enrolled", "waiting_period",
    "not_in_force"})


def eligibility(member: Member, day: dt.date) -> Eligibility:
    """Each benefit of the schemes over ``member`` on ``day``: offered, or not and why.

    A premium scheme the member is not covered by on the day is closed with the
    enrolment's state (未参加, 未缴费, 退保, 生效日期); for the others the engine itself
    evaluates a bare event of each benefit on the day (member, day, enrolments — no
    facts yet) and its reason, when the member or the day decides it, is the answer:
    the rules stay in :mod:`huzhu.rules`."""
    found = Eligibility()
    if member.joined_on and day < member.joined_on:
        found.warnings.append(f"事件日期早于会员的入会日期（{member.joined_on:%Y-%m-%d}），"
                              "请核对事件日期和入会日期")
    offered = offers(member, day)
    covers = {c.scheme.pk: c for c in member_coverage(member, day)}
    for scheme in schemes_over(member):
        mine = [o for o in offered if o.scheme.pk == scheme.pk]
        if not mine:
            found.closed.append(Closed(scheme, None, _not_covered(covers.get(scheme.pk))))
            continue
        for offer in mine:
            row = _bare_event(member, offer, day)
            if row["status"] == "ineligible" and row["reason"] in DECIDED_BY_MEMBER_AND_DAY:
                found.closed.append(Closed(scheme, offer.benefit, row["reason_message"]))
            else:
                note = row["reason_message"] if row["reason"] == "waiting_period_reduced" \
                    else ""
                found.open.append((offer, note or ""))
    return found


def _not_covered(cover: Cover | None) -> str:
    """Why a premium scheme does not cover the member on the day, in words; "未缴费"
    said outright (an unpaid member's scheme was left off the list without a word)."""
    if cover is None or cover.covered:
        return "事件日期不在参保互助期内"
    enrolment = cover.enrolment
    if enrolment is not None and enrolment.coverage_from is None:
        return f"未缴费：{cover.note}"
    return cover.note


def _bare_event(member: Member, offer: Offer, day: dt.date) -> dict[str, Any]:
    """The engine's row for an event of ``offer``'s benefit on ``day`` with no facts."""
    probe = Claim(member=member, scheme=offer.scheme, benefit=offer.benefit.code,
                  event_date=day)
    return evaluate_claim(offer.scheme.policy(), computation.member_row(member),
                          {"event_id": "intake", "member_id": str(member.pk),
                           "benefit": offer.benefit.code, "event_date": day},
                          computation.enrolment_rows(probe))


def needed_fields(benefit: Benefit) -> list[str]:
    """The event facts the benefit's policy reads, in the order the form asks them."""
    e = benefit.eligibility
    fields: list[str] = []
    kinds = {type(f) for f in benefit.versions}
    base = {benefit.effective_base(f) for f in benefit.versions}
    if base & {"out_of_pocket", "total_cost"} or PerDayFormula in kinds or \
            benefit.kind == "illness":
        fields += ["admit_date", "hospital", "invoice_number"]
    if PerDayFormula in kinds or "days" in base:
        fields.append("days")
    fields += [b for b in ("out_of_pocket", "total_cost", "loss_amount") if b in base]
    if e.diagnosis is not None or e.diagnosis_versions or benefit.kind == "illness":
        fields.append("diagnosis")
    if OutcomeFormula in kinds or "disability_grade" in base:
        fields += ["outcome", "disability_grade", "fracture_site"]
    if e.work_related is not None or benefit.kind == "accident":
        fields.append("work_related")
    if e.on_duty is not None:
        fields.append("on_duty")
    if e.relation:
        fields += ["relation", "relative_name", "relative_id_number", "co_resident"]
    for name in e.required:
        if name == "relative_id":
            name = "relative_id_number"
        if name not in fields:
            fields.append(name)
    if PercentFormula in kinds and "loss_amount" in base and "certificate_no" not in fields:
        fields.append("certificate_no")
    return fields


def _choices(mapping: dict[str, str]) -> list[tuple[str, str]]:
    return [("", "请选择"), *mapping.items()]


def _money(label: str) -> forms.DecimalField:
    """An amount the clerk types: errors that say what an amount is (Django's own read
    "确认总共不超过 14 个数字." for 1e30); NaN and Infinity are "not a number" too."""
    short = re.sub(r"（[^）]*）$", "", label)
    too_large = f"{short}过大（最多 {MAX_DIGITS - DECIMAL_PLACES} 位整数）"
    return forms.DecimalField(
        label=label, max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, min_value=0,
        error_messages={"invalid": f"{short}应为数字，如 1200 或 1200.50（不写逗号和单位）",
                        "max_digits": too_large, "max_whole_digits": too_large,
                        "min_value": f"{short}不能小于零",
                        "max_decimal_places": f"{short}最多两位小数"})


# Each fact's form field, made anew for every form (a field instance is not shared).
FIELDS: dict[str, Callable[[], forms.Field]] = {
    "admit_date": lambda: forms.DateField(label="入院日期", widget=DATE),
    "hospital": lambda: forms.CharField(label="医院", max_length=100, required=False),
    "invoice_number": lambda: forms.CharField(label="发票号", max_length=64, required=False,
                                              help_text="用于查重：同一张发票只能申请一次"),
    "days": lambda: forms.IntegerField(
        label="住院天数", min_value=1, max_value=3650, required=False,
        help_text="留空则按入院、出院日期计算（算入不算出）；只能少填，不能多于这个天数",
        error_messages={"invalid": "住院天数应为整数天", "min_value": "住院天数至少 1 天",
                        "max_value": "住院天数最多 3650 天"}),
    "out_of_pocket": lambda: _money("医保报销后个人现金支付（元）"),
    "total_cost": lambda: _money("医疗费总额（元）"),
    "loss_amount": lambda: _money("核定损失金额（元）"),
    "diagnosis": lambda: forms.CharField(
        label="诊断编码（ICD-10）", max_length=200,
        help_text="可输入多个，用分号分隔；输入疾病名称或编码开头可搜索",
        widget=forms.TextInput(attrs={"list": "icd10-options", "autocomplete": "off"})),
    "outcome": lambda: forms.ChoiceField(label="伤害结果", choices=_choices(
        vocabulary.OUTCOME_CHOICES)),
    "disability_grade": lambda: forms.TypedChoiceField(
        label="伤残等级", required=False, coerce=int, empty_value=None,
        choices=[("", "无"), *((str(g), f"{g} 级") for g in range(1, 11))]),
    "fracture_site": lambda: forms.ChoiceField(label="骨折部位", required=False, choices=_choices(
        vocabulary.FRACTURE_SITE)),
    "work_related": lambda: forms.TypedChoiceField(
        label="是否工伤", coerce=lambda v: v == "yes", choices=[("no", "否"), ("yes", "是")]),
    "on_duty": lambda: forms.TypedChoiceField(
        label="是否因公（在岗位上）", coerce=lambda v: v == "yes",
        choices=[("yes", "是"), ("no", "否")]),
    "certificate_no": lambda: forms.CharField(label="火灾事故认定书编号", max_length=64),
    "relation": lambda: forms.ChoiceField(label="与会员的关系", choices=_choices(
        {k: v for k, v in vocabulary.RELATION.items() if k != "self"})),
    "relative_name": lambda: forms.CharField(label="亲属姓名", max_length=50),
    "relative_id_number": lambda: forms.CharField(
        label="亲属身份证号", max_length=30,
        help_text="只用于确认同一亲属不重复申请，不保存号码本身"),
    "co_resident": lambda: forms.TypedChoiceField(
        label="是否与会员共同生活", coerce=lambda v: v == "yes",
        choices=[("yes", "是"), ("no", "否")]),
}


class ClaimForm(BootstrapFormMixin, forms.Form):
    """The event facts of one benefit (built by :func:`claim_form`)."""

    event_date = forms.DateField(label="事件日期", widget=DATE)
    offered_on: dt.date | None = None  # set by claim_form

    def clean_diagnosis(self) -> str:
        codes = [c.strip().upper() for c in re.split(r"[;；,，\s]+",
                                                      self.cleaned_data["diagnosis"]) if c]
        codes = [c.split(" ")[0] for c in codes]
        bad = [c for c in codes if not _ICD.match(c)]
        if bad:
            raise forms.ValidationError(f"诊断编码 {'、'.join(bad)} 格式不对，应形如 C50.9")
        if not codes:
            raise forms.ValidationError("请填写诊断编码")
        return ";".join(codes)

    def clean_relative_id_number(self) -> str:
        value = self.cleaned_data["relative_id_number"]
        if not value and not self.fields["relative_id_number"].required:
            return ""  # editing a claim: blank keeps the relative it names (editing.py)
        try:
            return parse_id_number(value).value
        except IdNumberError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data  # Form.clean returns cleaned_data
        event, admit = data.get("event_date"), data.get("admit_date")
        if event and event > timezone.localdate():
            self.add_error("event_date", "事件日期不能晚于今天")
        elif event and self.offered_on and event != self.offered_on:
            # The benefits on offer were those covering the member on that day: another
            # event date would be checked against another day's cover.
            self.add_error("event_date", f"事件日期应为查询保障的日期 {self.offered_on:%Y-%m-%d}；"
                                         "日期不同请回到上一步按事件日期重新查询")
        if event and admit and admit > event:
            self.add_error("admit_date", "入院日期不能晚于出院日期")
        elif "days" in self.fields:
            self._check_days(data, admit, event)
        if data.get("outcome") == "disability" and not data.get("disability_grade"):
            self.add_error("disability_grade", "伤残请选择等级")
        if data.get("outcome") == "fracture" and not data.get("fracture_site"):
            self.add_error("fracture_site", "骨折请选择部位")
        return data


    def _check_days(self, data: dict[str, Any], admit: dt.date | None,
                    event: dt.date | None) -> None:
        """Days in hospital follow from the admission and discharge dates
        (:func:`huzhu.rules.columns.stay_days`: 10 → 20 November is 10 days): blank takes
        that, fewer is the clerk's call (days not paid for), more is refused."""
        days = data.get("days")
        if admit is None or event is None:
            if days is None and "days" not in self.errors:
                self.add_error("days", "请填写住院天数，或填写入院日期以便计算")
            return
        stay = stay_days(admit, event)
        if days is None:
            data["days"] = stay
        elif days > stay:
            self.add_error("days", f"住院天数 {days} 天多于入院（{admit:%Y-%m-%d}）到出院"
                                   f"（{event:%Y-%m-%d}）的 {stay} 天（算入不算出）")


def claim_form(benefit: Benefit, *args: Any, offered_on: dt.date | None = None,
               **kwargs: Any) -> ClaimForm:
    """The benefit's form; ``offered_on`` is the day whose cover offered the benefit, and
    the event date must be that day."""
    names = needed_fields(benefit)
    attrs = {name: FIELDS[name]() for name in names if name in FIELDS}
    # A subclass of ClaimForm (its only base), which type() does not tell the checker.
    form_class = cast(type[ClaimForm],
                      type(f"{benefit.code.title()}ClaimForm", (ClaimForm,), attrs))
    form = form_class(*args, **kwargs)
    form.offered_on = offered_on
    form.fields["event_date"].label = event_date_label(benefit)
    form.style_widgets()
    return form


def event_date_label(benefit: Benefit) -> str:
    """What the event date is called for ``benefit``: the discharge for a stay, the
    diagnosis for an illness or relief, else the event."""
    if "admit_date" in needed_fields(benefit):
        return "出院日期"
    return "确诊日期" if benefit.kind in ("illness", "relief") else "事件日期"


def file_claim(user: User, member: Member, offer: Offer, data: dict[str, Any]) -> Claim:
    """A draft claim with the form's facts (materials are added on the claim's page)."""
    facts = {k: v for k, v in data.items() if k in FIELDS or k == "event_date"}
    relative = facts.pop("relative_id_number", None)
    with transaction.atomic():
        claim = Claim(member=member, scheme=offer.scheme, period=offer.period,
                      benefit=offer.benefit.code, benefit_name=offer.benefit.name,
                      filed_by=user, number=f"tmp-{crypto.blind_index(str(timezone.now()))[:12]}",
                      **{k: v for k, v in facts.items() if v not in (None, "")})
        if relative:
            claim.relative_key = crypto.blind_index("relative:" + relative)
        claim.save()
        claim.number = Claim.number_for(claim.event_date.year, claim.pk)
        claim.save(update_fields=["number"])
        ClaimEvent.objects.create(claim=claim, actor=user, action="file", from_state="",
                                  to_state=claim.state, note="登记理赔申请")
        # A claim's creation is an act the auditor looks for (issue 21, item 14).
        log.record(user, AuditEntry.Action.CLAIM_FILED, claim, union_path=member.union.path,
                   summary=f"登记理赔 {claim.number}（{member.name} {claim.benefit_name}，"
                           f"事件日期 {claim.event_date:%Y-%m-%d}）")
    return claim
