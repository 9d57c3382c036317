"""``huzhu notify send [--limit N]``: send the due messages now, in the foreground.

The same work as the background task (take back stranded messages, then send what is
due); useful after an outage, or where no worker runs. Two of them at once, or one next
to the worker, never send a message twice: each message is claimed by one sender.
"""

from __future__ import annotations

import argparse
import sys

from huzhu.lib.django_setup import setup_django


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    send = sub.add_parser("send", help="发送到期的待发短信", description="发送到期的待发短信")
    send.add_argument("--limit", type=_positive, default=10_000, metavar="N",
                      help="最多发送多少条（默认 10000）")


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"应为正整数，而不是“{text}”")
    return int(text)


def run(args: argparse.Namespace) -> int:
    setup_django()
    # After setup_django(): models can be imported only once Django is set up.
    from huzhu.notify.gateways import GatewayConfigError, get_gateway
    from huzhu.notify.models import OutboxMessage
    from huzhu.notify.sending import recover_stuck, send_due

    try:
        gateway = get_gateway()
    except GatewayConfigError as exc:
        print(f"huzhu notify：{exc}", file=sys.stderr)
        return 2
    stuck = recover_stuck()
    done = send_due(limit=args.limit, gateway=gateway)
    left = OutboxMessage.objects.filter(state=OutboxMessage.State.PENDING).count()
    for line in summary(done, stuck, left):
        print(line)
    return 0


def summary(done: dict[str, int], stuck: dict[str, int], left: int) -> list[str]:
    lines = []
    if stuck["recovered"] or stuck["failed"]:
        lines.append(f"恢复中断的短信 {stuck['recovered']} 条"
                     + (f"，多次中断而失败 {stuck['failed']} 条" if stuck["failed"] else ""))
    if not any(done.values()):
        lines.append("没有到期的待发短信。")
    else:
        lines.append(f"已发送 {done['sent']} 条，稍后重试 {done['retrying']} 条，"
                     f"发送失败 {done['failed']} 条。"
                     + (f"另有 {done['lost']} 条已由其他进程接手。" if done.get("lost") else ""))
    lines.append(f"仍待发送 {left} 条（含未到重试时间的）。" if left else "发件箱中已无待发短信。")
    return lines
