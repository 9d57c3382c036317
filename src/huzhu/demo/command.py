"""``huzhu demo``: migrate, generate the demo city unless it is there, print the logins."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--members", type=int, default=20000, help="会员人数（默认 20000）")
    parser.add_argument("--seed", type=int, default=1, help="随机种子（默认 1）")
    parser.add_argument("--reset", action="store_true", help="清空现有数据后重新生成")


def run(args: argparse.Namespace) -> int:
    from huzhu.config import setup_django

    setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    print("演示数据生成器正在编写中。")
    return 0
