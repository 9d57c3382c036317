"""``huzhu payouts …``: payout batches, bank files and the bank's result file.

``huzhu payouts build --scheme CODE --as USERNAME [--max-per-batch N]``,
``huzhu payouts file BATCH --out FILE [--format csv|xlsx] [--encoding utf-8|gbk]
[--full --purpose TEXT] --as USERNAME`` and
``huzhu payouts reconcile BATCH RETURN_FILE --as USERNAME``: the arguments are written
as the issue that asked for them names them, since other tools call these commands.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from huzhu.lib.django_setup import setup_django

if TYPE_CHECKING:  # the models are imported at run time only after Django is set up
    from huzhu.claims.models import PayoutBatch
    from huzhu.orgs.models import User


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
    out.add_argument("--layout", choices=("general", "daifa"), default="general",
                     help="文件样式：general 通用格式（默认），daifa 银行代发格式")
    rec.add_argument("--paid-on", type=_day, metavar="YYYY-MM-DD",
                     help="回盘文件没有日期列时的付款（退票）日期，默认今天")


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{text}”不是日期，应为 YYYY-MM-DD") from None


def run(args: argparse.Namespace) -> int:
    setup_django()
    # Imported after Django is set up: the services import models.
    from huzhu.claims.workflow import ClaimRefused

    try:
        user = _user(args.username)
        if args.payouts_action == "build":
            return _build(user, args)
        if args.payouts_action == "file":
            return _file(user, args)
        return _reconcile(user, args)
    except ClaimRefused as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1


def _user(username: str) -> User:
    from huzhu.claims.workflow import ClaimRefused
    from huzhu.orgs.models import User

    user = User.objects.select_related("union").filter(username=username,
                                                       is_active=True).first()
    if user is None:
        raise ClaimRefused(f"没有用户“{username}”（或已停用）")
    return user


def _batch(user: User, number: str) -> PayoutBatch:
    from huzhu.claims.payouts.access import batches_visible_to
    from huzhu.claims.workflow import ClaimRefused

    batch = (batches_visible_to(user).select_related("scheme__union", "union")
             .filter(number=number).first())
    if batch is None and number.isdigit():
        batch = (batches_visible_to(user).select_related("scheme__union", "union")
                 .filter(pk=int(number)).first())
    if batch is None:
        # Never whether it exists elsewhere: a batch outside the scope is not there.
        raise ClaimRefused(f"没有给付批次 {number}，或该批次不在您的管辖范围内")
    return batch


def _build(user: User, args: argparse.Namespace) -> int:
    from huzhu.claims.payouts import build, settle
    from huzhu.claims.workflow import ClaimRefused
    from huzhu.coverage.models import Scheme
    from huzhu.rules.money import yuan

    scheme = Scheme.objects.visible_to(user).select_related("union").filter(
        code=args.scheme).first()
    if scheme is None:
        raise ClaimRefused(f"没有保障项目“{args.scheme}”，或不在您的管辖范围内")
    built = build.build_batches(user, scheme, args.max_per_batch)
    batches = built.batches
    count, total = 0, Decimal("0.00")
    for batch in batches:
        totals = settle.batch_totals(batch)
        count, total = count + totals.count, total + totals.total
        print(f"给付批次 {batch.number}（{batch.union.name}）：{totals.count:,} 笔，"
              f"合计 {yuan(totals.total)} 元")
    print(f"共 {len(batches)} 个批次，{count:,} 笔，合计 {yuan(total)} 元")
    missing = built.without_account
    if missing:
        print(f"{len(missing):,} 件已审批的理赔因会员没有登记银行账号未纳入批次，"
              "请补录银行账号后再生成批次")
    return 0


def _file(user: User, args: argparse.Namespace) -> int:
    from huzhu.claims.payouts import files, settle
    from huzhu.rules.money import yuan

    batch = _batch(user, args.batch)
    data = files.write_bank_file(user, batch, args.format, full=args.full,
                                 purpose=args.purpose or "", layout=args.layout,
                                 encoding=args.encoding)
    args.out.write_bytes(data)
    totals = settle.batch_totals(batch)
    numbers = "完整账号" if args.full else "脱敏账号"
    print(f"已写出给付批次 {batch.number} 的银行转账文件 {args.out}（{numbers}）："
          f"待付款 {totals.pending:,} 笔，合计 {yuan(totals.pending_total)} 元")
    return 0


def _reconcile(user: User, args: argparse.Namespace) -> int:
    from huzhu.claims.payouts import reconcile, settle
    from huzhu.claims.workflow import ClaimRefused
    from huzhu.rules.money import yuan

    batch = _batch(user, args.batch)
    path: Path = args.return_file
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ClaimRefused(f"无法读取回盘文件 {path}：{exc.strerror}") from None
    result = reconcile.reconcile(user, batch, data, path.name, paid_on=args.paid_on)
    if result.changes_nothing:
        print(f"回盘文件 {path.name} 已核对过：{result.unchanged:,} 笔给付均已是文件所写的"
              "状态，未做任何变更")
        return 0
    print(f"已核对给付批次 {batch.number} 的回盘文件 {path.name}：{result.summary()}")
    totals = settle.batch_totals(batch)
    print(f"批次现状：已付款 {totals.paid:,} 笔 {yuan(totals.paid_total)} 元，"
          f"付款失败 {totals.failed:,} 笔 {yuan(totals.failed_total)} 元，"
          f"已退票 {totals.returned:,} 笔 {yuan(totals.returned_total)} 元，"
          f"待付款 {totals.pending:,} 笔 {yuan(totals.pending_total)} 元")
    return 0
