"""``huzhu export engine --scheme CODE --out DIR``: the registry as ``huzhu calc`` inputs."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from huzhu.lib.django_setup import setup_django


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="what", metavar="WHAT", required=True)
    engine = sub.add_parser(
        "engine", help="导出 huzhu calc 的输入：members.parquet、enrolments.parquet")
    engine.add_argument("--scheme", required=True, help="保障项目编码")
    engine.add_argument("--out", required=True, type=Path, help="输出目录")


def run(args: argparse.Namespace) -> int:
    setup_django()
    # Models only import once Django is set up (and ``huzhu --help``, which imports every
    # command module, does not pay for rich or pyarrow).
    from rich.console import Console

    from huzhu.coverage.engine_inputs import export_engine
    from huzhu.coverage.models import Scheme

    console = Console(stderr=True)
    scheme = Scheme.objects.select_related("union").filter(code=args.scheme).first()
    if scheme is None:
        codes = "、".join(Scheme.objects.values_list("code", flat=True)) or "（暂无）"
        console.print(f"[red]没有编码为 {args.scheme} 的保障项目；现有：{codes}[/red]")
        return 2
    started = time.perf_counter()
    with console.status("正在导出……"):
        counts = export_engine(scheme, args.out)
    seconds = time.perf_counter() - started
    claims = (f"，理赔事件 {counts['events']:,} 条，已给付 {counts['prior']:,} 条"
              if "events" in counts else "")
    console.print(f"已导出“{scheme.name}”：会员 {counts['members']:,} 人，参保记录 "
                  f"{counts['enrolments']:,} 条{claims} → {args.out}（{seconds:.1f} 秒）")
    return 0
