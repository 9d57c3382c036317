"""``huzhu calc``: compute payouts for a batch of events under a policy.

Heavy imports (DuckDB, Ibis, pyarrow) happen inside :func:`run` so ``huzhu --help`` and the
other commands stay fast; pyspark only with ``--engine spark``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from huzhu.rules.errors import InputError, PolicyError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", required=True, metavar="NAME_OR_PATH",
                        help="内置政策名（如 changchun-2023）或政策 YAML 文件路径")
    parser.add_argument("--members", required=True, metavar="FILE",
                        help="会员文件（CSV/Parquet，或 Parquet 分片目录）")
    parser.add_argument("--events", required=True, metavar="FILE",
                        help="事件文件（CSV/Parquet，或 Parquet 分片目录）")
    parser.add_argument("--enrolments", metavar="FILE", help="参保记录文件（CSV/Parquet，可选）")
    parser.add_argument("--prior", metavar="FILE", help="已给付记录文件（CSV/Parquet，可选）")
    parser.add_argument("--out", required=True, metavar="FILE",
                        help="输出文件（按扩展名写 CSV 或 Parquet；spark 引擎写 Parquet 分片目录）")
    parser.add_argument("--columns", choices=("full", "minimal"), default="full",
                        help="输出列：full（默认，含计算过程）或 minimal（event_id, member_id, "
                             "benefit, payable, status, reason）")
    parser.add_argument("--threads", type=int, default=None, help="DuckDB 线程数（默认全部核心）")
    parser.add_argument("--quiet", action="store_true", help="不在 stderr 显示进度")
    add_engine_options(parser)


NO_PYSPARK = "spark 引擎需要 pyspark（pip install 'huzhu[spark]'）和 Java 17"


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """``--engine`` and ``--spark-master``, as ``huzhu feed run`` has them."""
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                        help="计算引擎（默认 duckdb，本机；spark 在 SparkSession 上运行，"
                             "只读写 Parquet，路径可为 hdfs:// 或 s3a:// 等集群可达的地址）")
    parser.add_argument("--spark-master", metavar="URL",
                        help="Spark 集群地址，如 spark://主机:7077 或 yarn"
                             "（默认本机 local[2]；经 spark-submit 启动时沿用其设置）")


def spark_session(args: argparse.Namespace, app_name: str) -> tuple[Any, bool]:
    """The session ``--engine spark`` runs on (pyspark imported only then), and whether
    this command started it (and so stops it): a session already running in the
    process (a caller's, a notebook's) is used and left running."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SystemExit(f"huzhu {app_name.removeprefix('huzhu-')}: {NO_PYSPARK}") from None

    from huzhu.rules.spark import session_for

    running = SparkSession.getActiveSession()
    return session_for(args.spark_master, app_name=app_name), running is None


def engine_refused(args: argparse.Namespace, command: str) -> str | None:
    """Why the engine options do not go together (None when they do)."""
    if args.spark_master and args.engine != "spark":
        return f"huzhu {command}: --spark-master 只与 --engine spark 一起使用"
    if args.engine == "spark" and args.threads:
        return f"huzhu {command}: --threads 只用于 duckdb 引擎；Spark 的并行度由集群设置决定"
    return None


def run(args: argparse.Namespace) -> int:
    refused = engine_refused(args, "calc")
    if refused:
        print(refused, file=sys.stderr)
        return 2
    if args.engine == "spark":
        return _run_on_spark(args)
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


def _run_on_spark(args: argparse.Namespace) -> int:
    from huzhu.rules.spark import run_calc_on_spark

    session, owned = spark_session(args, "huzhu-calc")
    try:
        run_calc_on_spark(
            session,
            policy=args.policy,
            members=args.members,
            events=args.events,
            enrolments=args.enrolments,
            prior=args.prior,
            out=args.out,
            columns=args.columns,
            progress=None if args.quiet else sys.stderr,
            totals=not args.quiet,
        )
    except (InputError, PolicyError) as exc:
        print(f"huzhu calc: {exc}", file=sys.stderr)
        return 2
    finally:
        if owned:
            session.stop()
    return 0
