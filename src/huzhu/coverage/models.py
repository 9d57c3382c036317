"""Schemes (保障项目), periods (互助期), enrolments (参保), premiums (缴费) and the fund
ledger (互助金账).

A scheme pins the policy it runs by content hash and keeps the policy's text, so every
later computation can say exactly which rules it used, even after the shipped file
changes. Money is ``Decimal`` to the fen; the ledger is double-entry by construction
(one debit account, one credit account, one positive amount per row) and append-only
by database triggers.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from huzhu.coverage.policies import policy_from_text
from huzhu.lib.money import MoneyField
from huzhu.members.models import Member
from huzhu.orgs.models import Union, Unit, User
from huzhu.orgs.scope import scoped_by_ids, union_path
from huzhu.rules.schema import Policy


class SchemeQuerySet(models.QuerySet):
    def visible_to(self, user: User) -> SchemeQuerySet:
        """Schemes that cover some of the user's subtree: run by the user's node, an
        ancestor of it (a city scheme covers a district) or a node below it."""
        prefix = union_path(user)
        if prefix is None:
            return self
        ancestors = [int(p) for p in prefix.strip("/").split("/") if p.isdigit()]
        return self.filter(Q(union__path__startswith=prefix) | Q(union_id__in=ancestors))


class Scheme(models.Model):
    class Kind(models.TextChoices):
        PREMIUM = "premium", "缴费互助"
        FREE = "free", "免费补贴"

    class CoverageStart(models.TextChoices):
        ON_PAYMENT = "on_payment", "缴费到账后生效"
        ON_ENROLMENT = "on_enrolment", "参保即生效"

    class MidPeriod(models.TextChoices):
        FULL = "full", "期中加入按全年缴费"
        PRO_RATA = "pro_rata", "期中加入按剩余月份缴费"
        REFUSE = "refuse", "不接受期中加入"

    class ShareOf(models.TextChoices):
        ALL = "all", "在职职工"
        FEMALE = "female", "在职女职工"

    code = models.SlugField("项目编码", max_length=64, unique=True)
    name = models.CharField("项目名称", max_length=100)
    union = models.ForeignKey(Union, verbose_name="主办工会", on_delete=models.PROTECT,
                              related_name="schemes")
    kind = models.CharField("类型", max_length=8, choices=Kind.choices)
    policy_name = models.CharField("内置政策", max_length=64, blank=True)
    policy_text = models.TextField("政策文件内容")
    policy_hash = models.CharField("政策内容哈希", max_length=64)
    coverage_start = models.CharField("保障生效", max_length=16, choices=CoverageStart.choices,
                                      default=CoverageStart.ON_PAYMENT)
    mid_period = models.CharField("期中加入", max_length=10, choices=MidPeriod.choices,
                                  default=MidPeriod.PRO_RATA)
    min_share = models.DecimalField("单位最低参保比例", max_digits=4, decimal_places=3,
                                    null=True, blank=True,
                                    help_text="例如 0.5 表示单位在职职工至少50%参保")
    share_of = models.CharField("比例计算对象", max_length=8, choices=ShareOf.choices,
                                default=ShareOf.ALL)
    allow_retired = models.BooleanField("退休会员可参保", default=False)
    # When one review suffices (the claims app reads these): amounts up to this, or every
    # claim in a green channel (Guangdong's 2020 campaign, seed 000).
    single_review_upto = MoneyField("一级审核即可的金额上限", null=True,
                                             blank=True, help_text="不超过此金额的理赔只需初审")
    green_channel = models.BooleanField("绿色通道（所有理赔只需一级审核）", default=False)
    # Review by exception (免申即享抽样复核): a proactive claim up to this amount, with no
    # review signal and its facts all from the settlement, may be approved with the rest
    # of its run once a sample of them has been reviewed; above it Changchun calls the
    # member's unit first. The sample's rejected or lowered share above the threshold (a
    # percentage) sends the whole run to ordinary review.
    straight_through_upto = MoneyField("免申即享直通金额上限", default=Decimal("10000.00"),
                                       help_text="不超过此金额、无审核提示的免申即享理赔可抽样复核后批量核准")
    sample_threshold = models.DecimalField(
        "抽样驳回或核减比例阈值（%）", max_digits=5, decimal_places=2, default=Decimal("2.00"),
        help_text="样本中不予给付或核减的比例超过此值时，该次测算全部转为逐笔审核")
    # A member's 复核 (appeal) is decided within this many working days of being asked.
    appeal_working_days = models.PositiveSmallIntegerField(
        "复核办结时限（工作日）", default=5,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text="会员申请复核后，须在此数量的工作日（周一至周五）内作出复核决定")
    # The fund's collection account, printed on every premium notice: a unit pays by
    # transfer, and a notice without the account sends its finance office to the phone.
    payee_name = models.CharField("收款户名", max_length=100, blank=True)
    payee_bank = models.CharField("开户银行", max_length=100, blank=True)
    payee_account = models.CharField("收款账号", max_length=40, blank=True)
    created_by = models.ForeignKey("orgs.User", verbose_name="创建人", null=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    objects = SchemeQuerySet.as_manager()

    class Meta:
        verbose_name = "保障项目"
        verbose_name_plural = "保障项目"
        ordering = ["union__path", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_share__isnull=True) | (Q(min_share__gt=0) & Q(min_share__lte=1)),
                name="coverage_scheme_share_0_1"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def needs_enrolment(self) -> bool:
        return self.kind == self.Kind.PREMIUM

    def policy(self) -> Policy:
        """The pinned policy (validated from the stored text, never from today's file)."""
        return policy_from_text(self.policy_text, self.code)


class Period(models.Model):
    class State(models.TextChoices):
        OPEN = "open", "接受参保"
        ACTIVE = "active", "保障中"
        CLOSED = "closed", "已结束"

    scheme = models.ForeignKey(Scheme, verbose_name="保障项目", on_delete=models.PROTECT,
                               related_name="periods")
    name = models.CharField("名称", max_length=50)
    start = models.DateField("开始日期")
    end = models.DateField("结束日期")
    premium = MoneyField("每人互助金", default=Decimal("0.00"))
    enrol_from = models.DateField("参保开始")
    enrol_until = models.DateField("参保截止")
    state = models.CharField("状态", max_length=8, choices=State.choices, default=State.OPEN)
    closed_at = models.DateTimeField("结束时间", null=True, blank=True)

    class Meta:
        verbose_name = "互助期"
        verbose_name_plural = "互助期"
        ordering = ["scheme", "start"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "start"], name="coverage_period_start"),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="coverage_period_dates"),
            models.CheckConstraint(condition=Q(enrol_until__gte=F("enrol_from")),
                                   name="coverage_period_window"),
            models.CheckConstraint(condition=Q(premium__gte=0), name="coverage_period_premium"),
        ]

    def __str__(self) -> str:
        return f"{self.scheme.name} {self.name}"

    @property
    def closed(self) -> bool:
        return self.state == self.State.CLOSED


