"""``huzhu audit money``: the money audit (see :mod:`huzhu.claims.money_audit`);
``huzhu audit verify`` and ``huzhu audit anchor``: the audit log's hash chain (see
:mod:`huzhu.audit.chain`)."""

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
    verify = sub.add_parser(
        "verify", help="核验审计日志：逐条检查哈希链，找出被改动、删除或插入的记录",
        description="按编号顺序逐条核验审计日志的哈希链，指出第一条被改动、删除或插入的记录"
                    "（编号与时间）；有问题时退出码为 1。核验本身也记入审计日志")
    verify.add_argument("--anchor", default="", metavar="HASH",
                        help="此前记下的链头哈希（huzhu audit anchor 或网页服务日志中的锚点）："
                             "核验审计日志仍经过它，锚定之后没有记录被删除或重写")
    sub.add_parser("anchor", help="显示审计日志的锚点（链头哈希、条数与时间），请另行保存",
                   description="显示审计日志当前的链头哈希、条数与时间。另行保存（纸面、"
                               "其他服务器），日后用 huzhu audit verify --anchor 核对")


def run(args: argparse.Namespace) -> int:
    setup_django()
    if args.action == "verify":
        return _verify(args.anchor.strip().lower())
    if args.action == "anchor":
        from huzhu.audit import chain

        print(chain.anchor().text())
        return 0
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


def _verify(anchor: str) -> int:
    from huzhu.audit import chain, log
    from huzhu.audit.models import AuditEntry

    started = time.perf_counter()
    verdict = chain.verify(anchor=anchor)
    took = time.perf_counter() - started
    if verdict.ok:
        head = (f"，链头第 {verdict.head.id} 号（{chain.when(verdict.head.at)}），"
                f"链头哈希 {verdict.head_hash}" if verdict.head else "")
        text = f"审计日志核验通过：共 {verdict.count:,} 条{head}"
    else:
        text = (f"审计日志核验未通过：{verdict.problem}"
                f"（此前 {verdict.count:,} 条完好）")
    print(f"{text}（用时 {took:.1f} 秒）")
    log.record(None, AuditEntry.Action.AUDIT_VERIFIED, summary=text,
               changes={"entries": verdict.count, "head_hash": verdict.head_hash,
                        "finding": verdict.problem or "通过",
                        **({"anchor": anchor} if anchor else {})})
    return 0 if verdict.ok else 1
