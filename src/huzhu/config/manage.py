"""``huzhu manage ...``: Django's management commands under the project's settings."""

from __future__ import annotations

import argparse
import os


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("args", nargs=argparse.REMAINDER, help="Django 管理命令及其参数")


def run_django(argv: list[str]) -> int:
    from django.conf import settings
    from django.core.management import execute_from_command_line

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huzhu.config.settings")
    # Load the settings here: Django would swallow a missing-keys error and fail later
    # with a less helpful one.
    settings.INSTALLED_APPS  # noqa: B018
    execute_from_command_line(["huzhu manage", *argv])
    return 0


def run(args: argparse.Namespace) -> int:
    return run_django(args.args)