class EnrolmentQuerySet(models.QuerySet):
    def visible_to(self, user: User) -> EnrolmentQuerySet:
        return scoped_by_ids(user, self, "member__union")

    def covering(self, day: dt.date) -> EnrolmentQuerySet:
        return self.filter(state=Enrolment.State.ACTIVE, coverage_from__lte=day,
                           coverage_to__gte=day)


class Enrolment(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active", "参保"
        WITHDRAWN = "withdrawn", "已退保"

    # No index of their own for member, period and notice: the indexes below lead with
    # them, and a city's enrolment writes every index (bench/bench_coverage.py).
    member = models.ForeignKey(Member, verbose_name="会员", on_delete=models.PROTECT,
                               related_name="enrolments", db_index=False)
    period = models.ForeignKey(Period, verbose_name="互助期", on_delete=models.PROTECT,
                               related_name="enrolments", db_index=False)
    unit = models.ForeignKey(Unit, verbose_name="参保单位", on_delete=models.PROTECT,
                             related_name="enrolments")
    enrolled_on = models.DateField("参保日期")
    # The start of unbroken membership of the scheme: waiting periods count from here.
    first_enrolled = models.DateField("首次参保日期")
    # Null until the premium is paid (schemes whose coverage starts on payment).
    coverage_from = models.DateField("保障开始", null=True, blank=True)
    coverage_to = models.DateField("保障结束")
    premium = MoneyField("应缴互助金")
    paid_on = models.DateField("缴费日期", null=True, blank=True)
    state = models.CharField("状态", max_length=10, choices=State.choices,
                             default=State.ACTIVE)
    withdrawn_on = models.DateField("退保日期", null=True, blank=True)
    notice = models.ForeignKey("PremiumNotice", verbose_name="缴费通知", null=True,
                               blank=True, on_delete=models.PROTECT, related_name="enrolments",
                               db_index=False)
    created_by = models.ForeignKey("orgs.User", verbose_name="经办人", null=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    objects = EnrolmentQuerySet.as_manager()

    class Meta:
        verbose_name = "参保记录"
        verbose_name_plural = "参保记录"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["member", "period"], name="coverage_one_enrolment"),
            models.CheckConstraint(condition=Q(premium__gte=0), name="coverage_enrol_premium"),
        ]
        indexes = [
            # Both covering, for the period page: its units' counts, and the whole period's
            # (a million enrolments counted from a small index, not the rows).
            models.Index(fields=["period", "unit", "state", "paid_on", "premium"],
                         name="coverage_enrol_unit_paid"),
            models.Index(fields=["period", "state", "paid_on"], name="coverage_enrol_paid"),
            models.Index(fields=["member", "coverage_to"], name="coverage_enrol_member_to"),
            models.Index(fields=["notice", "id"], name="coverage_enrol_notice"),
        ]

    def __str__(self) -> str:
        return f"{self.member} · {self.period}"

    @property
    def paid(self) -> bool:
        return self.paid_on is not None


