"""Claims (理赔): a member's event under one benefit of a scheme, its materials, its
review history, and its payout.

The event's facts are columns (the engine reads them, and reviewers' signals query
them); the engine's computation is kept as it was at submission and at approval, with
the policy hash it used. ``computed`` is the engine's amount, ``final`` what was
approved (a reviewer may lower it, never raise it).
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.db import models
from django.db.models import Q

from huzhu.coverage.models import Period, Scheme
from huzhu.lib.money import MoneyField
from huzhu.members.models import Member
from huzhu.orgs.models import User
from huzhu.orgs.scope import scoped_by_ids

FOLLOW_UP_ABOVE = Decimal("10000.00")  # Changchun calls the unit for larger payouts


class ClaimQuerySet(models.QuerySet):
    def visible_to(self, user: User) -> ClaimQuerySet:
        return scoped_by_ids(user, self, "member__union")


REVIEWERS = ("first_reviewed_by", "second_reviewed_by", "late_exception_by")


class Claim(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", "草稿"
        PROACTIVE = "proactive", "免申即享待审核"
        SUBMITTED = "submitted", "待初审"
        SECOND_REVIEW = "second_review", "待复审"
        RETURNED = "returned", "退回补充材料"
        APPROVED = "approved", "已审批待给付"
        IN_BATCH = "in_batch", "给付中"
        PAID = "paid", "已给付"
        REJECTED = "rejected", "不予给付"
        WITHDRAWN = "withdrawn", "已撤回"

    class Source(models.TextChoices):
        MANUAL = "manual", "经办申请"
        PROACTIVE = "proactive", "免申即享"
        MEMBER = "member", "会员自助申请"

    class RejectCode(models.TextChoices):
        """Why a claim is not paid (不予给付原因): the member's SMS and the page name it."""

        NOT_COVERED = "not_covered", "不属于保障范围"
        NOT_ELIGIBLE = "not_eligible", "不符合给付条件"
        DUPLICATE = "duplicate", "重复申请"
        LATE = "late", "超过申请期限"
        FALSE_MATERIAL = "false_material", "材料不实"
        OTHER = "other", "其他"

    # The states in which a claim counts as given (approved, in a payout batch, paid):
    # what counts against the member's caps, the history the usual amounts are taken
    # from, what the member page sums for the year, what the follow-up list calls about.
    GIVEN: ClassVar[tuple[str, ...]] = (State.APPROVED, State.IN_BATCH, State.PAID)

    number = models.CharField("理赔编号", max_length=20, unique=True)
    # member and scheme lead the composite indexes below, which serve their lookups: an
    # index of their own would only slow the proactive batch's inserts.
    member = models.ForeignKey(Member, verbose_name="会员", on_delete=models.PROTECT,
                               related_name="claims", db_index=False)
    scheme = models.ForeignKey(Scheme, verbose_name="保障项目", on_delete=models.PROTECT,
                               related_name="claims", db_index=False)
    period = models.ForeignKey(Period, verbose_name="互助期", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="claims")
    benefit = models.CharField("保障项目代码", max_length=64)
    benefit_name = models.CharField("保障项目名称", max_length=100)
    source = models.CharField("来源", max_length=10, choices=Source.choices,
                              default=Source.MANUAL)
    state = models.CharField("状态", max_length=16, choices=State.choices, default=State.DRAFT)

    # The event, in the engine's terms (huzhu calc's events columns).
    event_date = models.DateField("事件日期")
    admit_date = models.DateField("入院日期", null=True, blank=True)
    days = models.PositiveIntegerField("住院天数", null=True, blank=True)
    out_of_pocket = MoneyField("个人现金支付", null=True, blank=True)
    total_cost = MoneyField("医疗费总额", null=True, blank=True)
    diagnosis = models.CharField("诊断编码", max_length=200, blank=True)
    outcome = models.CharField("伤害结果", max_length=12, blank=True)
    disability_grade = models.PositiveSmallIntegerField("伤残等级", null=True, blank=True)
    fracture_site = models.CharField("骨折部位", max_length=8, blank=True)
    work_related = models.BooleanField("是否工伤", null=True, blank=True)
    loss_amount = MoneyField("核定损失", null=True, blank=True)
    certificate_no = models.CharField("火灾事故认定书编号", max_length=64, blank=True)
    on_duty = models.BooleanField("是否因公", null=True, blank=True)
    relation = models.CharField("亲属关系", max_length=8, blank=True)
    relative_name = models.CharField("亲属姓名", max_length=50, blank=True)
    # A keyed hash of the relative's ID number: caps "once per relative" need a stable key,
    # the number itself is not needed (and not kept).
    relative_key = models.CharField(max_length=64, blank=True)
    co_resident = models.BooleanField("是否共同生活", null=True, blank=True)
    hospital = models.CharField("医院", max_length=100, blank=True)
    # The settled stay a proactive claim (免申即享) was found in; None for a filed claim.
    # Its index is the unique (settlement, benefit) one below: a second would only slow
    # the batch's inserts.
    settlement = models.ForeignKey("feeds.Settlement", verbose_name="医保结算记录", null=True,
                                   blank=True, on_delete=models.PROTECT, related_name="claims",
                                   db_index=False)
    invoice_number = models.CharField("发票号", max_length=64, blank=True, db_index=True)

    # Money and its explanation.
    computed = MoneyField("测算金额", null=True, blank=True)
    final = MoneyField("核定金额", null=True, blank=True)
    reduction_reason = models.CharField("核减原因", max_length=200, blank=True)
    computation = models.JSONField("计算过程", default=dict, blank=True)
    policy_hash = models.CharField("政策内容哈希", max_length=64, blank=True)

    # Who did what (four eyes: never the same person twice). The reviewers' indexes are
    # partial (Meta): a new claim has none, and only deleting a user looks them up.
    filed_by = models.ForeignKey("orgs.User", verbose_name="经办人", on_delete=models.PROTECT,
                                 related_name="+")
    first_reviewed_by = models.ForeignKey("orgs.User", verbose_name="初审人", null=True,
                                          blank=True, on_delete=models.PROTECT, related_name="+",
                                          db_index=False)
    second_reviewed_by = models.ForeignKey("orgs.User", verbose_name="复审人", null=True,
                                           blank=True, on_delete=models.PROTECT, related_name="+",
                                           db_index=False)
    late_exception_by = models.ForeignKey("orgs.User", verbose_name="逾期例外批准人", null=True,
                                          blank=True, on_delete=models.PROTECT, related_name="+",
                                          db_index=False)
    late_exception_reason = models.CharField("逾期例外理由", max_length=200, blank=True)
    # A second person's word that a claim the duplicate rule holds back is not a
    # duplicate (claims.duplicates): approval and batching need it.
    duplicate_override_by = models.ForeignKey("orgs.User", verbose_name="确认非重复人",
                                              null=True, blank=True, on_delete=models.PROTECT,
                                              related_name="+", db_index=False)
    duplicate_override_reason = models.CharField("确认非重复理由", max_length=200, blank=True)
    missing_materials = models.JSONField("需补充的材料", default=list, blank=True)
    return_note = models.CharField("退回说明", max_length=200, blank=True)
    reject_code = models.CharField("不予给付原因", max_length=32, blank=True,
                                   choices=RejectCode.choices)
    reject_text = models.CharField("不予给付说明", max_length=200, blank=True)

    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    submitted_at = models.DateTimeField("提交时间", null=True, blank=True)
    approved_at = models.DateTimeField("审批时间", null=True, blank=True)
    paid_at = models.DateTimeField("给付时间", null=True, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    # The review-by-exception decision (第 N 号抽样复核决定, feeds.ProactiveSample) the
    # claim was approved under with the rest of its run; None for a claim reviewed on its
    # own. A number, not a foreign key: the feeds app sits above the claims app. The bulk
    # approval's cap check leaves out what its own earlier chunks approved by it.
    proactive_decision = models.PositiveIntegerField("批量核准决定编号", null=True, blank=True)

    objects = ClaimQuerySet.as_manager()

    class Meta:
        verbose_name = "理赔"
        verbose_name_plural = "理赔"
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["state", "id"], name="claims_state_id"),
            models.Index(fields=["member", "scheme", "state"], name="claims_member_scheme"),
            models.Index(fields=["scheme", "benefit", "state"], name="claims_scheme_benefit"),
            models.Index(fields=["event_date"], name="claims_event_date"),
            *(models.Index(fields=[f], condition=Q(**{f"{f}__isnull": False}),
                           name=f"claims_{f}") for f in REVIEWERS),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(final__isnull=True) | Q(final__gte=0),
                                   name="claims_final_positive"),
            # Never raised above the engine's amount, whatever the code does.
            models.CheckConstraint(condition=Q(final__isnull=True) | Q(computed__isnull=True)
                                   | Q(final__lte=models.F("computed")),
                                   name="claims_final_not_above_computed"),
            # A stay is claimed at most once per benefit, even by two batches at once.
            models.UniqueConstraint(fields=["settlement", "benefit"],
                                    condition=Q(settlement__isnull=False),
                                    name="claims_one_per_stay_benefit"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.member} {self.benefit_name}"

    @staticmethod
    def number_for(year: int, pk: int) -> str:
        """理赔编号: LP, the event's year, the id in seven digits (LP20260000123)."""
        return f"LP{year:04d}{pk:07d}"

    @property
    def amount(self) -> Decimal | None:
        """What is (or would be) paid: the approved amount, else the computed one."""
        return self.final if self.final is not None else self.computed

    @property
    def follow_up(self) -> bool:
        return (self.amount or 0) > FOLLOW_UP_ABOVE


