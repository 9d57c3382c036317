"""``huzhu manage housekeeping``: the periodic clean-up of every app, in one command.

Each app may have a ``housekeeping`` module with ``sweep() -> dict[str, int]`` (what it
recovered or deleted, by name); ``huzhu serve`` runs this command when the worker starts
and every minute after. Found the way Django's admin finds ``admin`` modules.
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand
from django.utils.module_loading import module_has_submodule


def sweepers() -> list:
    from importlib import import_module

    found = []
    for config in apps.get_app_configs():
        if module_has_submodule(config.module, "housekeeping"):
            module = import_module(f"{config.name}.housekeeping")
            found.append((config.label, module.sweep))
    return found


class Command(BaseCommand):
    help = "清理过期文件、恢复中断的后台任务（由 huzhu serve 定期运行）"

    def handle(self, *args, **options) -> None:
        for label, sweep in sweepers():
            done = sweep()
            shown = "，".join(f"{name} {n}" for name, n in done.items() if n)
            if shown:
                self.stdout.write(f"{label}：{shown}")
