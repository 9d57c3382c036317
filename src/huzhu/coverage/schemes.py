"""Schemes and their periods: created by admins, periods opened, run and closed.

A period's state moves one way, open → active → closed; a closed period is frozen (no
enrolment, withdrawal, payment or edit), which the other services check too.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.coverage.models import Period, Scheme
from huzhu.coverage.policies import policy_from_text, shipped_text
from huzhu.coverage.refusals import CoverageRefused
from huzhu.orgs.models import Union, User
from huzhu.rules.money import FEN, yuan

_NEXT = {Period.State.OPEN: Period.State.ACTIVE, Period.State.ACTIVE: Period.State.CLOSED}


def _require_admin(user: User) -> None:
    if not user.has_perm("coverage.manage_schemes"):
        raise CoverageRefused("只有管理员可以设置保障项目和互助期")


def scheme_kind(policy) -> str:
    """A scheme whose benefits need enrolment collects premiums; otherwise it is free."""
    needs = any(b.eligibility.enrolment for b in policy.benefits)
    return Scheme.Kind.PREMIUM if needs else Scheme.Kind.FREE


def create_scheme(user: User, *, union: Union, policy_name: str = "", policy_text: str = "",
                  code: str = "", name: str = "", **settings) -> Scheme:
    """A scheme for ``union``'s subtree running a shipped or an uploaded policy; the code
    and name default to the policy's."""
    _require_admin(user)
    if not Union.objects.visible_to(user).filter(pk=union.pk).exists():
        raise CoverageRefused("该工会不在您的管辖范围内")
    text = shipped_text(policy_name) if policy_name else policy_text
    policy = policy_from_text(text, policy_name or "上传的政策文件")
    code = code or policy.code
    if Scheme.objects.filter(code=code).exists():
        raise CoverageRefused(f"项目编码 {code} 已被使用，请另取一个")
    scheme = Scheme.objects.create(
        code=code, name=name or policy.name, union=union, kind=scheme_kind(policy),
        policy_name=policy_name, policy_text=text, policy_hash=policy.content_hash,
        created_by=user, **settings)
    log.record(user, AuditEntry.Action.SCHEME_CHANGED, None, union_path=union.path,
               summary=f"新建保障项目“{scheme.name}”（{scheme.code}，政策 {policy.code} "
                       f"版本 {policy.version}，内容哈希 {scheme.policy_hash[:12]}）",
               changes={"scheme": scheme.code, "policy_hash": scheme.policy_hash})
    return scheme


def set_payee(user: User, scheme: Scheme, *, name: str, bank: str, account: str) -> Scheme:
    """Change the collection account the scheme's notices print (the caller checked the
    scope); the old and new values go to the audit log — a changed account is exactly
    what an auditor asks about when a payment goes astray."""
    _require_admin(user)
    def said(n: str, b: str, a: str) -> str:
        return f"{n or '（空）'}，{b or '（空）'}，账号 {a or '（空）'}"

    before = said(scheme.payee_name, scheme.payee_bank, scheme.payee_account)
    scheme.payee_name, scheme.payee_bank, scheme.payee_account = name, bank, account
    scheme.save(update_fields=["payee_name", "payee_bank", "payee_account"])
    log.record(user, AuditEntry.Action.SCHEME_CHANGED, None, union_path=scheme.union.path,
               summary=f"修改保障项目“{scheme.name}”的收款账户：{said(name, bank, account)}"
                       f"（原为 {before}）",
               changes={"scheme": scheme.code})
    return scheme


def straight_through_words(scheme: Scheme) -> str:
    """The scheme's review-by-exception rule in words, for its page and the audit log."""
    threshold = f"{scheme.sample_threshold.quantize(Decimal('0.01')):f}".rstrip("0").rstrip(".")
    return (f"金额不超过 {yuan(scheme.straight_through_upto)} 元、无审核提示的免申即享理赔可抽样"
            f"复核后批量核准；样本中不予给付或核减的比例超过 {threshold}% 时，该次测算全部转为"
            "逐笔审核")


