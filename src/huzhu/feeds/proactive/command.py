"""``huzhu feed run FILE --scheme CODE [--as USERNAME] [--report FILE]``: import the feed,
then run the batch (免申即享) in the foreground with a progress bar; prints the outcomes.

Its arguments are parsed by :mod:`huzhu.feeds.commands`; this module is imported after
Django is set up, when the command runs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from huzhu.coverage.models import Scheme
from huzhu.feeds.cli import PHASES, find_officer, print_counts, print_errors
from huzhu.feeds.importing import FeedOutcome, import_feed
from huzhu.feeds.models.proactive import StayOutcome
from huzhu.feeds.proactive import run as batch
from huzhu.feeds.proactive.outcomes import RunResult
from huzhu.feeds.proactive.report import write_report
from huzhu.imports.errors import write_report as write_error_report
from huzhu.rules.money import yuan
from huzhu.rules.spark import local_session


def run_command(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    user = None
    if args.username:
        user = find_officer(console, args.username, "不能运行免申即享测算")
        if user is None:
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
        tasks: dict[str, Any] = {}

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
    print_counts(console, outcome)
    _print_outcomes(console, result)
    if args.report:
        write_report(result.run, args.report)
        console.print(f"测算结果已写入 {args.report}")
    console.print(f"[green]{result.run.message}[/green]")
    return 0


def _refused(console: Console, outcome: FeedOutcome, errors_out: Path | None) -> None:
    """The file's errors, as ``huzhu feed import`` shows them: nothing was imported or run."""
    if outcome.error_count:
        print_errors(console, outcome)
        if errors_out:
            write_error_report(outcome.errors, errors_out, total_errors=outcome.error_count)
            console.print(f"错误报告已写入 {errors_out}")
    console.print(f"[red]{outcome.summary()}[/red]")


def _spark(args: argparse.Namespace) -> Any:
    if not args.spark_master:
        return local_session()
    # pyspark is an optional extra (huzhu[spark]): imported only when a run asks for it.
    from pyspark.sql import SparkSession

    return (SparkSession.builder.master(args.spark_master).appName("huzhu-feed-run")
            .config("spark.sql.session.timeZone", "UTC").getOrCreate())


def _print_outcomes(console: Console, result: RunResult) -> None:
    """The outcomes in words (no codes, no row numbers of the database): the run is named
    by its 测算编号, the number ``huzhu proactive sample`` and ``approve`` take."""
    run = result.run
    table = Table(title="免申即享测算结果")
    table.add_column("结果")
    table.add_column("行数", justify="right")
    for code, label in StayOutcome.Outcome.choices:
        table.add_row(label, f"{result.counts.get(code, 0):,}")
    table.add_row("合计", f"{sum(result.counts.values()):,}")
    console.print(table)
    console.print(f"测算编号 {run.pk}（保障项目：{run.scheme.name}）", soft_wrap=True)
    console.print(f"拟给付金额合计 {yuan(result.proposed_amount)} 元；"
                  f"本次新生成理赔 {result.created:,} 件")
