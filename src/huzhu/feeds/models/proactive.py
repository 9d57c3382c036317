"""The proactive batch's records (免申即享): each run of a feed under a scheme
(:class:`BatchRun`) and what it found for every row of the feed and every benefit
(:class:`StayOutcome`). The code that makes them is :mod:`huzhu.feeds.proactive`.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.utils import timezone

from huzhu.feeds.models.feed import made_within
from huzhu.lib.jobs import FileJob, Progress
from huzhu.lib.money import MoneyField
from huzhu.orgs.scope import scope_union_ids

# The engines by what they mean to a data officer (the stored codes stay as they are).
ENGINE_LABELS = {"duckdb": "单机计算", "pyspark": "分布式计算"}


class BatchRunQuerySet(models.QuerySet):
    def visible_to(self, user) -> BatchRunQuerySet:
        """Runs started at or below the user's node; the command line's (no node) from a
        root node, like the feeds they run."""
        return self.filter(made_within(user, "union"))


class BatchRun(FileJob):
    """One ``huzhu feed run`` (or the page's 开始测算) of a feed under one scheme: a job
    with no files (its report is written when asked for), whose progress is its own row
    (``done`` of ``total``, written after each committed chunk) and whose sign of life is
    ``updated_at``. A run that shows none for ten minutes is stale: it stays ``running``
    and may be resumed (its committed chunks stand), it is not failed."""

    class Status(models.TextChoices):
        PENDING = "pending", "排队中"
        RUNNING = "running", "测算中"
        DONE = "done", "已完成"
        FAILED = "failed", "未完成"

    WORKING = (Status.RUNNING,)
    STALE_AFTER = dt.timedelta(minutes=10)

    feed = models.ForeignKey("feeds.Feed", verbose_name="医保结算数据", on_delete=models.PROTECT,
                             related_name="runs")
    scheme = models.ForeignKey("coverage.Scheme", verbose_name="保障项目",
                               on_delete=models.PROTECT, related_name="feed_runs")
    user = models.ForeignKey("orgs.User", verbose_name="操作人", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="feed_runs")
    # The starting user's node: the run sees only members below it. None: the system.
    union = models.ForeignKey("orgs.Union", verbose_name="工会", null=True, blank=True,
                              on_delete=models.PROTECT, related_name="feed_runs")
    engine = models.CharField("计算引擎", max_length=10, default="duckdb")
    status = models.CharField("状态", max_length=8, choices=Status.choices,
                              default=Status.PENDING)
    phase = models.CharField("阶段", max_length=32, blank=True)
    done = models.PositiveIntegerField("已处理", default=0)
    total = models.PositiveIntegerField("共计", default=0)
    # outcome code → number of report rows; and the proposed claims' total amount.
    counts = models.JSONField("结果统计", default=dict, blank=True)
    proposed_amount = MoneyField("拟给付金额", default=0)
    updated_at = models.DateTimeField("最近进展", auto_now=True)

    objects = BatchRunQuerySet.as_manager()

    class Meta:
        verbose_name = "免申即享测算"
        verbose_name_plural = "免申即享测算"
        ordering = ["-id"]
        indexes = [models.Index(fields=["union", "id"], name="feeds_run_union_id")]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        """The run as people name it: when, and on which feed (not its row number)."""
        when = f"{timezone.localtime(self.created_at):%Y-%m-%d %H:%M}" if self.created_at \
            else "未提交"
        return f"免申即享测算（{when}，{self.feed.file_name}）"

    @property
    def engine_label(self) -> str:
        """The engine as a data officer knows it: one machine, or a Spark cluster."""
        return ENGINE_LABELS.get(self.engine, "单机计算")

    def progress(self) -> Progress:
        """Measured while claims are written; the loading and engine phases are not."""
        return self.measure(self.phase or self.status, self.done,
                            self.total if self.phase == "writing" else None, self.started_at)

    def polls(self) -> bool:
        """A stale run stops polling: its page offers to resume it."""
        return self.running and not self.is_stuck()

    def last_sign_of_life(self) -> dt.datetime | None:
        return self.updated_at


class StayOutcomeQuerySet(models.QuerySet):
    def visible_to(self, user) -> StayOutcomeQuerySet:
        """Outcomes of the user's members; unmatched and invalid rows (no member) of the
        runs the user may see."""
        ids = scope_union_ids(user)
        if ids is None:
            return self
        return self.filter(Q(member__union_id__in=ids)
                           | (Q(member__isnull=True)
                              & Q(run__in=BatchRun.objects.visible_to(user))))


class StayOutcome(models.Model):
    """What a run found for one row of its feed under one benefit (one row per benefit
    evaluated; a row with no benefit to evaluate — unmatched, invalid — has one, with an
    empty benefit). These are the report's rows.

    The stay, member and claim links have no database constraint (``db_constraint=False``;
    Django still protects them on delete): a city's run writes a million of these rows,
    and three foreign-key checks each at commit were a third of its write time. The rows
    they point at are written or read in the same transaction."""

    class Outcome(models.TextChoices):
        PROPOSED = "proposed", "已生成理赔"
        ALREADY_CLAIMED = "already_claimed", "已申请或已给付"
        INELIGIBLE = "ineligible", "不符合条件"
        NOT_COVERED = "not_covered", "事发时不在保障期内"
        UNMATCHED = "unmatched", "未匹配到会员"
        INVALID = "invalid", "数据有错误"

    # Indexed by the unique (run, row, benefit) and (stay, run) indexes below.
    run = models.ForeignKey(BatchRun, verbose_name="测算", on_delete=models.CASCADE,
                            related_name="outcomes", db_index=False)
    row = models.PositiveIntegerField("行号")
    settlement_code = models.CharField("结算ID", max_length=64, blank=True)
    stay = models.ForeignKey("feeds.Settlement", verbose_name="结算记录", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="outcomes",
                             db_index=False, db_constraint=False)
    member = models.ForeignKey("members.Member", verbose_name="会员", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+", db_index=False,
                               db_constraint=False)
    benefit = models.CharField("保障项目代码", max_length=64, blank=True)
    outcome = models.CharField("结果", max_length=16, choices=Outcome.choices)
    amount = MoneyField("金额", null=True, blank=True)
    reason = models.CharField("原因代码", max_length=40, blank=True)
    reason_text = models.CharField("原因说明", max_length=300, blank=True)
    # Found by the stay's diagnoses under a benefit other than the hospital ones (挖掘).
    discovered = models.BooleanField("病历挖掘", default=False)
    claim = models.ForeignKey("claims.Claim", verbose_name="理赔", null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+", db_index=False,
                              db_constraint=False)

    objects = StayOutcomeQuerySet.as_manager()

    class Meta:
        verbose_name = "免申即享测算结果"
        verbose_name_plural = "免申即享测算结果"
        ordering = ["run", "row", "benefit"]
        constraints = [models.UniqueConstraint(fields=["run", "row", "benefit"],
                                               name="feeds_outcome_unique")]
        indexes = [
            models.Index(fields=["run", "outcome", "row"], name="feeds_outcome_run"),
            # open_settlements: the stays some run has evaluated.
            models.Index(fields=["stay", "run"], name="feeds_outcome_stay"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.row} {self.benefit} {self.outcome}"


class ProactiveSample(models.Model):
    """Review by exception (抽样复核) of one run: the sample a reviewer drew of the run's
    straight-through claims (直通理赔), and the one decision a second person takes on all
    the others. Its number is the decision's (第 N 号抽样复核决定): each claim approved
    under it names it in its history and carries it (``Claim.proactive_decision``).

    The ceiling and threshold are the scheme's at the draw, kept here: a scheme edited
    while the sample is being reviewed does not change the rules the sample was drawn
    under."""

    class Status(models.TextChoices):
        OPEN = "open", "样本复核中"
        APPROVED = "approved", "已批量核准"
        FULL_REVIEW = "full_review", "转为逐笔审核"

    run = models.OneToOneField(BatchRun, verbose_name="免申即享测算", on_delete=models.PROTECT,
                               related_name="sample")
    seed = models.BigIntegerField("随机种子")
    percent = models.DecimalField("抽样比例（%）", max_digits=5, decimal_places=2)
    ceiling = MoneyField("直通金额上限")
    threshold = models.DecimalField("驳回或核减比例阈值（%）", max_digits=5, decimal_places=2)
    straight_through = models.PositiveIntegerField("直通理赔笔数")
    straight_amount = MoneyField("直通理赔金额")
    drawn = models.PositiveIntegerField("随机抽取笔数")
    added = models.PositiveIntegerField("另加入样本笔数", default=0)
    size = models.PositiveIntegerField("样本笔数")
    drawn_by = models.ForeignKey("orgs.User", verbose_name="抽样人", on_delete=models.PROTECT,
                                 related_name="+")
    drawn_at = models.DateTimeField("抽样时间")
    status = models.CharField("状态", max_length=12, choices=Status.choices,
                              default=Status.OPEN)
    decided_by = models.ForeignKey("orgs.User", verbose_name="核准人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField("决定时间", null=True, blank=True)
    approved = models.PositiveIntegerField("批量核准笔数", default=0)
    approved_amount = MoneyField("批量核准金额", default=0)
    dropped = models.PositiveIntegerField("转入逐笔审核笔数", default=0)
    rejected = models.PositiveIntegerField("样本不予给付笔数", default=0)
    lowered = models.PositiveIntegerField("样本核减笔数", default=0)

    class Meta:
        verbose_name = "免申即享抽样复核"
        verbose_name_plural = "免申即享抽样复核"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"第 {self.pk} 号抽样复核决定"


class ProactiveSampleClaim(models.Model):
    """One claim of a sample: drawn at random, or added by the reviewer. Written with
    ``bulk_create`` (a 1% sample of a city's run is ten thousand rows)."""

    # Indexed by the unique (sample, claim) constraint below.
    sample = models.ForeignKey(ProactiveSample, verbose_name="抽样复核", on_delete=models.CASCADE,
                               related_name="rows", db_index=False)
    claim = models.ForeignKey("claims.Claim", verbose_name="理赔", on_delete=models.PROTECT,
                              related_name="proactive_samples")
    added = models.BooleanField("审核人加入", default=False)
    # The run's amount for the claim at the draw: a sampled claim approved for less (a
    # reviewer's 核减, or the engine's recomputation at approval) counts as lowered.
    amount = MoneyField("测算金额")

    class Meta:
        verbose_name = "抽样复核样本"
        verbose_name_plural = "抽样复核样本"
        constraints = [models.UniqueConstraint(fields=["sample", "claim"],
                                               name="feeds_sample_claim_unique")]

    def __str__(self) -> str:
        return f"{self.sample_id}:{self.claim_id}"
