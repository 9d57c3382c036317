"""The outbox's part of ``huzhu manage housekeeping`` (every minute under ``huzhu serve``):
take back messages a dead worker left in "sending", and queue the send task when
something is due, so a reminder written at any time goes out within about a minute."""

from __future__ import annotations

from huzhu.notify.models import OutboxMessage
from huzhu.notify.sending import queue_sending, recover_stuck


def sweep() -> dict[str, int]:
    stuck = recover_stuck()
    due = OutboxMessage.objects.due().count()
    if due:
        queue_sending()
    return {
        "恢复的中断短信": stuck["recovered"],
        "多次中断而失败的短信": stuck["failed"],
        "待发短信": due,
    }
