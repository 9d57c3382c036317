"""The outbox: one row per message to send, from pending to sent (or failed).

Rows are written by :mod:`huzhu.notify.outbox` and moved on only by
:mod:`huzhu.notify.sending`; the unique ``dedupe_key`` is what makes a reminder go out
once however often the job that writes it runs.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from huzhu.notify.kinds import kind_label
from huzhu.orgs.scope import scoped_by_ids

MAX_TEXT = 500
MAX_ERROR = 200


class OutboxMessageQuerySet(models.QuerySet):
    def visible_to(self, user) -> OutboxMessageQuerySet:
        """Messages of the unions in the user's subtree (by union id, no join)."""
        return scoped_by_ids(user, self)

    def due(self, now=None) -> OutboxMessageQuerySet:
        """Pending messages whose time has come, oldest due first (the partial index)."""
        return self.filter(state=OutboxMessage.State.PENDING,
                           next_attempt_at__lte=now or timezone.now())


class OutboxMessage(models.Model):
    class Channel(models.TextChoices):
        SMS = "sms", "短信"
        EMAIL = "email", "电子邮件"  # not sent yet: room for it in the table

    class State(models.TextChoices):
        PENDING = "pending", "待发送"
        SENDING = "sending", "发送中"
        SENT = "sent", "已发送"
        FAILED = "failed", "发送失败"

    channel = models.CharField("渠道", max_length=8, choices=Channel.choices,
                               default=Channel.SMS)
    to = models.CharField("接收号码", max_length=254)
    text = models.CharField("内容", max_length=MAX_TEXT)
    # The text's variables (name, scheme, deadline …) for providers that send only
    # pre-approved templates: an adapter maps kind → template and fills these in.
    params = models.JSONField("模板参数", default=dict, blank=True)
    kind = models.CharField("通知类型", max_length=64)
    # The caller's name for "this reminder" (e.g. coverage.renewal:period-7:member-42):
    # enqueuing it again is a no-op, enforced by the database, not by a read first.
    dedupe_key = models.CharField("去重键", max_length=200, unique=True)
    member = models.ForeignKey("members.Member", verbose_name="会员", null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    # The node whose staff may see the message (the member's union unless given).
    union = models.ForeignKey("orgs.Union", verbose_name="工会", null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    state = models.CharField("状态", max_length=8, choices=State.choices,
                             default=State.PENDING)
    attempts = models.PositiveSmallIntegerField("发送次数", default=0)
    next_attempt_at = models.DateTimeField("下次发送时间", default=timezone.now)
    # Which worker holds a message in "sending", and since when: a late worker whose
    # claim was taken back (stuck) cannot overwrite what the next one did.
    claim_token = models.CharField(max_length=32, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.CharField("最近错误", max_length=MAX_ERROR, blank=True)
    provider_id = models.CharField("服务商消息编号", max_length=100, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    sent_at = models.DateTimeField("发送时间", null=True, blank=True)

    objects = OutboxMessageQuerySet.as_manager()

    class Meta:
        verbose_name = "短信"
        verbose_name_plural = "短信发件箱"
        ordering = ["-id"]
        indexes = [
            # "Pending and due", oldest due first: a range scan in index order, no sort.
            # Not a partial index (WHERE state = 'pending'): SQLite cannot match its
            # condition against the bound parameter Django sends, and sorted all rows.
            models.Index(fields=["state", "next_attempt_at", "id"], name="notify_due"),
            models.Index(fields=["state", "claimed_at"], name="notify_state_claimed"),
            # The page: scope, then state or kind, newest first (keyset on id).
            models.Index(fields=["union", "id"], name="notify_union_id"),
            models.Index(fields=["state", "id"], name="notify_state_id"),
            models.Index(fields=["kind", "id"], name="notify_kind_id"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    def get_kind_display(self) -> str:
        return kind_label(self.kind)

    @property
    def to_masked(self) -> str:
        """138****8000: for logs, which must not hold whole phone numbers."""
        return mask_phone(self.to)


def mask_phone(number: str) -> str:
    return f"{number[:3]}****{number[-4:]}" if len(number) >= 8 else "****"
