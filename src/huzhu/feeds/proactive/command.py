"""``huzhu feed run FILE --scheme CODE [--as USERNAME] [--report FILE]``: import the feed,
then run the batch (免申即享) in the foreground with a progress bar; prints the outcomes."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

PHASES = {"validating": "校验", "importing": "匹配与写入", "loading": "读取结算记录",
          "engine": "引擎测算", "writing": "生成理赔"}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path,
                        help="结算数据文件：.csv（UTF-8/GBK）、.xlsx 或 .parquet")
    parser.add_argument("--scheme", required=True, metavar="CODE", help="保障项目编码")
    parser.add_argument("--as", dest="username", metavar="USERNAME",
                        help="以该数据人员（管理员）的身份运行，只处理其管辖范围内的会员"
                             "（默认：系统，全部会员）")
    parser.add_argument("--report", type=Path, metavar="FILE",
                        help="把每行的测算结果写入 .xlsx 或 .csv 文件")
    parser.add_argument("--valid-only", action="store_true",
                        help="只导入并测算无错误的行（默认：有任何错误则全部不导入、不测算）")
    parser.add_argument("--errors-out", type=Path, metavar="REPORT.xlsx",
                        help="文件有错误时，把错误报告写入 xlsx 文件")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                        help="计算引擎（默认 duckdb；spark 在 SparkSession 上运行）")
    parser.add_argument("--spark-master", metavar="URL",
                        help="Spark 集群地址（默认本机 local[2]）")


def run(args: argparse.Namespace) -> int:
    from huzhu.coverage.models import Scheme
    from huzhu.feeds.cli import _print_counts
    from huzhu.feeds.importing import import_feed
    from huzhu.feeds.proactive import run as batch
    from huzhu.feeds.tokens import may_import_feeds
    from huzhu.orgs.models import User

    console = Console(stderr=True)
    user = None
    if args.username:
        user = User.objects.filter(username=args.username).select_related("union").first()
        if user is None:
            console.print(f"[red]没有名为 {args.username} 的工作人员[/red]")
            return 2
        if not may_import_feeds(user):
            console.print(f"[red]{args.username} 不是数据人员（管理员），"
                          "不能运行免申即享测算[/red]")
            return 2
    scheme = Scheme.objects.filter(code=args.scheme).select_related("union").first()
    if scheme is None:
        console.print(f"[red]没有编码为 {args.scheme} 的保障项目[/red]")
        return 2
    if not args.file.is_file():
        console.print(f"[red]找不到文件：{args.file}[/red]")
        return 2
    session = _spark(args) if args.engine == "spark" else None
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as bar:
        tasks: dict[str, int] = {}

        def progress(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(PHASES.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done, total=total)

        outcome = import_feed(args.file, user=user, progress=progress,
                              valid_only=args.valid_only)
        if not outcome.imported:
            _refused(console, outcome, args.errors_out)
            return 1
        try:
            started = batch.start_run(outcome.feed, scheme, user=user,
                                      engine="pyspark" if args.engine == "spark" else "duckdb")
            result = batch.execute(started, progress=progress, spark_session=session)
        except batch.RunRefused as exc:
            console.print(f"[red]{exc}[/red]")
            return 2
    _print_counts(console, outcome)
    _print_outcomes(console, result)
    if args.report:
        from huzhu.feeds.proactive.report import write_report

        write_report(result.run, args.report)
        console.print(f"测算结果已写入 {args.report}")
    console.print(f"[green]{result.run.message}[/green]")
    return 0


def _refused(console: Console, outcome, errors_out: Path | None) -> None:
    """The file's errors, as ``huzhu feed import`` shows them: nothing was imported or run."""
    from huzhu.feeds.cli import _print_errors
    from huzhu.imports.errors import write_report

    if outcome.error_count:
        _print_errors(console, outcome)
        if errors_out:
            write_report(outcome.errors, errors_out, total_errors=outcome.error_count)
            console.print(f"错误报告已写入 {errors_out}")
    console.print(f"[red]{outcome.summary()}[/red]")


def _spark(args: argparse.Namespace):
    from huzhu.rules.spark import local_session

    if not args.spark_master:
        return local_session()
    from pyspark.sql import SparkSession

    return (SparkSession.builder.master(args.spark_master).appName("huzhu-feed-run")
            .config("spark.sql.session.timeZone", "UTC").getOrCreate())


def _print_outcomes(console: Console, result) -> None:
    from huzhu.feeds.models.proactive import StayOutcome

    table = Table(title=f"免申即享测算 #{result.run.pk}（保障项目 {result.run.scheme.code}）")
    table.add_column("结果")
    table.add_column("代码")
    table.add_column("行数", justify="right")
    for code, label in StayOutcome.Outcome.choices:
        table.add_row(label, code, f"{result.counts.get(code, 0):,}")
    table.add_row("合计", "", f"{sum(result.counts.values()):,}")
    console.print(table)
    console.print(f"拟给付金额合计 {result.proposed_amount:,} 元；"
                  f"本次新生成理赔 {result.created:,} 件")
