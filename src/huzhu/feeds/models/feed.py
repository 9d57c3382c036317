"""Settlement feeds: what the bureau sent (:class:`Feed`), each hospital stay once
(:class:`Settlement`), what became of every row of every feed (:class:`FeedRow`), and
the tokens the bureau pushes feeds with (:class:`FeedToken`), and the rows held for review
because their settlement ID was stored before with other facts (:class:`FeedCollision`).

A stay is stored once, by its ``settlement_id``, whichever feed brought it first; a feed
re-sent or overlapping an earlier one adds rows to :class:`FeedRow` (outcome ``known``)
but no second stay; a row whose settlement ID is stored with other facts changes nothing
and waits in :class:`FeedCollision` for an admin of its feed's node. The ID number is
kept the way the registry keeps it: sealed, with the same blind index as
``Member.id_number_hash``, so matching is an equality join.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from huzhu.lib import crypto
from huzhu.lib.jobs import FileJob, JobFiles
from huzhu.lib.money import MoneyField
from huzhu.members.models import Member
from huzhu.orgs.models import Union
from huzhu.orgs.scope import scope_union_ids, scoped, union_path


def made_within(user, union_field: str) -> Q:
    """Objects made at or below the user's node; made by the system (no node): visible
    from a root node, like the data they cover."""
    prefix = union_path(user)
    if prefix is None:
        return Q()
    made = Q(**{f"{union_field}__path__startswith": prefix})
    union = getattr(user, "union", None)
    if union is not None and union.parent_id is None:
        made |= Q(**{f"{union_field}__isnull": True})
    return made


class FeedQuerySet(models.QuerySet):
    def visible_to(self, user) -> FeedQuerySet:
        """Feeds made at the user's node or below it; the system's feeds (the command
        line's) to the staff of a root node."""
        return self.filter(made_within(user, "union"))


class Feed(FileJob):
    """One file or API push of settlement rows, and what its import did (an upload is a
    file job: the worker imports it, as member imports)."""

    class Source(models.TextChoices):
        FILE = "file", "命令行导入"
        UPLOAD = "upload", "网页上传"
        API = "api", "接口推送"

    class Status(models.TextChoices):
        PENDING = "pending", "排队中"
        VALIDATING = "validating", "校验中"
        IMPORTING = "importing", "写入中"
        DONE = "done", "已导入"
        FAILED = "failed", "未导入"

    WORKING = (Status.VALIDATING, Status.IMPORTING)
    FILES = JobFiles("feeds", prefix="feed")
    INPUT_FIELDS = ("stored_path",)
    OUTPUT_FIELDS = ("error_report_path",)
    LIVE_FILES = True
    INTERRUPTED = "后台处理中断，未写入任何数据，请重新上传"

    source = models.CharField("来源", max_length=8, choices=Source.choices,
                              default=Source.FILE)
    file_name = models.CharField("文件名", max_length=255)
    # The importing user's node: their subtree is where rows are matched. None: the system.
    union = models.ForeignKey(Union, verbose_name="工会", null=True, blank=True,
                              on_delete=models.PROTECT, related_name="feeds")
    user = models.ForeignKey("orgs.User", verbose_name="操作人", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="feeds")
    status = models.CharField("状态", max_length=12, choices=Status.choices,
                              default=Status.PENDING)
    # Every data row is exactly one of invalid / new / already_known / collisions; every
    # new or known row
    # exactly one of matched / unmatched_not_member / unmatched_outside_scope.
    rows = models.PositiveIntegerField("总行数", default=0)
    invalid = models.PositiveIntegerField("错误行", default=0)
    new = models.PositiveIntegerField("新增结算", default=0)
    already_known = models.PositiveIntegerField("已导入过", default=0)
    matched = models.PositiveIntegerField("匹配到会员", default=0)
    unmatched_not_member = models.PositiveIntegerField("非会员", default=0)
    unmatched_outside_scope = models.PositiveIntegerField("不在管辖范围", default=0)
    # Rows whose settlement ID was stored before with other facts: held for review, not
    # imported, not counted in new or already_known.
    collisions = models.PositiveIntegerField("结算ID冲突", default=0)
    error_count = models.PositiveIntegerField("错误数", default=0)
    # The first errors, for the page; the full list is in the xlsx report file.
    errors = models.JSONField("错误（前若干条）", default=list, blank=True)
    error_report_path = models.CharField(max_length=500, blank=True, editable=False)
    # An upload waiting for the worker; deleted (and this emptied) once imported.
    stored_path = models.CharField(max_length=500, blank=True, editable=False)
    # False (the default): a feed with any invalid row imports nothing, as member imports.
    valid_only = models.BooleanField("只导入无错误的行", default=False)
    # Set by the batch that evaluates the feed's stays under a scheme.
    scheme = models.ForeignKey("coverage.Scheme", verbose_name="保障项目", null=True,
                               blank=True, on_delete=models.PROTECT, related_name="feeds")

    objects = FeedQuerySet.as_manager()

    class Meta:
        verbose_name = "医保结算数据"
        verbose_name_plural = "医保结算数据"
        ordering = ["-id"]
        indexes = [models.Index(fields=["union", "id"], name="feeds_feed_union_id")]

    def __str__(self) -> str:
        return f"医保结算数据 {self.file_name}"

    @property
    def valid_rows(self) -> int:
        return self.new + self.already_known

    @property
    def unmatched(self) -> int:
        return self.unmatched_not_member + self.unmatched_outside_scope


class SettlementQuerySet(models.QuerySet):
    def visible_to(self, user) -> SettlementQuerySet:
        """Stays of members in the user's subtree, and the unmatched stays of feeds made
        at or below the user's node (whose rows the user must follow up)."""
        ids = scope_union_ids(user)
        if ids is None:
            return self
        return self.filter(Q(member__union_id__in=ids)
                           | (Q(member__isnull=True) & made_within(user, "feed__union")))


class Settlement(models.Model):
    """One hospital stay as the bureau settled it (医保结算), stored once."""

    settlement_id = models.CharField("结算ID", max_length=64, unique=True)
    id_number_sealed = models.BinaryField("证件号码（密文）", editable=False)
    # crypto.blind_index(id_number): the same keyed hash as Member.id_number_hash.
    id_number_hash = models.CharField(max_length=64, editable=False)
    name = models.CharField("姓名", max_length=50)
    hospital = models.CharField("定点医药机构名称", max_length=100)
    admit_date = models.DateField("入院日期")
    discharge_date = models.DateField("出院日期")
    total_cost = MoneyField("医疗费总额")
    fund_paid = MoneyField("基金支付")
    account_paid = MoneyField("个人账户支付", null=True, blank=True)
    out_of_pocket = MoneyField("个人现金支付")
    self_pay = MoneyField("个人自付", null=True, blank=True)
    self_expense = MoneyField("个人自费", null=True, blank=True)
    # ICD-10 codes, upper case, ";"-joined, the main diagnosis first.
    diagnosis = models.CharField("诊断编码", max_length=500)
    # The member it matched, within the scope of the feed that matched it (None: no
    # member, or one outside every feed's scope so far).
    member = models.ForeignKey(Member, verbose_name="会员", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="settlements",
                               db_index=False)
    feed = models.ForeignKey(Feed, verbose_name="首次导入", on_delete=models.PROTECT,
                             related_name="settlements")
    created_at = models.DateTimeField("导入时间")

    objects = SettlementQuerySet.as_manager()

    class Meta:
        verbose_name = "医保结算记录"
        verbose_name_plural = "医保结算记录"
        ordering = ["-id"]
        indexes = [
            # Matching a member registered later to the stays that came before.
            models.Index(fields=["id_number_hash"], name="feeds_settle_hash"),
            # The batch and the member page: a member's stays in event order.
            models.Index(fields=["member", "discharge_date"], name="feeds_settle_member"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(discharge_date__gte=F("admit_date")),
                                   name="feeds_settle_dates"),
            models.CheckConstraint(
                condition=Q(total_cost__gte=0) & Q(fund_paid__gte=0) & Q(out_of_pocket__gte=0)
                & (Q(account_paid__isnull=True) | Q(account_paid__gte=0))
                & (Q(self_pay__isnull=True) | Q(self_pay__gte=0))
                & (Q(self_expense__isnull=True) | Q(self_expense__gte=0)),
                name="feeds_settle_amounts"),
        ]

    def __str__(self) -> str:
        return f"{self.settlement_id} {self.hospital}"

    @property
    def id_number(self) -> str:
        """Plaintext ID number: callers must check the role and audit the view."""
        return crypto.unseal(self.id_number_sealed, column=crypto.SETTLEMENT_ID_NUMBER)

    @property
    def id_number_masked(self) -> str:
        return crypto.mask_id_number(self.id_number)

    @property
    def diagnosis_codes(self) -> list[str]:
        return [c for c in self.diagnosis.split(";") if c]


class FeedRowQuerySet(models.QuerySet):
    def visible_to(self, user) -> FeedRowQuerySet:
        return self.filter(feed__in=Feed.objects.visible_to(user))


class FeedRow(models.Model):
    """What one data row of a feed became: the batch's report starts from these."""

    class Outcome(models.TextChoices):
        INVALID = "invalid", "有错误"
        KNOWN = "known", "已导入过"
        NEW = "new", "新增"
        CONFLICT = "conflict", "结算ID冲突待核对"

    class Match(models.TextChoices):
        MATCHED = "matched", "匹配到会员"
        NOT_MEMBER = "not_member", "非工会会员"
        OUTSIDE_SCOPE = "outside_scope", "不在您的管辖范围内"
        NONE = "", "—"  # invalid and conflicting rows are not matched

    # No foreign-key constraints in the database on this table's three references:
    # PostgreSQL checks a deferred constraint row by row at COMMIT, and for a million-row
    # feed those three million checks took longer than the rest of the import. The rows
    # are written only by one INSERT … SELECT that joins the very rows they point to, in
    # the transaction that made them; Django still enforces on_delete (CASCADE, PROTECT).
    feed = models.ForeignKey(Feed, verbose_name="医保结算数据", on_delete=models.CASCADE,
                             related_name="feed_rows", db_constraint=False,
                             db_index=False)  # the (feed, row) unique index serves
    row = models.PositiveIntegerField("行号")
    settlement_id = models.CharField("结算ID", max_length=64, blank=True)
    outcome = models.CharField("结果", max_length=8, choices=Outcome.choices)
    match = models.CharField("匹配", max_length=16, choices=Match.choices, blank=True)
    member = models.ForeignKey(Member, verbose_name="会员", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+", db_index=False,
                               db_constraint=False)
    # The stay this row is (None for an invalid row). Not named "settlement": its column
    # would clash with ``settlement_id``, the bureau's ID as the row gave it.
    stay = models.ForeignKey(Settlement, verbose_name="结算记录", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="feed_rows",
                             db_index=False, db_constraint=False)
    message = models.CharField("说明", max_length=300, blank=True)

    objects = FeedRowQuerySet.as_manager()

    class Meta:
        verbose_name = "结算数据行"
        verbose_name_plural = "结算数据行"
        ordering = ["feed", "row"]
        constraints = [models.UniqueConstraint(fields=["feed", "row"], name="feeds_row_unique")]
        indexes = [models.Index(fields=["feed", "match", "outcome"], name="feeds_row_match")]

    def __str__(self) -> str:
        return f"{self.feed_id}:{self.row} {self.outcome}"

    @property
    def reason(self) -> str:
        """The row's reason in Chinese: its errors, or why it matched no member."""
        if self.outcome in (self.Outcome.INVALID, self.Outcome.CONFLICT):
            return self.message
        return "" if self.match == self.Match.MATCHED else self.get_match_display()


class FeedTokenQuerySet(models.QuerySet):
    def visible_to(self, user) -> FeedTokenQuerySet:
        """Tokens issued for the user's node or a node below it."""
        return scoped(user, self, "union")


class FeedToken(models.Model):
    """A data officer's token for ``POST /api/feeds``: only a keyed hash is stored; the
    token itself is shown once, when it is made. It pushes for the node it was issued
    for, and only while its user still belongs to that node, until it expires."""

    user = models.ForeignKey("orgs.User", verbose_name="数据人员", on_delete=models.PROTECT,
                             related_name="feed_tokens")
    label = models.CharField("用途说明", max_length=100, blank=True)
    # The node it was issued for: its user's node then. Moving the user elsewhere does
    # not move the token (it is refused from then on).
    union = models.ForeignKey(Union, verbose_name="工会", null=True, on_delete=models.PROTECT,
                              related_name="+")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField("令牌开头", max_length=12, editable=False)
    created_by = models.ForeignKey("orgs.User", verbose_name="创建人", null=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)
    expires_at = models.DateTimeField("有效期至", null=True)

    objects = FeedTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "数据接口令牌"
        verbose_name_plural = "数据接口令牌"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def expired(self) -> bool:
        return self.expires_at is None or self.expires_at <= timezone.now()


class FeedCollisionQuerySet(models.QuerySet["FeedCollision"]):
    def visible_to(self, user: Any) -> FeedCollisionQuerySet:
        """Collisions of the feeds made at or below the user's node (that node's admins
        resolve them)."""
        return self.filter(made_within(user, "feed__union"))


class FeedCollision(models.Model):
    """A feed's row whose settlement ID was stored before with other facts. Neither side
    wins by arriving first: the row is held here (its facts sealed like a stay's) until an
    admin of the feed's node keeps the stored stay or replaces it with this row."""

    class Status(models.TextChoices):
        OPEN = "open", "待核对"
        KEPT = "kept", "已保留原记录"
        REPLACED = "replaced", "已替换为新记录"

    feed = models.ForeignKey(Feed, verbose_name="医保结算数据", on_delete=models.CASCADE,
                             related_name="conflicts")
    row = models.PositiveIntegerField("行号")
    settlement_id = models.CharField("结算ID", max_length=64)
    stay = models.ForeignKey(Settlement, verbose_name="已有结算记录", on_delete=models.PROTECT,
                             related_name="collisions")
    # The row's facts, as a Settlement holds them.
    id_number_sealed = models.BinaryField("证件号码（密文）", editable=False)
    id_number_hash = models.CharField(max_length=64, editable=False)
    name = models.CharField("姓名", max_length=50)
    hospital = models.CharField("定点医药机构名称", max_length=100)
    admit_date = models.DateField("入院日期")
    discharge_date = models.DateField("出院日期")
    total_cost = MoneyField("医疗费总额")
    fund_paid = MoneyField("基金支付")
    account_paid = MoneyField("个人账户支付", null=True, blank=True)
    out_of_pocket = MoneyField("个人现金支付")
    self_pay = MoneyField("个人自付", null=True, blank=True)
    self_expense = MoneyField("个人自费", null=True, blank=True)
    diagnosis = models.CharField("诊断编码", max_length=500)
    status = models.CharField("状态", max_length=8, choices=Status.choices,
                              default=Status.OPEN)
    created_at = models.DateTimeField("发现时间")
    resolved_by = models.ForeignKey("orgs.User", verbose_name="处理人", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    resolved_at = models.DateTimeField("处理时间", null=True, blank=True)

    objects = FeedCollisionQuerySet.as_manager()

    class Meta:
        verbose_name = "结算ID冲突"
        verbose_name_plural = "结算ID冲突"
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["feed", "row"],
                                               name="feeds_collision_row")]
        indexes = [models.Index(fields=["status", "id"], name="feeds_collision_open"),
                   models.Index(fields=["settlement_id"], name="feeds_collision_sid")]

    def __str__(self) -> str:
        return f"{self.settlement_id}（第{self.row}行）"

    @property
    def id_number_masked(self) -> str:
        return crypto.mask_id_number(
            crypto.unseal(self.id_number_sealed, column=crypto.SETTLEMENT_ID_NUMBER))