class PremiumNotice(models.Model):
    """What a unit owes for a period: its enrolments × their premiums (缴费通知单)."""

    class State(models.TextChoices):
        UNPAID = "unpaid", "未缴"
        PARTIAL = "partial", "部分缴纳"
        PAID = "paid", "已缴清"

    period = models.ForeignKey(Period, verbose_name="互助期", on_delete=models.PROTECT,
                               related_name="notices")
    unit = models.ForeignKey(Unit, verbose_name="单位", on_delete=models.PROTECT,
                             related_name="premium_notices")
    number = models.CharField("通知单号", max_length=32, unique=True)
    members = models.PositiveIntegerField("参保人数", default=0)
    amount_due = MoneyField("应缴金额", default=Decimal("0.00"))
    amount_paid = MoneyField("已缴金额", default=Decimal("0.00"))
    state = models.CharField("状态", max_length=8, choices=State.choices, default=State.UNPAID)
    due_date = models.DateField("缴费截止")
    issued_at = models.DateTimeField("开具时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "缴费通知"
        verbose_name_plural = "缴费通知"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["period", "unit"], name="coverage_one_notice"),
            # A payment can never exceed what is owed, whatever the code does.
            models.CheckConstraint(condition=Q(amount_paid__gte=0)
                                   & Q(amount_paid__lte=F("amount_due")),
                                   name="coverage_notice_not_overpaid"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.unit}"

    @property
    def outstanding(self) -> Decimal:
        return self.amount_due - self.amount_paid


class Payment(models.Model):
    notice = models.ForeignKey(PremiumNotice, verbose_name="缴费通知", on_delete=models.PROTECT,
                               related_name="payments")
    amount = MoneyField("金额")
    paid_on = models.DateField("到账日期")
    bank_reference = models.CharField("银行流水号", max_length=64)
    registered_by = models.ForeignKey("orgs.User", verbose_name="登记人", on_delete=models.PROTECT,
                                      related_name="+")
    registered_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        verbose_name = "缴费记录"
        verbose_name_plural = "缴费记录"
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="coverage_payment_positive"),
            # The same bank transfer registered twice (a retried request) is one payment.
            models.UniqueConstraint(fields=["notice", "bank_reference"],
                                    name="coverage_payment_once"),
        ]

    def __str__(self) -> str:
        return f"{self.notice.number} {self.amount}"


class Account(models.TextChoices):
    """The fund's chart of accounts (互助金账科目)."""

    BANK = "bank", "银行存款"
    RECEIVABLE = "receivable", "应收互助金"
    PREMIUM_INCOME = "premium_income", "互助金收入"
    SUBSIDY_INCOME = "subsidy_income", "工会补贴拨款"
    BENEFIT_EXPENSE = "benefit_expense", "互助金给付"
    ADJUSTMENT = "adjustment", "调整"


