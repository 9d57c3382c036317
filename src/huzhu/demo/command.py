"""``huzhu demo``: migrate, generate the demo city unless it is there, print the logins."""

from __future__ import annotations

import argparse
import os
import time
from typing import TYPE_CHECKING

from huzhu.lib.django_setup import setup_django

if TYPE_CHECKING:
    from rich.console import Console


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--members", type=int, default=20000,
                        help="会员人数（默认 20000）")
    parser.add_argument("--seed", type=int, default=1,
                        help="随机种子（默认 1，相同种子生成相同数据）")
    parser.add_argument("--reset", action="store_true",
                        help="清空数据库中的全部数据后重新生成（不可恢复）")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console()
    if args.members < 1:
        console.print("[red]--members 至少为 1[/red]")
        return 2
    # Demo data needs no precious keys: on a fresh machine, make development ones.
    os.environ.setdefault("HUZHU_GENERATE_KEYS", "1")
    setup_django()
    # After setup_django(): the generator imports every app's models.
    from django.core.management import call_command

    from huzhu.demo import generator

    console.print("迁移数据库 …")
    call_command("migrate", interactive=False, verbosity=0)
    if args.reset:
        console.print("清空现有数据 …")
        generator.reset()
    if generator.demo_exists():
        console.print("已有演示数据，跳过生成（使用 --reset 可重新生成）。")
    elif not generator.database_is_empty():
        console.print("[yellow]数据库中已有非演示数据，未生成演示数据；"
                      "如确需覆盖，请使用 --reset（会清空全部数据）。[/yellow]")
        _print_logins(console, generator)
        return 1
    else:
        started = time.perf_counter()
        with _RichProgress(console) as progress:
            ctx = generator.generate(members=args.members, seed=args.seed, progress=progress)
        console.print(
            f"已生成：{1 + len(ctx.districts) + len(ctx.grassroots)} 个工会，"
            f"{len(ctx.units)} 家单位，{len(ctx.member_ids)} 名会员"
            f"（种子 {args.seed}，用时 {time.perf_counter() - started:.1f} 秒）"
        )
        console.print(
            "历史：2025 年 1 月至 2026 年 5 月，每月导入医保结算数据、免申即享测算、"
            f"两级审核并给付，共给付 {ctx.extra.get('history_paid', 0):,} 笔；"
            "统计页面的数字已预先算好")
    _print_logins(console, generator)
    _print_feed(console)
    return 0


def _print_feed(console) -> None:
    """Where the demo's settlement feed is, and how to import it."""
    import shlex
    from pathlib import Path

    from huzhu.demo import feeds  # after setup_django() (run() calls this after it)

    def shown(path: Path) -> str:  # var/demo/… when under the current directory
        return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)

    feed, errors = feeds.demo_dir() / feeds.FEED_FILE, feeds.demo_dir() / feeds.ERRORS_FILE
    if not feed.is_file():
        return
    console.print("演示医保结算数据（2026 年上半年；1–5 月的已按月导入并给付，6 月的未导入）："
                  f"{shown(feed)}")
    console.print(f"  导入：huzhu feed import {shlex.quote(shown(feed))}")
    console.print("  或在网页“医保结算 → 上传结算数据”上传（admin 账号）")
    if errors.is_file():
        console.print(f"  含错误的示例（导入会被整体拒绝并给出错误报告）：{shown(errors)}")


def _print_logins(console, generator) -> None:
    from rich.table import Table

    table = Table(title=f"演示账号（密码均为 {generator.DEMO_PASSWORD}）")
    for column in ("账号", "角色", "所属工会", "可见会员数"):
        table.add_column(column, justify="right" if column == "可见会员数" else "left")
    for login in generator.logins():
        table.add_row(login.username, login.role, login.union, f"{login.scope_members:,}")
    console.print(table)
    console.print("网页：http://127.0.0.1:8000/ （由 huzhu serve 或 make demo 启动）")
    console.print("Django 管理后台：http://127.0.0.1:8000/admin/ （superuser 账号）")
    _print_member_logins(console)


def _print_member_logins(console: Console) -> None:
    """The demo members who sign in to the members' pages (none without the demo)."""
    from rich.table import Table

    from huzhu.demo import member_logins  # after setup_django(), as the callers are

    rows = member_logins.member_logins()
    if not rows:
        return
    table = Table(title="演示会员（会员服务，手机号加短信验证码登录）")
    for column in ("姓名", "手机号", "身份证号后六位", "可以看到"):
        table.add_column(column, overflow="fold", no_wrap=column != "可以看到")
    for row in rows:
        table.add_row(row.name, row.phone, row.id_tail, row.shows)
    console.print(table)
    console.print("会员服务：http://127.0.0.1:8000/member/ 。验证码不会真的发到手机："
                  "admin 账号在“短信发件箱”页面可以看到；以调试模式（HUZHU_DEBUG=1）运行时，"
                  "huzhu serve 的日志也会显示。在一台设备上第一次登录时还要填身份证号后六位。")


class _RichProgress:
    """Adapts the generator's start/advance calls to a rich progress bar."""

    def __init__(self, console) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._bar = Progress(TextColumn("{task.description:<8}"), BarColumn(),
                             MofNCompleteColumn(), TimeElapsedColumn(), console=console)
        self._task = None

    def __enter__(self) -> _RichProgress:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._bar.__exit__(*exc)

    def start(self, label: str, total: int) -> None:
        if self._task is not None:
            task = self._bar.tasks[self._task]
            self._bar.update(self._task, completed=task.total)
        self._task = self._bar.add_task(label, total=total)

    def advance(self, amount: int = 1) -> None:
        self._bar.advance(self._task, amount)
