"""``huzhu synth``: deterministic synthetic members, enrolments and events as Parquet.

The files are the exact inputs of ``huzhu calc`` (see ``huzhu.rules.synth`` for what is in
them), so a benchmark or a demo needs nothing but a seed. numpy and pyarrow are imported
inside ``run`` because the ``huzhu`` parser imports every command module.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--members", type=int, required=True, help="会员人数")
    parser.add_argument("--events", type=int, required=True, help="事件（申请）条数")
    parser.add_argument("--seed", type=int, default=1, help="随机种子（默认 1；同一种子结果相同）")
    parser.add_argument("--out", type=Path, default=Path("."), help="输出目录（默认当前目录）")
    parser.add_argument(
        "--policy",
        action="append",
        metavar="NAME",
        help=(
            "只生成该政策的保障项目事件，可重复；默认覆盖全部内置政策。"
            "选定多项政策时另写 events-<政策>.parquet，可直接交给 huzhu calc"
        ),
    )
    parser.add_argument("--quiet", action="store_true", help="不在标准错误输出进度")


def run(args: argparse.Namespace) -> int:
    # Lazy: `huzhu --help` imports every command's module; numpy loads only to run.
    from huzhu.rules.synth import SynthError, generate

    if args.members < 1 or args.events < 0:
        print("错误：--members 至少为 1，--events 不能为负数", file=sys.stderr)
        return 2
    try:
        written = generate(
            members=args.members,
            events=args.events,
            seed=args.seed,
            out=args.out,
            policies=args.policy,
            progress=None if args.quiet else _progress,
        )
    except SynthError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    for path, rows in written:
        print(f"{path}\t{rows}")
    return 0


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
