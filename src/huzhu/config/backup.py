"""``huzhu backup OUT`` and ``huzhu restore IN``."""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, metavar="FILE", help="备份文件")


def run(args: argparse.Namespace) -> int:
    raise SystemExit("huzhu backup：正在开发")
