"""``huzhu payouts …``: payout batches, bank files and the bank's result file.

``huzhu payouts build --scheme CODE --as USERNAME [--max-per-batch N]``,
``huzhu payouts file BATCH --out FILE [--format csv|xlsx] [--encoding utf-8|gbk]
[--full --purpose TEXT] --as USERNAME`` and
``huzhu payouts reconcile BATCH RETURN_FILE --as USERNAME``: the arguments are written
as the issue that asked for them names them, since other tools call these commands.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from huzhu.lib.django_setup import setup_django


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="payouts_action", metavar="ACTION", required=True)
    build = sub.add_parser("build", help="把已审批的理赔编成给付批次（按付款工会）")
    build.add_argument("--scheme", required=True, metavar="CODE", help="保障项目编码")
    build.add_argument("--as", dest="username", required=True, metavar="USERNAME",
                       help="财务人员用户名")
    build.add_argument("--max-per-batch", type=int, default=50_000, metavar="N",
                       help="每个批次最多的笔数（默认 50000）")
    out = sub.add_parser("file", help="写出批次的银行代发文件")
    out.add_argument("batch", metavar="BATCH", help="批次号")
    out.add_argument("--out", type=Path, required=True, metavar="FILE", help="输出文件")
    out.add_argument("--format", choices=("csv", "xlsx"), default="xlsx",
                     help="文件格式（默认 xlsx）")
    out.add_argument("--encoding", choices=("utf-8", "gbk"), default="utf-8",
                     help="CSV 的编码（默认 utf-8）")
    out.add_argument("--full", action="store_true", help="含完整银行账号（须写明用途）")
    out.add_argument("--purpose", metavar="TEXT", help="导出完整账号的用途")
    out.add_argument("--as", dest="username", required=True, metavar="USERNAME",
                     help="财务人员用户名")
    rec = sub.add_parser("reconcile", help="核对银行回盘文件，逐笔标记成功、失败或退票")
    rec.add_argument("batch", metavar="BATCH", help="批次号")
    rec.add_argument("return_file", type=Path, metavar="RETURN_FILE",
                     help="银行回盘文件（.csv 或 .xlsx，UTF-8 或 GBK）")
    rec.add_argument("--as", dest="username", required=True, metavar="USERNAME",
                     help="财务人员用户名")


def run(args: argparse.Namespace) -> int:
    setup_django()
    raise SystemExit("huzhu payouts：正在开发")
