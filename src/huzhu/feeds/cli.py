"""The foreground import behind ``huzhu feed import``: a progress bar, the counts, errors
(``huzhu feed run`` shows its import the same way). Imported after Django is set up."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from huzhu.feeds.importing import FeedOutcome, import_feed
from huzhu.imports.errors import write_report
from huzhu.orgs.models import User

MAX_ERRORS_SHOWN = 50
# The progress bar's words for each phase: an import's, then a batch run's.
PHASES = {"validating": "校验", "importing": "匹配与写入", "loading": "读取结算记录",
          "engine": "引擎测算", "writing": "生成理赔"}


def find_officer(console: Console, username: str, refused: str) -> User | None:
    """The staff user ``--as`` names, if they may import feeds; else None, said why."""
    user = User.objects.filter(username=username).select_related("union").first()
    if user is None:
        console.print(f"[red]没有名为 {username} 的工作人员[/red]")
        return None
    if not user.has_perm("feeds.import"):
        console.print(f"[red]{username} 不是数据人员（管理员），{refused}[/red]")
        return None
    return user


def import_command(*, path: Path, username: str | None, errors_out: Path | None,
                   valid_only: bool = False) -> int:
    console = Console(stderr=True)
    user = None
    if username:
        user = find_officer(console, username, "不能导入医保结算数据")
        if user is None:
            return 2
    if not path.is_file():
        console.print(f"[red]找不到文件：{path}[/red]")
        return 2
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as bar:
        tasks: dict[str, int] = {}

        def progress(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(f"{PHASES.get(phase, phase)} {path.name}",
                                            total=total)
            bar.update(tasks[phase], completed=done, total=total)

        outcome = import_feed(path, user=user, progress=progress, valid_only=valid_only)
        if "importing" in tasks:
            bar.update(tasks["importing"], completed=bar.tasks[tasks["importing"]].total)
    print_counts(console, outcome)
    if outcome.error_count:
        print_errors(console, outcome)
        if errors_out:
            write_report(outcome.errors, errors_out, total_errors=outcome.error_count)
            console.print(f"错误报告已写入 {errors_out}")
    style = "red" if not outcome.imported else ("yellow" if outcome.invalid else "green")
    console.print(f"[{style}]{outcome.summary()}[/{style}]")
    return 0 if outcome.imported else 1


def print_counts(console: Console, outcome: FeedOutcome) -> None:
    if not outcome.imported:
        return
    table = Table(title=f"医保结算数据（{outcome.file_name}）", show_header=True)
    for header in ("总行数", "新增结算", "已导入过", "结算ID冲突", "匹配到会员", "非会员",
                   "不在管辖范围", "错误行"):
        table.add_column(header, justify="right")
    table.add_row(*(f"{n:,}" for n in (
        outcome.rows, outcome.new, outcome.already_known, outcome.collisions, outcome.matched,
        outcome.unmatched_not_member, outcome.unmatched_outside_scope, outcome.invalid)))
    console.print(table)


def print_errors(console: Console, outcome: FeedOutcome) -> None:
    table = Table(title=f"错误（共 {outcome.error_count} 处）")
    for header in ("文件", "行号", "列", "错误说明"):
        table.add_column(header, overflow="fold")
    for err in outcome.errors[:MAX_ERRORS_SHOWN]:
        table.add_row(err.file, str(err.row or ""), err.column, err.message)
    console.print(table)
    if outcome.error_count > MAX_ERRORS_SHOWN:
        console.print(f"……另有 {outcome.error_count - MAX_ERRORS_SHOWN} 处错误未列出，"
                      "可用 --errors-out report.xlsx 导出全部")
