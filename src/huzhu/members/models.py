"""The member registry (会员).

The resident ID number and bank account are stored only sealed (AES-GCM) with a keyed
hash for lookups; see :mod:`huzhu.lib.crypto`. Birth date and gender are derived from the
ID number once, at entry, because the benefit engine needs them for every event.
"""

from __future__ import annotations

import datetime as dt

from django.db import models

from huzhu.lib import crypto
from huzhu.lib.jobs import FileJob, JobFiles, Progress
from huzhu.orgs.models import Union, Unit
from huzhu.orgs.scope import scoped, scoped_by_ids


class MemberQuerySet(models.QuerySet):
    def visible_to(self, user) -> MemberQuerySet:
        """Members in the user's subtree (by union id, no join: fast at a million)."""
        return scoped_by_ids(user, self)


class Member(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "在职"
        RETIRED = "retired", "退休"
        LEFT = "left", "离会"

    class Gender(models.TextChoices):
        MALE = "M", "男"
        FEMALE = "F", "女"

    class Occupation(models.TextChoices):
        MEDICAL = "medical", "医务人员"
        CDC = "cdc", "疾控人员"
        OTHER = "other", "其他"

    name = models.CharField("姓名", max_length=50)
    id_number_sealed = models.BinaryField("身份证号（密文）", editable=False)
    id_number_hash = models.CharField(max_length=64, unique=True, editable=False)
    id_last4_index = models.CharField(max_length=64, editable=False)  # crypto.last4_index
    birth_date = models.DateField("出生日期", editable=False)
    gender = models.CharField("性别", max_length=1, choices=Gender.choices, editable=False)
    phone = models.CharField("手机号", max_length=11, blank=True)
    unit = models.ForeignKey(Unit, verbose_name="单位", on_delete=models.PROTECT,
                             related_name="members")
    # Copied from unit.union so that the scope filter is one indexed column.
    union = models.ForeignKey(Union, verbose_name="基层工会", on_delete=models.PROTECT,
                              related_name="members", editable=False)
    joined_on = models.DateField("入会日期", null=True, blank=True)
    status = models.CharField("状态", max_length=8, choices=Status.choices,
                              default=Status.ACTIVE)
    occupation = models.CharField("职业类别", max_length=8, choices=Occupation.choices,
                                  default=Occupation.OTHER)
    family_head = models.ForeignKey(
        "self", verbose_name="家庭关联会员", null=True, blank=True,
        on_delete=models.SET_NULL, related_name="family_members",
    )
    bank_account_sealed = models.BinaryField("银行账号（密文）", null=True, editable=False)
    # NULL, not "", for members without an account: unique must ignore them.
    bank_account_hash = models.CharField(  # noqa: DJ001
        max_length=64, null=True, unique=True, editable=False
    )
    bank_last4 = models.CharField("银行账号后四位", max_length=4, blank=True, editable=False)
    # The bank the account is held at, as the member gave it (e.g. 中国工商银行长春分行):
    # banks ask for it in a transfer file for payments to other banks.
    bank_name = models.CharField("开户行", max_length=60, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MemberQuerySet.as_manager()

    class Meta:
        verbose_name = "会员"
        verbose_name_plural = "会员"
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["union", "id"]),
            models.Index(fields=["name"]),
            models.Index(fields=["phone"]),
            models.Index(fields=["id_last4_index"]),
            models.Index(fields=["unit", "id"]),
            models.Index(fields=["status", "id"]),
            # Home-page counts and the occupation filter at a million members.
            models.Index(fields=["union", "status"]),
            models.Index(fields=["union", "occupation"]),
            models.Index(fields=["occupation", "id"]),
        ]

    def __str__(self) -> str:
        return self.name

    # Sensitive fields: set through these so plaintext never reaches the database.
    def set_id_number(self, value: str) -> None:
        self.id_number_sealed = crypto.seal(value, column=crypto.MEMBER_ID_NUMBER)
        self.id_number_hash = crypto.blind_index(value)
        self.id_last4_index = crypto.last4_index(value)

    def set_bank_account(self, value: str | None) -> None:
        if not value:
            self.bank_account_sealed = None
            self.bank_account_hash = None
            self.bank_last4 = ""
            return
        self.bank_account_sealed = crypto.seal(value, column=crypto.MEMBER_BANK_ACCOUNT)
        self.bank_account_hash = crypto.blind_index("bank:" + value)
        self.bank_last4 = value[-4:]

    @property
    def id_number(self) -> str:
        """Plaintext ID number: callers must check the role and audit the view."""
        return crypto.unseal(self.id_number_sealed, column=crypto.MEMBER_ID_NUMBER)

    @property
    def bank_account(self) -> str:
        sealed = self.bank_account_sealed
        return crypto.unseal(sealed, column=crypto.MEMBER_BANK_ACCOUNT) if sealed else ""

    @property
    def id_number_masked(self) -> str:
        return crypto.mask_id_number(self.id_number)

    @property
    def bank_account_masked(self) -> str:
        return crypto.mask_bank_account(self.bank_account) if self.bank_account_sealed else ""

    @property
    def age_this_year(self) -> int:
        """Age by birth year, shown to roles that may not see the birth date: an age that
        ticked over on the birthday would give the birth date away within a year."""
        from django.utils import timezone

        return timezone.localdate().year - self.birth_date.year

    @classmethod
    def find_by_id_number(cls, id_number: str) -> Member | None:
        # Both index keys while a key rotation rebuilds the indexes (crypto.blind_indexes).
        return cls.objects.filter(id_number_hash__in=crypto.blind_indexes(id_number)).first()


