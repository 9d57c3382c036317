"""The foreground import behind ``huzhu import``: a progress bar, a table of errors."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from huzhu.imports import kinds
from huzhu.imports.errors import write_report
from huzhu.imports.outcome import Outcome
from huzhu.imports.service import import_file
from huzhu.orgs.models import User

PHASES = {"validating": "校验", "importing": "导入"}


def run_import(*, kind: str, path: Path, valid_only: bool, errors_out: Path | None,
               username: str | None, max_errors_shown: int) -> int:
    console = Console(stderr=True)
    if kinds.get(kind) is None:
        known = "、".join(f"{k.code}（{k.label}）" for k in kinds.all_kinds())
        console.print(f"[red]未知的导入对象 {kind}，可选：{known}[/red]")
        return 2
    user = None
    if username:
        user = User.objects.filter(username=username).select_related("union").first()
        if user is None:
            console.print(f"[red]没有名为 {username} 的工作人员[/red]")
            return 2
    if not path.is_file():
        console.print(f"[red]找不到文件：{path}[/red]")
        return 2

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=False) as bar:
        tasks: dict[str, int] = {}

        def progress(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(f"{PHASES[phase]} {path.name}", total=total)
            bar.update(tasks[phase], completed=done, total=total)

        outcome = import_file(kind, path, user=user, valid_only=valid_only, progress=progress)
        if "validating" in tasks:
            bar.update(tasks["validating"], total=outcome.total_rows,
                       completed=outcome.total_rows)

    if outcome.error_count:
        _print_errors(console, outcome, max_errors_shown)
        if errors_out:
            write_report(outcome.errors, errors_out, total_errors=outcome.error_count)
            console.print(f"错误报告已写入 {errors_out}")
    style = "green" if outcome.imported and not outcome.error_count else (
        "yellow" if outcome.imported else "red")
    console.print(f"[{style}]{outcome.summary()}[/{style}]")
    # --valid-only that skipped bad rows still succeeded: the user chose that.
    return 0 if outcome.imported else 1


def _print_errors(console: Console, outcome: Outcome, limit: int) -> None:
    table = Table(title=f"错误（共 {outcome.error_count} 处）", show_lines=False)
    for header in ("文件", "行号", "列", "错误说明"):
        table.add_column(header, overflow="fold")
    for err in outcome.errors[:limit]:
        table.add_row(err.file, str(err.row or ""), err.column, err.message)
    console.print(table)
    if outcome.error_count > limit:
        console.print(f"……另有 {outcome.error_count - limit} 处错误未列出，"
                      f"可用 --errors-out report.xlsx 导出全部")
