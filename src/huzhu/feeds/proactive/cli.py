"""``huzhu proactive …``: review by exception and the no-one-missed list on the command line.

``huzhu proactive sample RUN_ID --percent P [--seed S] [--add CLAIM_ID …] --as USERNAME``
draws the run's sample; ``huzhu proactive approve RUN_ID --as USERNAME`` approves the rest
of the run's straight-through claims in one decision; ``huzhu proactive gaps --scheme CODE
[--union CODE] [--out FILE]`` lists who may have been missed. The arguments are written as
the issue that asked for them names them: other tools call these commands.

This module only parses (it is imported to build ``huzhu``'s parser, before Django is set
up); the module that runs an action is imported after :func:`setup_django`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from huzhu.lib.django_setup import setup_django


def _run_sample(args: argparse.Namespace) -> int:
    from huzhu.feeds.proactive.review_command import run_sample

    return run_sample(args)


def _run_approve(args: argparse.Namespace) -> int:
    from huzhu.feeds.proactive.review_command import run_approve

    return run_approve(args)


def _run_gaps(args: argparse.Namespace) -> int:
    from huzhu.feeds.proactive.gaps import run_command

    return run_command(args)


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="proactive_action", metavar="ACTION", required=True)
    sample = sub.add_parser("sample", help="抽取复核样本：从一次测算的直通理赔中按比例随机抽取",
                            description="抽取复核样本：从一次免申即享测算的直通理赔中按比例随机"
                                        "抽取（随机种子记入审计日志），样本按普通理赔两级审核")
    sample.add_argument("run_id", type=int, metavar="RUN_ID",
                        help="测算编号（huzhu feed run 打印的编号）")
    sample.add_argument("--percent", type=str, required=True, metavar="P",
                        help="抽样比例（百分数，如 1 或 0.5）")
    sample.add_argument("--seed", type=int, metavar="S", help="随机种子（默认随机生成并记录）")
    sample.add_argument("--add", type=int, action="append", default=[], metavar="CLAIM_ID",
                        help="另外加入样本的理赔编号（可重复）")
    sample.add_argument("--as", dest="username", required=True, metavar="USERNAME",
                        help="抽样的审核人员用户名")
    sample.set_defaults(_proactive_run=_run_sample)

    approve = sub.add_parser("approve", help="批量核准：样本审完后核准其余直通理赔",
                             description="批量核准：样本全部审完、且被驳回或核减的比例不超过"
                                         "保障项目的阈值时，一次核准该测算其余全部直通理赔；"
                                         "核准人不能是抽样人")
    approve.add_argument("run_id", type=int, metavar="RUN_ID", help="测算编号")
    approve.add_argument("--as", dest="username", required=True, metavar="USERNAME",
                         help="核准人用户名（须为另一位复审人员）")
    approve.set_defaults(_proactive_run=_run_approve)

    gaps = sub.add_parser("gaps", help="应享未享：按工会列出可能漏掉的会员与受益率",
                          description="应享未享：按工会列出已结算但没有理赔的住院、无法付款的"
                                      "免申即享理赔、可补正的驳回，以及受益率")
    gaps.add_argument("--scheme", required=True, metavar="CODE", help="保障项目编码")
    gaps.add_argument("--union", metavar="CODE", help="只看该工会（编码）及其下级")
    gaps.add_argument("--out", type=Path, metavar="FILE", help="把清单写入 .xlsx 或 .csv 文件")
    gaps.add_argument("--notify", action="store_true",
                      help="向有待付款的免申即享理赔、但没有登记银行账号的会员发送提醒短信"
                           "（同一次测算每人一次）")
    gaps.set_defaults(_proactive_run=_run_gaps)


def run(args: argparse.Namespace) -> int:
    setup_django()
    return int(args._proactive_run(args) or 0)