class ClaimEvent(models.Model):
    """One step in a claim's history: who moved it from where to where, and why."""

    claim = models.ForeignKey(Claim, verbose_name="理赔", on_delete=models.CASCADE,
                              related_name="history")
    at = models.DateTimeField("时间", auto_now_add=True)
    actor = models.ForeignKey("orgs.User", verbose_name="操作人", null=True,
                              on_delete=models.PROTECT, related_name="+")
    action = models.CharField("操作", max_length=20)
    from_state = models.CharField("原状态", max_length=16, blank=True)
    to_state = models.CharField("新状态", max_length=16)
    note = models.CharField("说明", max_length=300, blank=True)
    amount = MoneyField("金额", null=True, blank=True)

    class Meta:
        verbose_name = "理赔记录"
        verbose_name_plural = "理赔记录"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.action}"


class ClaimMaterial(models.Model):
    """A document of a claim (发票, 出院小结 …), stored outside the web root."""

    claim = models.ForeignKey(Claim, verbose_name="理赔", on_delete=models.CASCADE,
                              related_name="materials")
    kind = models.CharField("材料类型", max_length=32)
    file_name = models.CharField("文件名", max_length=200)
    stored_path = models.CharField(max_length=500, editable=False)
    content_type = models.CharField("文件格式", max_length=40)
    size = models.PositiveIntegerField("大小（字节）")
    # Indexed: the review signal "the same file in another member's claim" probes it.
    sha256 = models.CharField(max_length=64, db_index=True)
    uploaded_by = models.ForeignKey("orgs.User", verbose_name="上传人", on_delete=models.PROTECT,
                                    related_name="+")
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        verbose_name = "理赔材料"
        verbose_name_plural = "理赔材料"
        ordering = ["kind", "id"]

    def __str__(self) -> str:
        return self.file_name
