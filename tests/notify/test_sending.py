"""Sending: each message once however often the job runs, retries with backoff, failed
after the last attempt, stranded messages taken back, two workers never doubling up."""

from __future__ import annotations

import datetime as dt
import logging
import os
import stat
import threading

import pytest
from django.db import connection
from django.utils import timezone

from huzhu.notify import gateways, housekeeping, outbox, sending
from huzhu.notify.gateways import FileGateway, GatewayError
from huzhu.notify.models import OutboxMessage
from tests.notify.conftest import RENEWAL, sent_lines

State = OutboxMessage.State


def _enqueue(n: int, union=None, prefix: str = "r") -> int:
    return outbox.enqueue_many(
        outbox.Draft(kind=RENEWAL, to=f"1390000{i:04d}", text=f"会员{i}：您的互助保障即将到期。",
                     dedupe_key=f"{prefix}:{i}", union=union) for i in range(n))


def _make_due() -> None:
    """Let the clock pass every backoff: what was waiting is due now."""
    OutboxMessage.objects.filter(state=State.PENDING).update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1))


class Refusing:
    def __init__(self, error: Exception) -> None:
        self.error, self.calls = error, 0

    def send(self, message):
        self.calls += 1
        raise self.error


def test_each_message_goes_out_once_however_often_the_job_runs(tree, settings):
    assert _enqueue(45, union=tree["a1"]) == 45  # more than one claim's worth
    folder = settings.HUZHU_OUTBOX_DIR
    first = sending.send_due(limit=30)
    assert first["sent"] == 30
    # Housekeeping queues the task for the 15 that are left (tasks run at once here).
    swept = housekeeping.sweep()
    assert swept["待发短信"] == 15 and swept["恢复的中断短信"] == 0
    assert sending.send_due() == {"sent": 0, "retrying": 0, "failed": 0, "lost": 0}
    assert housekeeping.sweep()["待发短信"] == 0
    assert _enqueue(45, union=tree["a1"]) == 0  # the reminder job runs again: nothing new
    assert sending.send_due()["sent"] == 0
    lines = sent_lines(folder)
    assert len(lines) == 45
    assert sorted(line["id"] for line in lines) == sorted(
        OutboxMessage.objects.values_list("id", flat=True))
    assert not OutboxMessage.objects.exclude(state=State.SENT).exists()
    sample = OutboxMessage.objects.get(dedupe_key="r:7")
    assert sample.attempts == 1 and sample.sent_at and sample.provider_id == f"file:{sample.pk}:1"
    assert {"text": "会员7：您的互助保障即将到期。", "to": "13900000007"}.items() <= \
        next(line for line in lines if line["id"] == sample.pk).items()


def test_the_file_gateway_writes_a_private_file_in_a_private_folder(tree, settings):
    _enqueue(1)
    sending.send_due()
    folder = settings.HUZHU_OUTBOX_DIR
    [path] = folder.glob("sms-*.jsonl")
    assert path.name == f"sms-{timezone.localdate():%Y-%m-%d}.jsonl"
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "互助保障" in path.read_text(encoding="utf-8")  # Chinese as is, not \\u escapes


def test_a_retryable_error_backs_off_then_fails_after_the_last_attempt(db, settings):
    settings.HUZHU_SMS_MAX_ATTEMPTS = 5
    _enqueue(1)
    gateway = Refusing(GatewayError("服务商限流（isv.BUSINESS_LIMIT_CONTROL）", retryable=True))
    waits = []
    for attempt in range(1, 5):
        before = timezone.now()
        assert sending.send_due(gateway=gateway)["retrying"] == 1
        message = OutboxMessage.objects.get()
        assert message.state == State.PENDING and message.attempts == attempt
        assert "限流" in message.last_error
        waits.append(round((message.next_attempt_at - before).total_seconds() / 60))
        assert sending.send_due(gateway=gateway)["retrying"] == 0  # not due yet
        _make_due()
    assert waits == [1, 5, 30, 120]
    assert sending.send_due(gateway=gateway)["failed"] == 1
    message = OutboxMessage.objects.get()
    assert message.state == State.FAILED and message.attempts == 5 and gateway.calls == 5
    _make_due()
    assert sending.send_due(gateway=gateway)["failed"] == 0 and gateway.calls == 5


def test_a_permanent_error_fails_at_once(db):
    _enqueue(1)
    gateway = Refusing(GatewayError("短信模板未审核通过", retryable=False))
    assert sending.send_due(gateway=gateway) == {"sent": 0, "retrying": 0, "failed": 1,
                                                 "lost": 0}
    message = OutboxMessage.objects.get()
    assert message.state == State.FAILED and message.attempts == 1
    assert message.last_error == "短信模板未审核通过"


def test_an_adapters_crash_is_retried_without_keeping_its_text(db, caplog):
    _enqueue(1)
    leak = RuntimeError("HTTP 500: {'PhoneNumbers': '13900000000', 'Text': '会员0…'}")
    with caplog.at_level(logging.ERROR, logger="huzhu.notify"):
        assert sending.send_due(gateway=Refusing(leak))["retrying"] == 1
    message = OutboxMessage.objects.get()
    assert message.state == State.PENDING and message.last_error == "网关异常：RuntimeError"
    assert "13900000000" not in caplog.text and "RuntimeError" in caplog.text


def test_a_long_provider_error_is_cut_short(db):
    _enqueue(1)
    sending.send_due(gateway=Refusing(GatewayError("错" * 1000, retryable=False)))
    assert len(OutboxMessage.objects.get().last_error) == 200


