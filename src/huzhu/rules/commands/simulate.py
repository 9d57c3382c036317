"""``huzhu simulate``: what a reform would have paid, against the policy in force.

Heavy imports happen inside :func:`run` so ``huzhu --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys

from huzhu.rules.commands.calc import add_engine_options, engine_refused, spark_session
from huzhu.rules.errors import InputError, PolicyError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", required=True, metavar="NAME_OR_PATH",
                        help="现行政策：内置政策名（如 changchun-2023）或政策 YAML 文件")
    parser.add_argument("--reform", required=True, metavar="NAME_OR_PATH",
                        help="改革方案：完整的政策文件，或只写改动的改革文件"
                             "（reform_of 指明原方案）；内置示例见 huzhu/policies/reforms/")
    parser.add_argument("--members", required=True, metavar="FILE",
                        help="会员文件（CSV/Parquet；有 union 列时另按工会汇总）")
    parser.add_argument("--events", required=True, metavar="FILE", help="事件文件（CSV/Parquet）")
    parser.add_argument("--enrolments", metavar="FILE", help="参保记录文件（可选）")
    parser.add_argument("--prior", metavar="FILE", help="已给付记录文件（可选）")
    parser.add_argument("--out", required=True, metavar="REPORT.xlsx",
                        help="测算报告（xlsx：各张表与图表）")
    parser.add_argument("--json", action="store_true",
                        help="在标准输出打印 JSON（金额为两位小数的字符串），不打印表格")
    parser.add_argument("--threads", type=int, default=None, help="DuckDB 线程数（默认全部核心）")
    parser.add_argument("--events-out", metavar="FILE",
                        help="另写逐事件结果（Parquet：两个方案的应付金额与差额；"
                             "spark 引擎写分片目录）")
    add_engine_options(parser)


def run(args: argparse.Namespace) -> int:
    # Lazy: `huzhu --help` imports every command's module; pydantic, DuckDB and
    # xlsxwriter load only to run.
    from huzhu.rules.loader import load_policy, load_reform
    from huzhu.rules.simulate_xlsx import write_xlsx
    from huzhu.rules.simulation import print_report, simulate_files

    if not args.out.lower().endswith(".xlsx"):
        print("huzhu simulate: --out 应为 .xlsx 文件", file=sys.stderr)
        return 2
    refused = engine_refused(args, "simulate")
    if refused is None and args.events_out and args.engine == "duckdb" \
            and not args.events_out.lower().endswith((".parquet", ".pq")):
        refused = "huzhu simulate: --events-out 应为 .parquet 文件"
    if refused:
        print(refused, file=sys.stderr)
        return 2
    session, owned = None, False
    try:
        base = load_policy(args.policy)
        reform = load_reform(args.reform, base=base)
        if args.engine == "spark":
            session, owned = spark_session(args, "huzhu-simulate")
        report = simulate_files(base, reform, members=args.members, events=args.events,
                                enrolments=args.enrolments, prior=args.prior,
                                threads=args.threads,
                                engine="pyspark" if args.engine == "spark" else "duckdb",
                                spark_session=session, events_out=args.events_out)
        write_xlsx(report, args.out)
    except (InputError, PolicyError) as exc:
        print(f"huzhu simulate: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"huzhu simulate: 无法写出 {args.out}：{exc}", file=sys.stderr)
        return 2
    finally:
        if session is not None and owned:
            session.stop()
    if args.json:
        print(report.to_json())
    else:
        print_report(report)
        print(f"报告已写出：{args.out}")
        if args.events_out:
            print(f"逐事件结果已写出：{args.events_out}")
    return 0
