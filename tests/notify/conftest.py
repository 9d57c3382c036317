"""Kinds of message for the tests, a file gateway writing under tmp_path, and tasks that
run at once (so housekeeping's queued send happens inside the test)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from huzhu.notify import gateways, kinds

RENEWAL = "test.renewal"
UNPAID = "test.unpaid"


@pytest.fixture(autouse=True)
def outbox_settings(settings, tmp_path):
    settings.HUZHU_OUTBOX_DIR = tmp_path / "outbox"
    settings.HUZHU_SMS_GATEWAY = "huzhu.notify.gateways.FileGateway"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    kinds.register_kind(RENEWAL, "续保提醒（测试）")
    kinds.register_kind(UNPAID, "缴费提醒（测试）")
    gateways._load.cache_clear()
    yield settings
    gateways._load.cache_clear()
    kinds.unregister_kind(RENEWAL)
    kinds.unregister_kind(UNPAID)


def sent_lines(folder: Path) -> list[dict]:
    """Every message the file gateway wrote, from every day's file."""
    lines = []
    for path in sorted(folder.glob("sms-*.jsonl")):
        lines += [json.loads(line) for line in path.read_text().splitlines()]
    return lines
