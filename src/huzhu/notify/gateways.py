"""Gateways: what hands one message to the world. Chosen by ``HUZHU_SMS_GATEWAY`` (a dotted
path; default :class:`FileGateway`), made once per process with no arguments.

An adapter for a real SMS provider (Aliyun, Tencent Cloud …) is a class with
``send(message) -> str`` that returns the provider's message id, or raises
:class:`GatewayError` with ``retryable=True`` for what may pass (timeouts, throttling,
the provider's 5xx) and ``retryable=False`` for what will not (an unapproved template, a
number the provider refuses, bad credentials). See the README, "Notifications".
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from functools import cache
from pathlib import Path
from typing import Protocol, runtime_checkable

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from huzhu.lib.filemodes import private_dir
from huzhu.notify.models import MAX_ERROR, OutboxMessage

logger = logging.getLogger("huzhu.notify")

DEFAULT_GATEWAY = "huzhu.notify.gateways.FileGateway"


class GatewayError(Exception):
    """Sending failed. ``retryable``: try again later (with backoff) or give up now.

    The message is kept as the outbox row's ``last_error``, cut to 200 characters: put a
    short reason and the provider's error code there, never its whole response, which may
    repeat the number or the text.
    """

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable

    @property
    def short(self) -> str:
        return str(self)[:MAX_ERROR]


@runtime_checkable
class Gateway(Protocol):
    def send(self, message: OutboxMessage) -> str:
        """Hand ``message`` over; return the provider's id for it (for the provider's own
        records and delivery reports). Raise :class:`GatewayError` when it was not."""
        ...


class ConsoleGateway:
    """Logs one line per message (masked number, no text) and sends nothing: for
    trying things out where nobody should read the members' names in a log."""

    def send(self, message: OutboxMessage) -> str:
        logger.warning("短信（未真正发送） #%s %s → %s，%d 字", message.pk, message.kind,
                       message.to_masked, len(message.text))
        code = (message.params or {}).get("code")
        if code and settings.DEBUG:
            # Trying the members' pages on a demo (HUZHU_DEBUG=1) needs the one-time code
            # that no phone receives; never outside debug mode, where a log is not a phone.
            logger.warning("短信 #%s 的验证码：%s（仅调试模式显示）", message.pk, code)
        return f"console:{message.pk}:{message.attempts}"


class FileGateway:
    """Appends one JSON line per message to ``<HUZHU_OUTBOX_DIR>/sms-YYYY-MM-DD.jsonl``
    (file 0600, folder 0700): what "was sent", for a clerk to read or a test to count."""

    def __init__(self, folder: Path | None = None) -> None:
        self._folder = folder

    @property
    def folder(self) -> Path:
        return Path(self._folder or settings.HUZHU_OUTBOX_DIR)

    def path_for(self, day: dt.date) -> Path:
        return self.folder / f"sms-{day:%Y-%m-%d}.jsonl"

    def send(self, message: OutboxMessage) -> str:
        provider_id = f"file:{message.pk}:{message.attempts}"
        now = timezone.localtime()
        line = json.dumps({
            "id": message.pk, "provider_id": provider_id, "kind": message.kind,
            "to": message.to, "text": message.text, "at": now.isoformat(timespec="seconds"),
        }, ensure_ascii=False) + "\n"
        try:
            private_dir(self.folder)
            # One write on an O_APPEND descriptor: lines of concurrent workers never mix.
            fd = os.open(self.path_for(now.date()), os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                         0o600)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
        except OSError as exc:
            raise GatewayError(f"写入短信文件失败：{exc.strerror}", retryable=True) from exc
        return provider_id


def get_gateway() -> Gateway:
    """The configured gateway (one instance per process and setting)."""
    return _load(getattr(settings, "HUZHU_SMS_GATEWAY", DEFAULT_GATEWAY) or DEFAULT_GATEWAY)


@cache
def _load(path: str) -> Gateway:
    try:
        cls = import_string(path)
    except ImportError as exc:
        raise GatewayConfigError(f"HUZHU_SMS_GATEWAY={path}：找不到该类（{exc}）") from exc
    gateway = cls()
    if not isinstance(gateway, Gateway):
        raise GatewayConfigError(f"HUZHU_SMS_GATEWAY={path}：该类没有 send(message) 方法")
    return gateway


class GatewayConfigError(Exception):
    """``HUZHU_SMS_GATEWAY`` names nothing usable: nothing is claimed or sent."""
