"""复核 (appeal): a member's (or, after a phone call, a clerk's) request that a rejection
or a lowered amount be looked at again — a case of its own, with a due date, decided by
a reviewer who took no part in the original decision (:mod:`huzhu.claims.appeals`)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from huzhu.claims.models.claim import Claim
from huzhu.lib.money import MoneyField


class Appeal(models.Model):
    class State(models.TextChoices):
        OPEN = "open", "待复核"
        UPHELD = "upheld", "维持原决定"
        CHANGED = "changed", "改变原决定"

    claim = models.ForeignKey(Claim, verbose_name="理赔", on_delete=models.PROTECT,
                              related_name="appeals")
    opened_by_member = models.BooleanField("会员本人申请", default=False)
    # The clerk who opened it for the member (a phone call to the union); None when the
    # member asked on the member pages.
    opened_by = models.ForeignKey("orgs.User", verbose_name="代为申请的工作人员", null=True,
                                  blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField("申请理由", max_length=500)
    state = models.CharField("状态", max_length=8, choices=State.choices, default=State.OPEN)
    due_on = models.DateField("办理期限")
    # What the appeal is about, as it stood when opened: the claim's state (rejected,
    # or given at a lowered amount) and its approved amount then.
    original_state = models.CharField("原决定", max_length=16, choices=Claim.State.choices)
    original_amount = MoneyField("原核定金额", null=True, blank=True)
    decided_by = models.ForeignKey("orgs.User", verbose_name="复核人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    # The written reason the member sees (SMS and the member's claim page).
    decision_reason = models.CharField("复核结论说明", max_length=500, blank=True)
    new_amount = MoneyField("改定金额", null=True, blank=True)
    opened_at = models.DateTimeField("申请时间", auto_now_add=True)
    decided_at = models.DateTimeField("复核时间", null=True, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "复核"
        verbose_name_plural = "复核"
        ordering = ["-id"]
        indexes = [
            # The queue's 复核 tab: open appeals by due date.
            models.Index(fields=["state", "due_on"], name="claims_appeal_due"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["claim"], condition=Q(state="open"),
                                    name="claims_one_open_appeal"),
            # A decided appeal names who decided it, when, and why.
            models.CheckConstraint(
                condition=Q(state="open") | Q(decided_by__isnull=False,
                                               decided_at__isnull=False),
                name="claims_appeal_decided"),
            models.CheckConstraint(condition=Q(new_amount__isnull=True) | Q(new_amount__gt=0),
                                   name="claims_appeal_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.get_state_display()}"

    @property
    def is_open(self) -> bool:
        return self.state == self.State.OPEN
