"""What-if runs (改革测算): a reform simulated over the registry's claims history of a past
period, run by the background worker; the report is kept (JSON and xlsx)."""

from __future__ import annotations

from django.db import models

from huzhu.coverage.models import Period, Scheme
from huzhu.orgs.models import Union


class WhatIfRunQuerySet(models.QuerySet):
    def visible_to(self, user) -> WhatIfRunQuerySet:
        """Runs made at a node of the user's subtree."""
        from huzhu.orgs.scope import scoped

        return scoped(user, self)


class WhatIfRun(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "排队中"
        RUNNING = "running", "测算中"
        DONE = "done", "已完成"
        FAILED = "failed", "失败"

    STEPS = ("读取会员与参保记录", "读取理赔历史", "两套政策测算", "写出报告")

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
    created_at = models.DateTimeField("提交时间", auto_now_add=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    objects = WhatIfRunQuerySet.as_manager()

    class Meta:
        verbose_name = "改革测算"
        verbose_name_plural = "改革测算"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.scheme.name} · {self.name}"

    @property
    def running(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.RUNNING)

    @property
    def percent(self) -> int:
        return round(100 * self.step / len(self.STEPS))

    @property
    def step_label(self) -> str:
        return self.STEPS[min(self.step, len(self.STEPS) - 1)]
