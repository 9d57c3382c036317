"""One bulk step of the queue (批量办理): the claims a user selected, the step, and what
came of each claim. The service is :mod:`huzhu.claims.bulk`; the background task
:mod:`huzhu.claims.bulk_jobs`.

The selection is frozen when the user is asked to confirm (``draft``): the confirmation
form names the job, not the claims, so sending it twice finds the job already taken and
shows its result — a step is never applied twice from one form.
"""

from __future__ import annotations

import datetime as dt

from django.db import models

from huzhu.lib.jobs import FileJob, Progress


class BulkJob(FileJob):
    """A job with no files; its progress is its row (``done`` of ``total``), its sign of
    life ``updated_at``."""

    class Status(models.TextChoices):
        DRAFT = "draft", "待确认"
        PENDING = "pending", "排队中"
        RUNNING = "running", "办理中"
        DONE = "done", "已完成"
        FAILED = "failed", "未完成"

    WORKING = (Status.RUNNING,)
    STALE_AFTER = dt.timedelta(minutes=10)
    INTERRUPTED = "后台办理中断：已办理的理赔保留，其余未办理，可重新选择后再办理"

    user = models.ForeignKey("orgs.User", verbose_name="操作人", on_delete=models.PROTECT,
                             related_name="bulk_jobs")
    step = models.CharField("办理步骤", max_length=32)
    # The step's inputs shared by every claim (a reason for 退回 or 不予给付).
    data = models.JSONField("办理内容", default=dict, blank=True)
    claim_ids = models.JSONField("所选理赔", default=list, blank=True)
    described = models.CharField("选择方式", max_length=300, blank=True)
    status = models.CharField("状态", max_length=8, choices=Status.choices,
                              default=Status.DRAFT)
    total = models.PositiveIntegerField("共计", default=0)
    done = models.PositiveIntegerField("已处理", default=0)
    moved = models.PositiveIntegerField("已办理", default=0)
    # [[claim id, claim number ("" when not shown), reason], …] in the selection's order.
    refused = models.JSONField("未办理", default=list, blank=True)
    updated_at = models.DateTimeField("最近进展", auto_now=True)

    class Meta:
        verbose_name = "批量办理"
        verbose_name_plural = verbose_name

    def __str__(self) -> str:
        return f"批量办理 #{self.pk}"

    @property
    def running(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.RUNNING)

    def last_sign_of_life(self) -> dt.datetime | None:
        return self.updated_at

    def progress(self) -> Progress:
        return self.measure(self.status, self.done, self.total or None, self.started_at)