class LedgerEntry(models.Model):
    """One double entry: ``amount`` is debited to one account and credited to another.

    Balanced by construction (a CHECK keeps the amount positive and the accounts apart),
    append-only by triggers (see the migration), idempotent by (kind, reference).
    """

    class Kind(models.TextChoices):
        PREMIUM_DUE = "premium_due", "应收互助金"
        PREMIUM_PAID = "premium_paid", "互助金到账"
        SUBSIDY = "subsidy", "补贴拨款"
        PAYOUT = "payout", "给付"
        ADJUSTMENT = "adjustment", "调整"
        # The mirror of a mistaken entry, approved by a second person (coverage.reversals).
        REVERSAL = "reversal", "冲正"

    scheme = models.ForeignKey(Scheme, verbose_name="保障项目", on_delete=models.PROTECT,
                               related_name="ledger")
    period = models.ForeignKey(Period, verbose_name="互助期", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="ledger")
    booked_on = models.DateField("记账日期")
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    debit = models.CharField("借方科目", max_length=16, choices=Account.choices)
    credit = models.CharField("贷方科目", max_length=16, choices=Account.choices)
    amount = MoneyField("金额")
    reference = models.CharField("来源", max_length=64)
    memo = models.CharField("摘要", max_length=200, blank=True)
    created_by = models.ForeignKey("orgs.User", verbose_name="记账人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("记账时间", auto_now_add=True)

    class Meta:
        verbose_name = "互助金账"
        verbose_name_plural = "互助金账"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="coverage_ledger_positive"),
            models.CheckConstraint(condition=~Q(debit=F("credit")),
                                   name="coverage_ledger_two_sides"),
            models.CheckConstraint(condition=Q(debit__in=Account.values)
                                   & Q(credit__in=Account.values),
                                   name="coverage_ledger_accounts"),
            models.UniqueConstraint(fields=["kind", "reference"], name="coverage_ledger_once"),
        ]
        indexes = [models.Index(fields=["scheme", "period"], name="coverage_ledger_scheme")]

    def __str__(self) -> str:
        return f"{self.booked_on} {self.get_kind_display()} {self.amount}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise PermissionError("互助金账只能追加，不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("互助金账只能追加，不能删除")


class LedgerReversal(models.Model):
    """A request to reverse (冲正) one ledger entry, and its decision by a second person.

    The entry itself is never changed: approval posts its mirror, a ``reversal`` entry
    (see :mod:`huzhu.coverage.reversals`). The database keeps an entry to one pending or
    done request, the decider apart from the requester, and each state's fields filled
    as the state says, whatever code writes the row.
    """

    class State(models.TextChoices):
        PENDING = "pending", "待审批"
        DONE = "done", "已冲正"
        REJECTED = "rejected", "已驳回"

    entry = models.ForeignKey(LedgerEntry, verbose_name="原分录", on_delete=models.PROTECT,
                              related_name="reversals")
    reason = models.CharField("冲正原因", max_length=200)
    requested_by = models.ForeignKey("orgs.User", verbose_name="申请人",
                                     on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField("申请时间", auto_now_add=True)
    state = models.CharField("状态", max_length=16, choices=State.choices,
                             default=State.PENDING)
    decided_by = models.ForeignKey("orgs.User", verbose_name="审批人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField("审批时间", null=True, blank=True)
    decision_note = models.CharField("审批意见", max_length=200, blank=True)
    reversing_entry = models.OneToOneField(LedgerEntry, verbose_name="冲正分录", null=True,
                                           blank=True, on_delete=models.PROTECT,
                                           related_name="reversal_of")

    class Meta:
        verbose_name = "冲正申请"
        verbose_name_plural = "冲正申请"
        ordering = ["-id"]
        constraints = [
            # One live request per entry: a second request waits for the first to be
            # rejected, and a reversed entry is never reversed again.
            models.UniqueConstraint(fields=["entry"],
                                    condition=Q(state__in=["pending", "done"]),
                                    name="coverage_reversal_once"),
            models.CheckConstraint(condition=Q(decided_by__isnull=True)
                                   | ~Q(decided_by=F("requested_by")),
                                   name="coverage_reversal_four_eyes"),
            models.CheckConstraint(
                condition=(Q(state="pending", decided_by__isnull=True,
                             decided_at__isnull=True, reversing_entry__isnull=True)
                           | Q(state="done", decided_by__isnull=False,
                               decided_at__isnull=False, reversing_entry__isnull=False)
                           | Q(state="rejected", decided_by__isnull=False,
                               decided_at__isnull=False, reversing_entry__isnull=True)),
                name="coverage_reversal_state"),
        ]

    def __str__(self) -> str:
        return f"冲正第 {self.entry_id} 号（{self.get_state_display()}）"
