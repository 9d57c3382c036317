"""Append-only audit log: who changed what, and who saw a full ID number."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import models, router, transaction
from django.utils import timezone

from huzhu.orgs.scope import union_path


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("审计日志只能追加，不能修改")

    def delete(self):
        raise PermissionError("审计日志只能追加，不能删除")

    def bulk_create(self, objs: Iterable[AuditEntry], *args: Any,
                    **kwargs: Any) -> list[AuditEntry]:
        """Appended as a run of the hash chain: stamped and linked in list order under
        the chain's lock, inserted in that order (ids follow it)."""
        from huzhu.audit import chain

        objs = list(objs)
        if not objs:
            return objs
        with transaction.atomic(using=self.db):
            chain.stamp(objs, chain.lock_head(self.db))
            return super().bulk_create(objs, *args, **kwargs)

    def visible_to(self, user) -> AuditEntryQuerySet:
        """Entries about objects in the user's subtree."""
        prefix = union_path(user)
        return self if prefix is None else self.filter(union_path__startswith=prefix)


class AuditEntry(models.Model):
    class Action(models.TextChoices):
        MEMBER_CREATED = "member.created", "新增会员"
        MEMBER_UPDATED = "member.updated", "修改会员"
        MEMBER_IMPORTED = "member.imported", "导入会员"
        MEMBER_EXPORTED = "member.exported", "导出会员"
        ID_VIEWED = "member.id_viewed", "查看完整证件号"
        BANK_VIEWED = "member.bank_viewed", "查看完整银行账号"
        MEMBER_SEARCHED = "member.searched", "按证件号查询会员"
        EXPORT_DOWNLOADED = "member.export_downloaded", "下载导出文件"
        DUPLICATE_REFUSED = "registry.duplicate_refused", "重复登记被拒"
        TRANSFER_REQUESTED = "member.transfer_requested", "申请转会"
        TRANSFER_ACCEPTED = "member.transfer_accepted", "同意转会"
        TRANSFER_DECLINED = "member.transfer_declined", "拒绝转会"
        SECURITY_ALERT = "security.alert", "安全提醒"
        UNIT_CREATED = "unit.created", "新增单位"
        UNIT_UPDATED = "unit.updated", "修改单位"
        UNIT_IMPORTED = "unit.imported", "导入单位"
        SCHEME_CHANGED = "coverage.scheme", "保障项目变更"
        PERIOD_CHANGED = "coverage.period", "互助期变更"
        ENROLLED = "coverage.enrolled", "参保登记"
        WITHDRAWN = "coverage.withdrawn", "退保"
        COVERAGE_REFUSED = "coverage.refused", "参保被拒"
        PAYMENT_REGISTERED = "coverage.payment", "登记缴费"
        PAYMENT_REFUSED = "coverage.payment_refused", "缴费登记被拒"
        SUBSIDY_FUNDED = "coverage.subsidy", "补贴拨款入账"
        REVERSAL_REQUESTED = "coverage.reversal_requested", "申请冲正"
        REVERSAL_APPROVED = "coverage.reversal_approved", "同意冲正并入账"
        REVERSAL_REJECTED = "coverage.reversal_rejected", "驳回冲正"
        REVERSAL_REFUSED = "coverage.reversal_refused", "冲正被拒"
        CLAIM_CHANGED = "claims.changed", "理赔办理"
        MATERIAL_VIEWED = "claims.material_viewed", "查看理赔材料"
        MATERIAL_UPLOADED = "claims.material_uploaded", "上传理赔材料"
        PAYOUT_CHANGED = "claims.payout", "给付"
        ADMIN_CHANGED = "admin.changed", "管理后台修改"
        ADMIN_DELETED = "admin.deleted", "管理后台删除"
        LOGGED_IN = "auth.logged_in", "登录成功"
        LOGIN_FAILED = "auth.login_failed", "登录失败"
        LOCKED_OUT = "auth.locked_out", "登录锁定"
        NOTIFY_RETRIED = "notify.retried", "重发短信"
        FEED_IMPORTED = "feeds.imported", "导入医保结算数据"
        FEED_TOKEN_CREATED = "feeds.token_created", "创建数据接口令牌"
        FEED_TOKEN_REVOKED = "feeds.token_revoked", "吊销数据接口令牌"
        WHAT_IF_STARTED = "reports.what_if", "开始改革测算"
        # A file downloaded that is not a member export: a report, a list, a PDF.
        FILE_DOWNLOADED = "file.downloaded", "下载文件"
        AUDIT_EXPORTED = "audit.exported", "导出审计日志"
        CLAIM_FILED = "claims.filed", "登记理赔申请"
        FEED_REFUSED = "feeds.refused", "医保结算数据被拒"
        FEED_COLLISION = "feeds.collision", "结算号冲突待核"
        FEED_COLLISION_RESOLVED = "feeds.collision_resolved", "处理结算号冲突"
        PROACTIVE_SAMPLED = "feeds.sampled", "抽取免申即享复核样本"
        PROACTIVE_APPROVED = "feeds.bulk_approved", "批量核准免申即享"
        PROACTIVE_REFUSED = "feeds.bulk_refused", "批量核准被拒"
        GAPS_NOTIFIED = "feeds.gaps_notified", "提醒会员登记银行账号"
        PAYOUT_RECONCILED = "claims.reconciled", "核对银行回盘"
        PAYOUT_RETURNED = "claims.returned", "银行退票"
        KEYS_ROTATED = "security.keys_rotated", "轮换加密密钥"
        BACKUP_MADE = "system.backup", "备份数据"
        BACKUP_RESTORED = "system.restore", "恢复数据"
        AUDIT_VERIFIED = "audit.verified", "核验审计日志"

    # Stamped when the entry is appended, under the chain's lock (huzhu.audit.chain):
    # not auto_now_add, whose value is set only while the INSERT is compiled, after the
    # hash that covers it must be known.
    at = models.DateTimeField("时间", default=timezone.now, editable=False, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="操作人", null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    action = models.CharField("操作", max_length=32, choices=Action.choices, db_index=True)
    object_type = models.CharField("对象类型", max_length=32, blank=True)
    object_id = models.CharField("对象编号", max_length=64, blank=True, db_index=True)
    # The union node the object belongs to, so admins see only their subtree's log.
    union_path = models.CharField(max_length=255, blank=True, db_index=True)
    summary = models.CharField("摘要", max_length=500, blank=True)
    changes = models.JSONField("变更内容", default=dict, blank=True)
    # The hash chain (huzhu.audit.chain): the previous entry's hash, and SHA-256 over this
    # entry's fields and prev_hash. ``huzhu audit verify`` walks it.
    prev_hash = models.CharField("上一条的哈希", max_length=64, blank=True, default="",
                                 editable=False)
    hash = models.CharField("哈希", max_length=64, blank=True, default="", editable=False)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = "审计日志"
        verbose_name_plural = "审计日志"
        ordering = ["-at", "-id"]
        # A user's entries of one kind today: the daily limits on lookups by number.
        indexes = [models.Index(fields=["actor", "action", "at"], name="audit_actor_action_at")]

    def __str__(self) -> str:
        return (f"{timezone.localtime(self.at):%Y-%m-%d %H:%M} {self.get_action_display()} "
                f"{self.summary}")

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise PermissionError("审计日志只能追加，不能修改")
        from huzhu.audit import chain

        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using):
            chain.stamp([self], chain.lock_head(using))
            super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("审计日志只能追加，不能删除")