def set_straight_through(user: User, scheme: Scheme, *, upto: Decimal,
                         threshold: Decimal) -> Scheme:
    """Change the straight-through ceiling and the sample's threshold (the caller checked
    the scope); a sample already drawn keeps the values it was drawn under."""
    _require_admin(user)
    if upto < 0 or not 0 <= threshold <= 100:
        raise CoverageRefused("直通金额上限应不小于零，阈值应在 0 至 100 之间")
    before = straight_through_words(scheme)
    scheme.straight_through_upto = upto.quantize(FEN)
    scheme.sample_threshold = threshold.quantize(FEN)
    scheme.save(update_fields=["straight_through_upto", "sample_threshold"])
    log.record(user, AuditEntry.Action.SCHEME_CHANGED, None, union_path=scheme.union.path,
               summary=f"修改保障项目“{scheme.name}”的免申即享抽样复核规则：{straight_through_words(scheme)}"
                       f"（原为：{before}）",
               changes={"scheme": scheme.code})
    return scheme


def create_period(user: User, scheme: Scheme, *, name: str, start: dt.date, end: dt.date,
                  premium: Decimal, enrol_from: dt.date, enrol_until: dt.date) -> Period:
    _require_admin(user)
    _check_dates(start, end, enrol_from, enrol_until, premium, scheme)
    overlapping = scheme.periods.filter(start__lte=end, end__gte=start)
    if overlapping.exists():
        raise CoverageRefused(f"与已有的互助期“{overlapping.first().name}”时间重叠")
    period = Period.objects.create(scheme=scheme, name=name, start=start, end=end,
                                   premium=premium, enrol_from=enrol_from,
                                   enrol_until=enrol_until)
    _record(user, period, f"新建互助期“{period}”（{start:%Y-%m-%d} 至 {end:%Y-%m-%d}，"
                          f"每人 {yuan(premium)} 元）")
    return period


def update_period(user: User, period: Period, **fields) -> Period:
    """Edit an open or active period (premium only while no one is enrolled)."""
    _require_admin(user)
    with transaction.atomic():
        period = Period.objects.select_for_update().select_related("scheme").get(pk=period.pk)
        if period.closed:
            raise CoverageRefused(f"{period}已结束，不能修改")
        if "premium" in fields and fields["premium"] != period.premium \
                and period.enrolments.exists():
            raise CoverageRefused("已有会员参保，不能再修改每人互助金")
        before = {k: str(getattr(period, k)) for k in fields}
        for key, value in fields.items():
            setattr(period, key, value)
        _check_dates(period.start, period.end, period.enrol_from, period.enrol_until,
                     period.premium, period.scheme)
        period.save()
        _record(user, period, f"修改互助期“{period}”",
                {k: [before[k], str(v)] for k, v in fields.items() if before[k] != str(v)})
    return period


def advance(user: User, period: Period) -> Period:
    """open → active (enrolment window over, coverage running) → closed (frozen)."""
    _require_admin(user)
    with transaction.atomic():
        period = Period.objects.select_for_update().select_related("scheme").get(pk=period.pk)
        if period.state not in _NEXT:
            raise CoverageRefused(f"{period}已结束")
        old, period.state = period.get_state_display(), _NEXT[period.state]
        if period.closed:
            period.closed_at = timezone.now()
        period.save(update_fields=["state", "closed_at"])
        _record(user, period, f"互助期“{period}”：{old} → {period.get_state_display()}")
    return period


def _check_dates(start, end, enrol_from, enrol_until, premium, scheme: Scheme) -> None:
    if end <= start:
        raise CoverageRefused("结束日期应晚于开始日期")
    if enrol_until < enrol_from:
        raise CoverageRefused("参保截止日期应不早于参保开始日期")
    if enrol_from > end:
        raise CoverageRefused("参保开始日期应不晚于互助期结束日期")
    if premium < 0 or premium != premium.quantize(FEN):
        raise CoverageRefused("每人互助金应为不小于零、最多两位小数的金额")
    if scheme.kind == Scheme.Kind.FREE and premium != 0:
        raise CoverageRefused("免费补贴项目的互助金应为 0")


def _record(user: User, period: Period, summary: str, changes: dict | None = None) -> None:
    log.record(user, AuditEntry.Action.PERIOD_CHANGED, None, union_path=period.scheme.union.path,
               summary=summary, changes=changes or {})