class MemberExportQuerySet(models.QuerySet):
    def visible_to(self, user) -> MemberExportQuerySet:
        """A file of members is for the one who asked for it."""
        return self.filter(user=user)


class MemberExport(FileJob):
    """A member list written to xlsx by the background worker (a city is a million rows).

    The search text, which may be an ID number, is kept sealed; the file is deleted once
    downloaded, or a day after it was made (``huzhu manage housekeeping``).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "排队中"
        RUNNING = "running", "生成中"
        DONE = "done", "可下载"
        DOWNLOADED = "downloaded", "已下载"
        EXPIRED = "expired", "已过期"
        FAILED = "failed", "失败"

    FILES = JobFiles("exports")
    OUTPUT_FIELDS = ("file_path",)
    # An export writes about 9,000 rows a second: a million takes two minutes, not an hour.
    STALE_AFTER = dt.timedelta(hours=1)
    INTERRUPTED = "后台处理中断，请重新导出"

    user = models.ForeignKey("orgs.User", verbose_name="操作人", on_delete=models.PROTECT,
                             related_name="member_exports")
    union = models.ForeignKey(Union, verbose_name="工会", null=True, blank=True,
                              on_delete=models.PROTECT, related_name="member_exports")
    filters = models.JSONField("筛选条件", default=dict, blank=True)
    query_sealed = models.BinaryField("搜索内容（密文）", null=True, editable=False)
    described = models.CharField("筛选说明", max_length=300, blank=True)
    full_numbers = models.BooleanField("含完整号码", default=False)
    purpose = models.CharField("用途", max_length=200, blank=True)
    status = models.CharField("状态", max_length=12, choices=Status.choices,
                              default=Status.PENDING)
    total_rows = models.PositiveIntegerField("总行数", null=True, blank=True)
    written_rows = models.PositiveIntegerField("已写入", default=0)
    file_path = models.CharField(max_length=500, blank=True, editable=False)
    started_at = None  # not kept: the sign of life is created_at
    downloaded_at = models.DateTimeField("下载时间", null=True, blank=True)

    objects = MemberExportQuerySet.as_manager()

    class Meta:
        verbose_name = "会员导出"
        verbose_name_plural = "会员导出"
        ordering = ["-id"]
        indexes = [models.Index(fields=["user", "id"], name="members_export_user_id")]

    def __str__(self) -> str:
        return f"会员导出 #{self.pk}（{self.described}）"

    def progress(self) -> Progress:
        return self.measure(self.status, self.written_rows, self.total_rows, self.created_at)

    def last_sign_of_life(self) -> dt.datetime | None:
        return self.created_at


class TransferRequestQuerySet(models.QuerySet):
    def incoming(self, user) -> TransferRequestQuerySet:
        """Requests for members in the user's subtree: theirs to accept or decline."""
        return self.filter(member__in=Member.objects.visible_to(user))

    def outgoing(self, user) -> TransferRequestQuerySet:
        """Requests made into the user's subtree (by them or their colleagues)."""
        return scoped(user, self, "to_unit__union")


class TransferRequest(models.Model):
    """A clerk asks for a member registered under another union to move to one of their
    units. The member's own union decides; until then the asking side learns nothing
    about the member beyond what it typed."""

    class State(models.TextChoices):
        PENDING = "pending", "待确认"
        ACCEPTED = "accepted", "已同意"
        DECLINED = "declined", "已拒绝"

    member = models.ForeignKey(Member, verbose_name="会员", on_delete=models.CASCADE,
                               related_name="transfer_requests")
    to_unit = models.ForeignKey(Unit, verbose_name="调入单位", on_delete=models.PROTECT,
                                related_name="transfer_requests")
    name_given = models.CharField("申请时填写的姓名", max_length=50)
    reason = models.CharField("说明", max_length=200, blank=True)
    requested_by = models.ForeignKey("orgs.User", verbose_name="申请人", on_delete=models.PROTECT,
                                     related_name="transfer_requests")
    requested_at = models.DateTimeField("申请时间", auto_now_add=True)
    state = models.CharField("状态", max_length=10, choices=State.choices,
                             default=State.PENDING)
    decided_by = models.ForeignKey("orgs.User", verbose_name="处理人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField("处理时间", null=True, blank=True)
    decision_note = models.CharField("处理意见", max_length=200, blank=True)

    objects = TransferRequestQuerySet.as_manager()

    class Meta:
        verbose_name = "转会申请"
        verbose_name_plural = "转会申请"
        ordering = ["-id"]
        constraints = [
            # One open request per member and target unit: a re-sent form or a re-run
            # import does not pile up requests.
            models.UniqueConstraint(fields=["member", "to_unit"],
                                    condition=models.Q(state="pending"),
                                    name="members_one_open_transfer"),
        ]

    def __str__(self) -> str:
        return f"转会申请 #{self.pk}（{self.name_given} → {self.to_unit}）"
