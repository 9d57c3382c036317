"""``huzhu calc``: compute payouts for a batch of events under a policy.

Heavy imports (DuckDB, Ibis, pyarrow) happen inside :func:`run` so ``huzhu --help`` and the
other commands stay fast.
"""

from __future__ import annotations

import argparse
import sys

from huzhu.rules.errors import InputError, PolicyError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", required=True, metavar="NAME_OR_PATH",
                        help="内置政策名（如 changchun-2023）或政策 YAML 文件路径")
    parser.add_argument("--members", required=True, metavar="FILE", help="会员文件（CSV/Parquet）")
    parser.add_argument("--events", required=True, metavar="FILE", help="事件文件（CSV/Parquet）")
    parser.add_argument("--enrolments", metavar="FILE", help="参保记录文件（CSV/Parquet，可选）")
    parser.add_argument("--prior", metavar="FILE", help="已给付记录文件（CSV/Parquet，可选）")
    parser.add_argument("--out", required=True, metavar="FILE",
                        help="输出文件（按扩展名写 CSV 或 Parquet）")
    parser.add_argument("--columns", choices=("full", "minimal"), default="full",
                        help="输出列：full（默认，含计算过程）或 minimal（event_id, member_id, "
                             "benefit, payable, status, reason）")
    parser.add_argument("--threads", type=int, default=None, help="DuckDB 线程数（默认全部核心）")
    parser.add_argument("--quiet", action="store_true", help="不在 stderr 显示进度")


def run(args: argparse.Namespace) -> int:
    # Lazy: `huzhu --help` imports every command's module; DuckDB loads only to run.
    from huzhu.rules.batch import run_calc

    try:
        run_calc(
            policy=args.policy,
            members=args.members,
            events=args.events,
            enrolments=args.enrolments,
            prior=args.prior,
            out=args.out,
            threads=args.threads,
            columns=args.columns,
            progress=None if args.quiet else sys.stderr,
            totals=not args.quiet,  # nobody would see them
        )
    except (InputError, PolicyError) as exc:
        print(f"huzhu calc: {exc}", file=sys.stderr)
        return 2
    return 0
