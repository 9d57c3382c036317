"""``huzhu stats --scheme CODE [--year Y | --from D --to D] [--union CODE] [--json]``: the
statistics page's figures for other tools (the same query layer, no user: the whole tree).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from huzhu.lib.django_setup import setup_django
from huzhu.reports.render import show


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scheme", required=True, help="保障项目编码")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--year", type=int, help="年度（按付款日期；默认今年）")
    when.add_argument("--from", dest="start", type=dt.date.fromisoformat, metavar="YYYY-MM-DD",
                      help="开始日期（含），与 --to 一起使用")
    parser.add_argument("--to", dest="end", type=dt.date.fromisoformat, metavar="YYYY-MM-DD",
                        help="结束日期（含）")
    parser.add_argument("--union", help="工会编码（默认：保障项目的主办工会）")
    parser.add_argument("--json", action="store_true",
                        help="打印 JSON（金额为两位小数的字符串）")


def _dates(args: argparse.Namespace) -> tuple[dt.date, dt.date] | str:
    from django.utils import timezone

    from huzhu.reports.figures import year_range  # run() calls this after setup_django()

    if args.start or args.end:
        if not (args.start and args.end):
            return "--from 与 --to 须同时给出"
        if args.end < args.start:
            return "--to 不能早于 --from"
        return args.start, args.end
    return year_range(args.year or timezone.localdate().year)


def run(args: argparse.Namespace) -> int:
    setup_django()
    # After setup_django(): models can be imported only once Django is set up.
    from huzhu.coverage.models import Scheme
    from huzhu.orgs.models import Union
    from huzhu.reports import figures

    dates = _dates(args)
    if isinstance(dates, str):
        print(f"huzhu stats：{dates}", file=sys.stderr)
        return 2
    scheme = Scheme.objects.select_related("union").filter(code=args.scheme).first()
    if scheme is None:
        codes = "、".join(Scheme.objects.values_list("code", flat=True)) or "（暂无）"
        print(f"huzhu stats：没有编码为 {args.scheme} 的保障项目；现有：{codes}", file=sys.stderr)
        return 2
    union = None
    if args.union:
        union = Union.objects.filter(code=args.union).first()
        if union is None:
            print(f"huzhu stats：没有编码为 {args.union} 的工会", file=sys.stderr)
            return 2
    try:
        stats = figures.statistics(None, scheme, start=dates[0], end=dates[1], union=union)
    except figures.OutOfScope:
        print(f"huzhu stats：工会 {args.union} 不在保障项目“{scheme.name}”的范围内",
              file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(stats.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print(stats)
    return 0


def _print(stats) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    s = stats.selection
    table = Table(title=f"{s.scheme.name} · {s.union.name} · {s.label}")
    table.add_column("指标")
    table.add_column("数值", justify="right")
    for h in stats.headlines():
        table.add_row(h.label, show(h.value, h.unit))
    console.print(table)
    per = Table(title="分项目")
    for title in ("项目", "给付金额（元）", "人次", "人数"):
        per.add_column(title, justify="left" if title == "项目" else "right")
    for b in stats.by_benefit:
        per.add_row(b.name, show(b.paid_total, "元"), f"{b.person_times:,}", f"{b.members:,}")
    console.print(per)
