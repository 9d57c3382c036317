"""``huzhu audit money``: the money audit (see :mod:`huzhu.claims.money_audit`)."""

from __future__ import annotations

import argparse
import sys
import time

from huzhu.lib.django_setup import setup_django


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("money", help="核查给付：按全部给付记录用政策重算每笔已给付理赔，并查重复给付、"
                                 "付款与记账日期、保障期",
                   description="按全部给付记录用政策重算每笔已审批、给付中、已给付的理赔，"
                               "列出超出政策允许的给付、重复给付、日期不符的付款与记账、"
                               "超出互助期的保障；有问题时退出码为 1")


def run(args: argparse.Namespace) -> int:
    setup_django()
    from huzhu.claims import money_audit  # once Django is set up

    started = time.perf_counter()
    checks = money_audit.run(progress=lambda text: print(text, file=sys.stderr, flush=True))
    for check in checks:
        mark = "通过" if check.ok else f"不符 {check.count:,} 处"
        print(f"[{mark}] {check.name}（{check.seconds:.1f} 秒）")
        for text in check.findings:
            print(f"  - {text}")
        if check.count > len(check.findings):
            print(f"  … 另有 {check.count - len(check.findings):,} 处未列出")
    failed = sum(c.count for c in checks)
    took = time.perf_counter() - started
    if failed:
        print(f"核查未通过：共 {failed:,} 处问题（用时 {took:.1f} 秒）")
        return 1
    print(f"核查通过：共 {len(checks)} 项（用时 {took:.1f} 秒）")
    return 0
