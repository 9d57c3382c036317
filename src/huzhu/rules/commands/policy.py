"""``huzhu policy check FILE_OR_NAME``: validate a policy and print a readable summary."""

from __future__ import annotations

import argparse
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="policy_command", metavar="ACTION")
    sub.required = True
    check = sub.add_parser("check", help="校验政策文件并显示汇总表")
    check.add_argument("policy", metavar="FILE_OR_NAME", help="政策 YAML 文件或内置政策名")
    sub.add_parser("list", help="列出内置政策")


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top: ``huzhu --help`` imports every command module, and
    # the loader (pydantic) and the summary (rich) are paid for by this command only.
    from huzhu.rules.errors import PolicyError
    from huzhu.rules.loader import load_policy, shipped_policy_names
    from huzhu.rules.summary import print_policy

    if args.policy_command == "list":
        for name in shipped_policy_names():
            print(name)
        return 0
    try:
        policy = load_policy(args.policy)
    except PolicyError as exc:
        print(f"huzhu policy check: {exc}", file=sys.stderr)
        return 2
    print_policy(policy)
    return 0
