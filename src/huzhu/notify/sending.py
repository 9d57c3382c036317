"""Sending the outbox: claim due messages, hand them to the gateway, record the outcome.

A message moves pending → sending (claimed by one worker) → sent, or back to pending with
a later ``next_attempt_at`` (1, 5, 30, 120 minutes, then 6 hours) when the gateway says
it may pass, or failed after ``HUZHU_SMS_MAX_ATTEMPTS`` attempts or when it says it will not.

The gateway is called outside any transaction: a slow provider must not hold a database
lock, and a message it accepted must be recorded as sent even if the next one fails.

Delivery is **at least once**, not exactly once. A worker that dies between the
provider's acceptance and the UPDATE to "sent" leaves the row in "sending";
:func:`recover_stuck` puts it back to pending after ``HUZHU_SMS_STUCK_SECONDS`` (300), and
it is sent again. The alternative, failing such rows, would lose reminders every time a
worker is restarted mid-batch, which is worse than a rare second SMS. The window is one
message wide: the worker re-confirms its claim just before each send, and a recovered
message is re-sent only after the stuck time. Where the provider accepts a client
reference (Aliyun's ``OutId``, Tencent's ``SessionContext``), adapters pass the outbox id
so that a double can at least be traced, and providers that deduplicate on it prevent it;
the ``dedupe_key`` makes sure the double is never a second *reminder* row.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import traceback
import uuid
from collections import Counter

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django_tasks import task

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.notify.gateways import Gateway, GatewayError, get_gateway
from huzhu.notify.models import MAX_ERROR, OutboxMessage

logger = logging.getLogger("huzhu.notify")

State = OutboxMessage.State
BACKOFF = tuple(dt.timedelta(minutes=m) for m in (1, 5, 30, 120, 360))
CLAIM_CHUNK = 20  # claimed together; small, so a dying worker strands few
TASK_LIMIT = 5000
# The worker runs one task at a time: a long send must not hold up an import behind it.
# What is left is sent by the next task, which housekeeping queues a minute later.
TASK_SECONDS = 50.0


def max_attempts() -> int:
    return max(1, int(getattr(settings, "HUZHU_SMS_MAX_ATTEMPTS", 5)))


def stuck_after() -> dt.timedelta:
    return dt.timedelta(seconds=int(getattr(settings, "HUZHU_SMS_STUCK_SECONDS", 300)))


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt (1-based)."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def send_due(limit: int = 1000, *, max_seconds: float | None = None,
             gateway: Gateway | None = None) -> dict[str, int]:
    """Send up to ``limit`` pending, due messages (stopping early after ``max_seconds``);
    returns how many were ``sent``, are ``retrying`` later, ``failed`` for good, and
    ``lost`` (taken back from this worker as stuck before it sent them)."""
    gateway = gateway or get_gateway()
    deadline = time.monotonic() + max_seconds if max_seconds else None
    counts: Counter[str] = Counter(sent=0, retrying=0, failed=0, lost=0)
    remaining = limit
    while remaining > 0 and (deadline is None or time.monotonic() < deadline):
        claimed = claim(min(CLAIM_CHUNK, remaining))
        if not claimed:
            break
        for message in claimed:
            counts[_send_one(gateway, message)] += 1
        remaining -= len(claimed)
    return dict(counts)


def claim(n: int) -> list[OutboxMessage]:
    """Take up to ``n`` due messages for this worker, atomically: no two workers ever
    hold the same message. PostgreSQL skips rows another worker is claiming; SQLite
    serialises writers (IMMEDIATE transactions), and the UPDATE re-checks the state."""
    token, now = uuid.uuid4().hex, timezone.now()
    with transaction.atomic():
        due = OutboxMessage.objects.due(now).order_by("next_attempt_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("id", flat=True)[:n])
        if not ids:
            return []
        OutboxMessage.objects.filter(pk__in=ids, state=State.PENDING).update(
            state=State.SENDING, claim_token=token, claimed_at=now,
            attempts=F("attempts") + 1)
    return list(OutboxMessage.objects.filter(pk__in=ids, claim_token=token,
                                             state=State.SENDING).order_by("id"))


def _send_one(gateway: Gateway, message: OutboxMessage) -> str:
    if not _still_ours(message):
        return "lost"
    try:
        provider_id = gateway.send(message)
    except GatewayError as exc:
        return _after_failure(message, exc.short, retryable=exc.retryable)
    except Exception as exc:  # an adapter's bug or an unwrapped network error
        where = traceback.extract_tb(exc.__traceback__)[-1]
        # Only the class and the line: the exception's text may quote the provider's reply.
        logger.error("短信 #%s 发送出错：%s（%s:%s）", message.pk, type(exc).__name__,
                     where.filename, where.lineno)
        return _after_failure(message, f"网关异常：{type(exc).__name__}", retryable=True)
    _mark_sent(message, str(provider_id or "")[:100])
    return "sent"


def _still_ours(message: OutboxMessage) -> bool:
    """Re-confirm the claim just before sending (and restart its stuck clock)."""
    return bool(OutboxMessage.objects.filter(
        pk=message.pk, claim_token=message.claim_token, state=State.SENDING,
    ).update(claimed_at=timezone.now()))


def _mark_sent(message: OutboxMessage, provider_id: str) -> None:
    # Not guarded by the claim: the provider took it, so "sent" is the truth even if the
    # row was meanwhile taken back as stuck; marking it stops the second send.
    OutboxMessage.objects.filter(pk=message.pk).exclude(state=State.SENT).update(
        state=State.SENT, provider_id=provider_id, sent_at=timezone.now(), last_error="",
        claim_token="", claimed_at=None)


def _after_failure(message: OutboxMessage, error: str, *, retryable: bool) -> str:
    again = retryable and message.attempts < max_attempts()
    fields = {"last_error": error[:MAX_ERROR], "claim_token": "", "claimed_at": None}
    if again:
        fields.update(state=State.PENDING,
                      next_attempt_at=timezone.now() + backoff(message.attempts))
    else:
        fields.update(state=State.FAILED)
    OutboxMessage.objects.filter(pk=message.pk, claim_token=message.claim_token,
                                 state=State.SENDING).update(**fields)
    return "retrying" if again else "failed"


def recover_stuck(now: dt.datetime | None = None) -> dict[str, int]:
    """Messages in "sending" longer than the stuck time (their worker died or hung) go
    back to pending, or to failed when they have used up their attempts (a message that
    kills its worker every time must not loop for ever). See the module's note on the
    at-least-once trade-off."""
    now = now or timezone.now()
    stuck = OutboxMessage.objects.filter(state=State.SENDING,
                                         claimed_at__lt=now - stuck_after())
    failed = stuck.filter(attempts__gte=max_attempts()).update(
        state=State.FAILED, claim_token="", claimed_at=None,
        last_error="发送过程多次中断，已停止重试")
    recovered = stuck.update(
        state=State.PENDING, claim_token="", claimed_at=None, next_attempt_at=now,
        last_error="发送过程中断（后台进程退出），已重新排队")
    return {"recovered": recovered, "failed": failed}


def retry(user, message: OutboxMessage) -> bool:
    """An admin's 重发: a failed message goes back to pending with a fresh count of
    attempts, and the audit log says who asked. False when it is no longer failed."""
    done = OutboxMessage.objects.filter(pk=message.pk, state=State.FAILED).update(
        state=State.PENDING, attempts=0, next_attempt_at=timezone.now(), claim_token="",
        claimed_at=None)
    if done:
        log.record(user, AuditEntry.Action.NOTIFY_RETRIED, message,
                   summary=f"重发短信 #{message.pk}（{message.get_kind_display()}）",
                   changes={"kind": message.get_kind_display(), "attempts": message.attempts,
                            "last_error": message.last_error})
    return bool(done)


@task()
def send_outbox() -> dict[str, int]:
    """The background task: recover stuck messages, then send what is due (bounded in
    number and time; the rest goes with the next task)."""
    recovered = recover_stuck()
    counts = send_due(limit=TASK_LIMIT, max_seconds=TASK_SECONDS)
    return {**counts, "recovered": recovered["recovered"]}


def queue_sending() -> bool:
    """Enqueue :func:`send_outbox` unless one is already waiting for the worker (one
    waiting task is enough, however many minutes housekeeping asks)."""
    if _already_waiting():
        return False
    send_outbox.enqueue()
    return True


def _already_waiting() -> bool:
    if settings.TASKS["default"]["BACKEND"] != "django_tasks_db.DatabaseBackend":
        return False
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.ready().filter(task_path=send_outbox.module_path).exists()
