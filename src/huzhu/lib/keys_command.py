"""``huzhu keys rotate``: new field and index keys, every sealed value re-encrypted and
every blind index rebuilt (see :mod:`huzhu.lib.keys.rotation`); ``huzhu keys status``:
the keys in force and what each one seals."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from huzhu.lib.django_setup import setup_django

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="keys_action", metavar="ACTION", required=True)
    rotate = sub.add_parser("rotate", help=(
        "轮换加密密钥：生成新密钥，重新加密全部身份证号与银行账号、重建索引，核验后退役旧密钥"))
    rotate.add_argument("--chunk", type=int, default=2000, metavar="N",
                        help="每批处理的行数（默认 2000）")
    rotate.add_argument("--sample", type=int, default=500, metavar="N",
                        help="核验时按身份证号抽查查找的会员人数（默认 500）")
    sub.add_parser("status", help="显示当前密钥、是否正在轮换，以及各密钥加密的记录数")


def run(args: argparse.Namespace) -> int:
    setup_django()
    from rich.console import Console  # after Django: the command needs both

    console = Console(stderr=True)
    if _unmigrated():
        console.print("[red]数据库尚未迁移到当前版本：请先运行 huzhu manage migrate，"
                      "再查看或轮换密钥（未迁移的表不会被轮换到）。[/red]")
        return 2
    if args.keys_action == "status":
        return _status(console)
    return _rotate(console, args)


def _unmigrated() -> bool:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def _rotate(console: Console, args: argparse.Namespace) -> int:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from huzhu.lib.keys import rotation

    if args.chunk < 1 or args.sample < 0:
        console.print("[red]--chunk 应为正整数，--sample 不能为负数[/red]")
        return 2
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=False) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(what, total=total)
            bar.update(tasks[what], completed=done, total=total)

        rotator = rotation.Rotator(chunk=args.chunk, sample=args.sample, progress=progress)
        try:
            report = rotator.rotate()
        except rotation.RotationError as exc:
            console.print(f"[red]{exc}[/red]")
            return 1
    rotation.audit(report)
    if report.resumed:
        console.print("已接着上次中断的轮换完成。")
    console.print(f"[green]密钥轮换完成：新字段密钥 {report.field_key}，"
                  f"新索引密钥 {report.index_key}；重新加密并核验 {report.rows} 行，"
                  f"抽查按身份证号查找 {report.lookups} 人均找到本人，"
                  f"用时 {report.seconds:.1f} 秒。[/green]")
    for table in report.tables:
        extra = f"（核验时另补写 {table.fixed} 行）" if table.fixed else ""
        console.print(f"  {table.label}：{table.rows} 行{extra}")
    if report.retired_file:
        console.print(f"旧密钥已移出密钥环，另存于 {report.retired_file}（权限 0600）。请把这个文件"
                      "离线保存，与轮换之前的数据库备份放在一起（恢复那些备份时需要它），然后从"
                      "本机删除。")
    if report.configured_field_retired:
        console.print("HUZHU_FIELD_KEY（轮换之前的字段密钥）已退役，不再使用：可以从环境变量或密钥文件中"
                      "删除（退役密钥文件中留有副本）。HUZHU_INDEX_KEY 仍在使用（数据接口令牌等无法"
                      "重建的散列用它），请勿删除。")
    console.print(f"密钥环：{rotator.ring_path}。请立即备份密钥环文件（与数据分开存放）："
                  "没有它，数据无法解密。")
    return 0


def _status(console: Console) -> int:
    from rich.table import Table

    from huzhu.lib.keys import rotation

    info = rotation.status()
    console.print(f"密钥环文件：{info['keyring']}")
    console.print(f"当前字段密钥：{info['field_current']}；当前索引密钥：{info['index_current']}；"
                  f"可用字段密钥 {info['field_keys']} 个")
    if info["rotating"]:
        done = (info["state"] or {}).get("done", {})
        where = "；".join(f"{k} 已到编号 {v}" for k, v in done.items()) or "尚未开始重写"
        console.print(f"[yellow]正在轮换（始于 {info['rotating'].get('started_at', '')}）："
                      f"{where}。重新运行 huzhu keys rotate 可继续。[/yellow]")
    else:
        console.print("未在轮换。")
    table = Table(title="各密钥加密的记录数")
    for header in ("数据表", "字段", "密钥", "记录数"):
        table.add_column(header)
    for label, column, kid, n in info["counts"]:
        table.add_row(label, column, kid, str(n))
    console.print(table)
    return 0
