"""``huzhu feed …``: the settlement feed on the command line.

``huzhu feed import FILE [--as USERNAME] [--errors-out REPORT.xlsx] [--valid-only]``
imports a feed in the foreground with a progress bar. Each action is a subcommand in :data:`ACTIONS`
(name → help, how to configure its parser, and the function that runs it, imported only
when it runs), so the batch can add ``feed run`` beside ``feed import``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path


def configure_import(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path,
                        help="结算数据文件：.csv（UTF-8/GBK）、.xlsx 或 .parquet")
    parser.add_argument("--as", dest="username", metavar="USERNAME",
                        help="以该数据人员（管理员）的身份导入，只匹配其管辖范围内的会员"
                             "（默认：系统，全部会员）")
    parser.add_argument("--errors-out", type=Path, metavar="REPORT.xlsx",
                        help="把错误报告写入 xlsx 文件")
    parser.add_argument("--valid-only", action="store_true",
                        help="只导入无错误的行（默认：有任何错误则全部不导入）")


def run_import(args: argparse.Namespace) -> int:
    from huzhu.feeds.cli import import_command

    return import_command(path=args.file, username=args.username, errors_out=args.errors_out,
                          valid_only=args.valid_only)


def configure_run(parser: argparse.ArgumentParser) -> None:
    from huzhu.feeds.proactive.command import configure

    configure(parser)


def run_batch(args: argparse.Namespace) -> int:
    from huzhu.feeds.proactive.command import run as run_command

    return run_command(args)


# name → (help, configure(parser), run(args) -> exit code)
ACTIONS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None],
                         Callable[[argparse.Namespace], int]]] = {
    "import": ("导入医保结算数据（校验、去重、按身份证号匹配会员）", configure_import, run_import),
    "run": ("导入医保结算数据并测算免申即享理赔（整批经计算引擎）", configure_run, run_batch),
}


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="feed_action", metavar="ACTION")
    sub.required = True
    for name, (help_text, configure_action, run_action) in ACTIONS.items():
        action = sub.add_parser(name, help=help_text, description=help_text)
        configure_action(action)
        action.set_defaults(_feed_run=run_action)


def run(args: argparse.Namespace) -> int:
    from huzhu.lib.django_setup import setup_django

    setup_django()
    return int(args._feed_run(args) or 0)
