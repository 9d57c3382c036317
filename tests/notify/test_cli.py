"""``huzhu notify send``: sends what is due, says so in Chinese, refuses a bad gateway."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from huzhu.cli import main
from huzhu.notify import outbox
from huzhu.notify.models import OutboxMessage
from tests.notify.conftest import RENEWAL, sent_lines


def _enqueue(n: int) -> None:
    outbox.enqueue_many(outbox.Draft(RENEWAL, f"1380000{i:04d}", f"第{i}位会员：请续保。",
                                     f"cli:{i}") for i in range(n))


def test_send_sends_up_to_the_limit_and_says_what_is_left(db, settings, capsys):
    _enqueue(5)
    assert main(["notify", "send", "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert "已发送 3 条，稍后重试 0 条，发送失败 0 条。" in out
    assert "仍待发送 2 条" in out
    assert main(["notify", "send"]) == 0
    out = capsys.readouterr().out
    assert "已发送 2 条" in out and "发件箱中已无待发短信。" in out
    assert main(["notify", "send"]) == 0
    assert "没有到期的待发短信。" in capsys.readouterr().out
    assert len(sent_lines(settings.HUZHU_OUTBOX_DIR)) == 5


def test_send_takes_back_stranded_messages_first(db, capsys):
    _enqueue(1)
    OutboxMessage.objects.update(state=OutboxMessage.State.SENDING, attempts=1,
                                 claimed_at=timezone.now() - dt.timedelta(hours=1))
    assert main(["notify", "send"]) == 0
    out = capsys.readouterr().out
    assert "恢复中断的短信 1 条" in out and "已发送 1 条" in out
    assert OutboxMessage.objects.get().state == OutboxMessage.State.SENT


def test_a_gateway_that_does_not_exist_stops_before_claiming(db, settings, capsys):
    settings.HUZHU_SMS_GATEWAY = "somewhere.AliyunSms"
    _enqueue(1)
    assert main(["notify", "send"]) == 2
    assert "HUZHU_SMS_GATEWAY=somewhere.AliyunSms：找不到该类" in capsys.readouterr().err
    assert OutboxMessage.objects.get().state == OutboxMessage.State.PENDING


@pytest.mark.parametrize("limit", ["0", "-1", "abc"])
def test_a_bad_limit_is_refused(limit, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["notify", "send", "--limit", limit])
    assert exit_.value.code == 2
    assert "应为正整数" in capsys.readouterr().err


def test_help_lists_the_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "发送待发短信（通知发件箱）" in capsys.readouterr().out
