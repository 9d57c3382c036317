"""The record that a large claim's unit was called (回访), one per claim."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class ClaimFollowUp(models.Model):
    claim = models.OneToOneField("claims.Claim", verbose_name="理赔", on_delete=models.PROTECT,
                                 related_name="follow_up_call")
    called_by = models.ForeignKey("orgs.User", verbose_name="回访人", on_delete=models.PROTECT,
                                  related_name="+")
    called_at = models.DateTimeField("回访时间", default=timezone.now)
    note = models.CharField("回访情况", max_length=300)

    class Meta:
        verbose_name = "大额理赔回访"
        verbose_name_plural = "大额理赔回访"
        ordering = ["-called_at", "-id"]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.called_at:%Y-%m-%d}"
