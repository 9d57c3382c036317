"""``huzhu ledger check``: prove the fund ledger (see huzhu.coverage.ledger)."""

from __future__ import annotations

import argparse

from huzhu.lib.django_setup import setup_django


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("check", help="核对互助金账（借贷平衡、只能追加、与缴费和给付一致）")


def run(args: argparse.Namespace) -> int:
    setup_django()
    from django.core.management import call_command  # once Django is set up

    try:
        call_command("ledger_check")
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0
