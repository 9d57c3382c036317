"""``huzhu feed …``: the settlement feed on the command line.

``huzhu feed import FILE [--as USERNAME] [--errors-out REPORT.xlsx] [--valid-only]``
imports a feed in the foreground with a progress bar (:mod:`huzhu.feeds.cli`);
``huzhu feed run FILE --scheme CODE …`` imports it and runs the proactive batch on it
(:mod:`huzhu.feeds.proactive.command`). Each action is a subcommand in :data:`ACTIONS`
(name → help, its parser's arguments, and the function that runs it).

This module only parses: it is imported to build ``huzhu``'s parser, before Django is
set up, so it imports no model; the module that runs an action is imported after
:func:`~huzhu.lib.django_setup.setup_django`, and only that action's.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from huzhu.lib.django_setup import setup_django


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
    # After setup_django(): the import's modules import models.
    from huzhu.feeds.cli import import_command

    return import_command(path=args.file, username=args.username, errors_out=args.errors_out,
                          valid_only=args.valid_only)


def configure_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path,
                        help="结算数据文件：.csv（UTF-8/GBK）、.xlsx 或 .parquet")
    parser.add_argument("--scheme", required=True, metavar="CODE", help="保障项目编码")
    parser.add_argument("--as", dest="username", metavar="USERNAME",
                        help="以该数据人员（管理员）的身份运行，只处理其管辖范围内的会员"
                             "（默认：系统，全部会员）；理赔一律由系统账号 huzhu-proactive "
                             "登记，运行人记在测算和审计日志中，仍可审核这些理赔")
    parser.add_argument("--report", type=Path, metavar="FILE",
                        help="把每行的测算结果写入 .xlsx 或 .csv 文件")
    parser.add_argument("--valid-only", action="store_true",
                        help="只导入并测算无错误的行（默认：有任何错误则全部不导入、不测算）")
    parser.add_argument("--errors-out", type=Path, metavar="REPORT.xlsx",
                        help="文件有错误时，把错误报告写入 xlsx 文件")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                        help="计算引擎（默认 duckdb；spark 在 SparkSession 上运行）")
    parser.add_argument("--spark-master", metavar="URL",
                        help="Spark 集群地址（默认本机 local[2]）")


def run_batch(args: argparse.Namespace) -> int:
    # After setup_django(): the batch's modules import models (and the engine).
    from huzhu.feeds.proactive.command import run_command

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
    setup_django()
    return int(args._feed_run(args) or 0)
