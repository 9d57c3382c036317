"""Payouts (给付): approved claims paid together by one bank transfer file, each claim's
payout in it pending, paid, failed or returned (退票: paid, then sent back by the bank,
e.g. the account was closed); the services are :mod:`huzhu.claims.payouts`."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from huzhu.claims.models.claim import Claim
from huzhu.coverage.models import Scheme
from huzhu.lib.money import MoneyField
from huzhu.orgs.models import User
from huzhu.orgs.scope import scoped


class PayoutBatchQuerySet(models.QuerySet):
    def visible_to(self, user: User) -> PayoutBatchQuerySet:
        """Batches made in the user's subtree (a batch holds claims of its union's)."""
        return scoped(user, self)


class PayoutBatch(models.Model):
    """Approved claims paid together by one bank transfer file (给付批次)."""

    class State(models.TextChoices):
        OPEN = "open", "待付款"
        CLOSED = "closed", "已完成"

    number = models.CharField("批次号", max_length=20, unique=True)
    scheme = models.ForeignKey(Scheme, verbose_name="保障项目", on_delete=models.PROTECT,
                               related_name="payout_batches")
    union = models.ForeignKey("orgs.Union", verbose_name="工会", on_delete=models.PROTECT,
                              related_name="payout_batches")
    state = models.CharField("状态", max_length=8, choices=State.choices, default=State.OPEN)
    created_by = models.ForeignKey("orgs.User", verbose_name="创建人", on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    closed_at = models.DateTimeField("完成时间", null=True, blank=True)

    objects = PayoutBatchQuerySet.as_manager()

    class Meta:
        verbose_name = "给付批次"
        verbose_name_plural = "给付批次"
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.number


class Payout(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "待付款"
        PAID = "paid", "已付款"
        FAILED = "failed", "付款失败"
        RETURNED = "returned", "已退票"

    batch = models.ForeignKey(PayoutBatch, verbose_name="批次", on_delete=models.PROTECT,
                              related_name="payouts")
    claim = models.ForeignKey(Claim, verbose_name="理赔", on_delete=models.PROTECT,
                              related_name="payouts")
    amount = MoneyField("金额")
    state = models.CharField("状态", max_length=8, choices=State.choices, default=State.PENDING)
    failure_reason = models.CharField("银行退回原因", max_length=200, blank=True)
    paid_on = models.DateField("付款日期", null=True, blank=True)
    returned_on = models.DateField("退票日期", null=True, blank=True)
    # The 序号 of the payout's row in the batch's last bank file: the bank's result file
    # names a transfer by it (the 代发 layout carries no claim number).
    bank_seq = models.PositiveIntegerField("银行文件序号", null=True, blank=True)
    # The blind index of the account the bank file paid to: after a 退票 the claim is
    # paid again only once the member's account differs from it (待更正账号).
    account_hash = models.CharField("付款账号索引", max_length=64, blank=True, default="",
                                    db_default="")
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "给付"
        verbose_name_plural = "给付"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="claims_payout_positive"),
            # A claim is in at most one open batch, and paid at most once per batch: in
            # the database. A returned payout leaves both indexes, so pay → 退票 → pay
            # again is allowed. A second paid payout in another batch is the difference a
            # 复核 raised the approved amount by (huzhu.claims.appeals): the batch pays
            # final − already paid (payouts.build), so the paid payouts sum to the claim's
            # final, which ``huzhu audit money`` checks.
            models.UniqueConstraint(fields=["claim"], condition=Q(state="pending"),
                                    name="claims_one_pending_payout"),
            models.UniqueConstraint(fields=["claim", "batch"], condition=Q(state="paid"),
                                    name="claims_paid_once_per_batch"),
            # A returned payout was paid on a day and returned on a day, not before it.
            models.CheckConstraint(
                condition=~Q(state="returned") | Q(paid_on__isnull=False,
                                                   returned_on__isnull=False,
                                                   returned_on__gte=models.F("paid_on")),
                name="claims_payout_returned_dated"),
        ]
        indexes = [
            # The bank's result file names payouts by 序号 within their batch.
            models.Index(fields=["batch", "bank_seq"], name="claims_payout_batch_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id} {self.claim_id} {self.amount}"
