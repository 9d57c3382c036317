"""One upload of a spreadsheet, validated and loaded by a background task."""

from __future__ import annotations

from django.db import models

from huzhu.imports.kinds import label_of
from huzhu.lib.jobs import FileJob, JobFiles
from huzhu.orgs.models import Union
from huzhu.orgs.scope import scoped


class ImportJobQuerySet(models.QuerySet):
    def visible_to(self, user) -> ImportJobQuerySet:
        """Jobs made at the user's node or below it."""
        return scoped(user, self, "union")


class ImportJob(FileJob):
    class Status(models.TextChoices):
        PENDING = "pending", "排队中"
        VALIDATING = "validating", "校验中"
        IMPORTING = "importing", "导入中"
        DONE = "done", "已完成"
        FAILED = "failed", "未导入"

    WORKING = (Status.VALIDATING, Status.IMPORTING)
    FILES = JobFiles("imports", prefix="job")
    INPUT_FIELDS = ("stored_path",)
    OUTPUT_FIELDS = ("error_report_path",)
    LIVE_FILES = True
    INTERRUPTED = "后台处理中断，未写入任何数据，请重新上传"

    # A kind registered by a domain app (huzhu.imports.kinds): units, members, …
    kind = models.CharField("导入对象", max_length=16)
    file_name = models.CharField("文件名", max_length=255)
    # Deleted once the job has finished: the upload holds plaintext ID numbers.
    stored_path = models.CharField(max_length=500, blank=True, editable=False)
    user = models.ForeignKey(
        "orgs.User", verbose_name="操作人", null=True, on_delete=models.PROTECT,
        related_name="import_jobs",
    )
    # The user's node when the job was made: staff above it may follow the job too.
    union = models.ForeignKey(
        Union, verbose_name="工会", null=True, blank=True, on_delete=models.PROTECT,
        related_name="import_jobs",
    )
    valid_only = models.BooleanField("只导入无错误的行", default=False)
    # What the kind needs besides the file (the period of an enrolment list …).
    options = models.JSONField("导入参数", default=dict, blank=True)
    status = models.CharField("状态", max_length=12, choices=Status.choices,
                              default=Status.PENDING)
    total_rows = models.PositiveIntegerField("总行数", default=0)
    processed_rows = models.PositiveIntegerField("已处理行数", default=0)
    created_count = models.PositiveIntegerField("新增", default=0)
    updated_count = models.PositiveIntegerField("更新", default=0)
    unchanged_count = models.PositiveIntegerField("无变化", default=0)
    error_count = models.PositiveIntegerField("错误数", default=0)
    # The first errors, for the page; the full list is in the xlsx report file.
    errors = models.JSONField("错误（前若干条）", default=list, blank=True)
    error_report_path = models.CharField(max_length=500, blank=True, editable=False)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        verbose_name = "导入任务"
        verbose_name_plural = "导入任务"
        ordering = ["-id"]
        indexes = [models.Index(fields=["union", "id"], name="imports_job_union_id")]

    def __str__(self) -> str:
        return f"{self.kind_label}导入 {self.file_name}"

    @property
    def kind_label(self) -> str:
        return label_of(self.kind)
