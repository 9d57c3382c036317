"""``huzhu keys rotate``: new field and index keys, every sealed value re-encrypted."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="keys_action", metavar="ACTION", required=True)
    sub.add_parser("rotate", help="轮换加密密钥")


def run(args: argparse.Namespace) -> int:
    raise SystemExit("huzhu keys：正在开发")
