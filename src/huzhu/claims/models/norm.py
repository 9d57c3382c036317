"""The usual amounts the ``unusual_amount`` signal compares with, as a snapshot table
(kept fresh by :mod:`huzhu.claims.usual_amounts`).

A median over 500,000 approved claims cannot be taken on every queue page (a pass over
the whole history takes about a second), and it changes slowly: one approval moves it by
at most one rank. So the work queue reads a snapshot, one row per scheme, benefit and
main diagnosis category, refreshed when it is older than ``usual_amounts.MAX_AGE`` (the
queue may lag the latest approvals by that much); the claim page's
:func:`huzhu.claims.flags.flags_for` computes its one group's median live. Kept in the
database, the snapshot goes wherever the data goes (a test's rollback, a restore).
"""

from __future__ import annotations

from django.db import models

THRESHOLD = {"max_digits": 16, "decimal_places": 3}  # 3 × a median of half fen


class ClaimAmountNorm(models.Model):
    scheme = models.ForeignKey("coverage.Scheme", verbose_name="保障项目",
                               on_delete=models.CASCADE, related_name="+")
    benefit = models.CharField("保障项目代码", max_length=64)
    category = models.CharField("主诊断类目", max_length=3)
    n = models.PositiveIntegerField("已审批笔数")
    median = models.DecimalField("中位数", **THRESHOLD)
    # Above these the amount is unusual: a claim outside the history is compared with all
    # of it; a claim of the history with the others only (see flags._with_unusual).
    threshold = models.DecimalField("提示线", **THRESHOLD, null=True)
    threshold_in_history = models.DecimalField("提示线（本笔已审批）", **THRESHOLD, null=True)
    computed_at = models.DateTimeField("计算时间")

    class Meta:
        verbose_name = "同诊断通常金额"
        verbose_name_plural = "同诊断通常金额"
        constraints = [models.UniqueConstraint(fields=["scheme", "benefit", "category"],
                                               name="claims_norm_group")]

    def __str__(self) -> str:
        return f"{self.scheme_id} {self.benefit} {self.category} {self.median}"
