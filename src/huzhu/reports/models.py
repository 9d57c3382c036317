"""What-if runs (改革测算): a reform simulated over the registry's claims history of a past
period, run by the background worker; the report is kept (JSON and xlsx)."""

from __future__ import annotations

from django.db import models

from huzhu.coverage.models import Period, Scheme
from huzhu.lib.jobs import FileJob, JobFiles, Progress
from huzhu.lib.money import MoneyField
from huzhu.orgs.models import Union
from huzhu.orgs.scope import scoped


class WhatIfRunQuerySet(models.QuerySet):
    def visible_to(self, user) -> WhatIfRunQuerySet:
        """Runs made at a node of the user's subtree."""
        return scoped(user, self)


class WhatIfRun(FileJob):
    """A what-if run: a job whose progress is its row (``step`` of :attr:`STEPS`) and
    whose result is an xlsx file besides the JSON report. Not judged stuck: it keeps no
    sign of life to judge by."""

    class Status(models.TextChoices):
        PENDING = "pending", "排队中"
        RUNNING = "running", "测算中"
        DONE = "done", "已完成"
        FAILED = "failed", "失败"

    STEPS = ("读取会员与参保记录", "读取理赔历史", "两套政策测算", "写出报告")
    FILES = JobFiles("what-if")
    OUTPUT_FIELDS = ("file_path",)

    scheme = models.ForeignKey(Scheme, verbose_name="保障项目", on_delete=models.PROTECT,
                               related_name="what_if_runs")
    union = models.ForeignKey(Union, verbose_name="工会", on_delete=models.PROTECT,
                              related_name="what_if_runs")
    period = models.ForeignKey(Period, verbose_name="互助期", on_delete=models.PROTECT,
                               related_name="what_if_runs")
    created_by = models.ForeignKey("orgs.User", verbose_name="测算人", on_delete=models.PROTECT,
                                   related_name="+")
    name = models.CharField("改革方案", max_length=200)
    reform_text = models.TextField("改革方案内容（YAML）")
    status = models.CharField("状态", max_length=8, choices=Status.choices,
                              default=Status.PENDING)
    step = models.PositiveSmallIntegerField("已完成步骤", default=0)
    message = models.CharField("说明", max_length=1000, blank=True)
    report = models.JSONField("测算报告", null=True, blank=True)
    file_path = models.CharField(max_length=500, blank=True, editable=False)
    started_at = None  # not kept: elapsed counts from created_at

    objects = WhatIfRunQuerySet.as_manager()

    class Meta:
        verbose_name = "改革测算"
        verbose_name_plural = "改革测算"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.scheme.name} · {self.name}"

    def progress(self) -> Progress:
        return self.measure(self.step_label, self.step, len(self.STEPS), self.created_at)

    @property
    def step_label(self) -> str:
        return self.STEPS[min(self.step, len(self.STEPS) - 1)]


class PaidPayout(models.Model):
    """One paid payout as the statistics read it: narrow, with what the figures group by
    (benefit, the policy tier, the member's union) decided once when it is recorded, so
    a year of a city is a range of one index, not a join of payouts, claims and members.

    Written only by :func:`huzhu.reports.paid.refresh`: a paid payout is added once, and
    taken out again only if the bank returns the transfer (退票)."""

    payout = models.OneToOneField("claims.Payout", primary_key=True, on_delete=models.CASCADE,
                                  related_name="+")
    claim_id = models.BigIntegerField()
    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="+",
                               db_index=False)
    member_id = models.BigIntegerField()
    union_id = models.BigIntegerField()
    """The member's grassroots union when the payout was recorded (normally within a
    minute of its payment): last year's report does not change when a member moves."""
    paid_on = models.DateField()
    amount = MoneyField()
    benefit = models.CharField(max_length=64)
    tier = models.SmallIntegerField()
    """Index into :func:`huzhu.reports.tiers.plan` of the scheme's policy; -1: no tier."""
    cycle_days = models.IntegerField(null=True)
    """Days from the claim's submission (local date) to the payment date."""
    proactive = models.BooleanField(default=False)
    """Paid without an application: the claim was found in a settlement feed (免申即享)."""

    class Meta:
        indexes = [
            models.Index(fields=["scheme", "paid_on"], name="reports_paid_scheme_day"),
            models.Index(fields=["scheme", "union_id", "paid_on"], name="reports_paid_union_day"),
        ]

    def __str__(self) -> str:
        return f"{self.payout_id} {self.paid_on} {self.amount}"


class ReportSync(models.Model):
    """How far :class:`PaidPayout` has been brought up to date, and with which policy
    (by content hash) each scheme's tiers were decided."""

    name = models.CharField(max_length=32, primary_key=True)
    synced_until = models.DateTimeField(null=True)
    policy_hashes = models.JSONField(default=dict)
    version = models.PositiveIntegerField(default=0)
    """Raised whenever rows are added or re-tiered: cached figures of an older version
    are stale."""

    def __str__(self) -> str:
        return f"{self.name} {self.synced_until}"
