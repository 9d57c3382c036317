"""``huzhu import units FILE`` / ``huzhu import members FILE``: the data officer's import.

Runs in the foreground with a progress bar; the web app runs the same importer as a
background task. Heavy modules are imported inside :func:`run` so that ``huzhu calc``
does not pay for Django.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from huzhu.lib.django_setup import setup_django

MAX_ERRORS_SHOWN = 50


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "kind", metavar="KIND", help="导入对象：units 单位，members 会员"
    )
    parser.add_argument("file", type=Path, help=".xlsx / .xls / .csv 文件")
    parser.add_argument(
        "--valid-only", action="store_true",
        help="只导入无错误的行（默认：任何一行有错则全部不导入）",
    )
    parser.add_argument(
        "--errors-out", type=Path, metavar="REPORT.xlsx", help="把错误报告写入 xlsx 文件"
    )
    parser.add_argument(
        "--as", dest="username", metavar="USERNAME",
        help="以该工作人员的身份和管辖范围导入（默认：系统，全部范围）",
    )


def run(args: argparse.Namespace) -> int:
    setup_django()
    # After setup_django(): models can be imported only once Django is set up.
    from huzhu.imports.cli import run_import

    return run_import(
        kind=args.kind,
        path=args.file,
        valid_only=args.valid_only,
        errors_out=args.errors_out,
        username=args.username,
        max_errors_shown=MAX_ERRORS_SHOWN,
    )