def test_a_message_stranded_in_sending_is_sent_again_once(db, settings):
    _enqueue(3)
    [stranded, *_] = sending.claim(1)  # a worker claims it, then dies
    assert OutboxMessage.objects.get(pk=stranded.pk).state == State.SENDING
    assert sending.send_due()["sent"] == 2  # the others go; the stranded one waits
    assert housekeeping.sweep()["恢复的中断短信"] == 0  # not stuck yet
    OutboxMessage.objects.filter(pk=stranded.pk).update(
        claimed_at=timezone.now() - dt.timedelta(minutes=6))
    swept = housekeeping.sweep()  # takes it back and queues the (immediate) task
    assert swept["恢复的中断短信"] == 1
    message = OutboxMessage.objects.get(pk=stranded.pk)
    assert message.state == State.SENT and message.attempts == 2
    # The dead worker wakes up after all: its claim is gone, it does not send.
    assert sending._send_one(FileGateway(), stranded) == "lost"
    assert sorted(line["id"] for line in sent_lines(settings.HUZHU_OUTBOX_DIR)) == sorted(
        OutboxMessage.objects.values_list("id", flat=True))


def test_a_message_that_keeps_stranding_its_worker_fails(db, settings):
    settings.HUZHU_SMS_MAX_ATTEMPTS = 2
    _enqueue(1)
    for _ in range(2):
        sending.claim(1)
        OutboxMessage.objects.update(claimed_at=timezone.now() - dt.timedelta(minutes=10))
        sending.recover_stuck()
    message = OutboxMessage.objects.get()
    assert message.state == State.FAILED and "多次中断" in message.last_error


def test_a_send_that_outlives_its_claim_is_still_recorded_once(db, settings):
    """The provider accepts while housekeeping has already taken the message back: it is
    recorded as sent, and the next run does not send it again."""
    _enqueue(1)
    inner = FileGateway()

    class Slow:
        def send(self, message):
            sending.recover_stuck(now=timezone.now() + dt.timedelta(minutes=10))
            assert OutboxMessage.objects.get().state == State.PENDING
            return inner.send(message)

    assert sending.send_due(gateway=Slow())["sent"] == 1
    assert OutboxMessage.objects.get().state == State.SENT
    assert sending.send_due()["sent"] == 0
    assert len(sent_lines(settings.HUZHU_OUTBOX_DIR)) == 1


def test_the_console_gateway_logs_a_masked_number_and_no_text(db, settings, caplog):
    settings.HUZHU_SMS_GATEWAY = "huzhu.notify.gateways.ConsoleGateway"
    _enqueue(1)
    with caplog.at_level(logging.WARNING, logger="huzhu.notify"):
        assert sending.send_due()["sent"] == 1
    assert "139****0000" in caplog.text
    assert "13900000000" not in caplog.text and "互助保障" not in caplog.text
    assert not settings.HUZHU_OUTBOX_DIR.exists()


@pytest.mark.parametrize("debug", [True, False])
def test_the_console_gateway_shows_a_one_time_code_only_in_debug_mode(db, settings, caplog,
                                                                      debug):
    """A demo's member signs in with a code no phone receives: the console shows it, in
    debug mode only."""
    settings.HUZHU_SMS_GATEWAY = "huzhu.notify.gateways.ConsoleGateway"
    settings.DEBUG = debug
    outbox.enqueue(kind=RENEWAL, to="13900000001", text="验证码 482913",
                   dedupe_key="code:1", params={"code": "482913"})
    with caplog.at_level(logging.WARNING, logger="huzhu.notify"):
        assert sending.send_due()["sent"] == 1
    assert ("的验证码：482913" in caplog.text) is debug


def test_an_unknown_gateway_is_a_clear_error(db, settings):
    settings.HUZHU_SMS_GATEWAY = "huzhu.notify.gateways.Nothing"
    _enqueue(1)
    with pytest.raises(gateways.GatewayConfigError, match="HUZHU_SMS_GATEWAY"):
        sending.send_due()
    assert OutboxMessage.objects.get().state == State.PENDING  # nothing claimed


def test_housekeeping_keeps_one_send_task_waiting_not_one_a_minute(db, settings):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    _enqueue(2)
    for _ in range(3):
        assert housekeeping.sweep()["待发短信"] == 2
    assert DBTaskResult.objects.filter(task_path=sending.send_outbox.module_path).count() == 1


@pytest.mark.postgres
def test_two_workers_at_once_send_each_message_once(transactional_db, settings):
    _enqueue(400)
    inner = FileGateway()
    start = threading.Barrier(4)
    results, errors = [], []

    class Slowish:
        def send(self, message):
            threading.Event().wait(0.001)  # let the workers interleave
            return inner.send(message)

    def worker():
        try:
            start.wait()
            results.append(sending.send_due(limit=1000, gateway=Slowish()))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sum(r["sent"] for r in results) == 400
    assert sum(1 for r in results if r["sent"]) >= 2, results  # they really shared the work
    ids = [line["id"] for line in sent_lines(settings.HUZHU_OUTBOX_DIR)]
    assert len(ids) == len(set(ids)) == 400
    assert OutboxMessage.objects.filter(state=State.SENT).count() == 400


def test_the_system_check_names_a_bad_gateway_setting(settings):
    from huzhu.notify.checks import gateway_setting

    assert gateway_setting() == []
    settings.HUZHU_SMS_GATEWAY = "huzhu.notify.gateways.Nothing"
    [error] = gateway_setting()
    assert error.id == "notify.E001" and "HUZHU_SMS_GATEWAY" in error.msg
    settings.HUZHU_SMS_GATEWAY = "huzhu.notify.models.OutboxMessage"
    assert [e.id for e in gateway_setting()] == ["notify.E002"]
