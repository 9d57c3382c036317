from django.apps import AppConfig

from huzhu.imports import kinds
from huzhu.lib import panels


class CoverageConfig(AppConfig):
    name = "huzhu.coverage"
    verbose_name = "保障项目与参保"

    def ready(self) -> None:
        # Imported here, not at the top: these modules import models, which cannot be
        # imported while Django is still loading the apps.
        from huzhu.coverage.importing import KIND
        from huzhu.coverage.panels import member_panel
        from huzhu.coverage.reminders import KINDS as REMINDERS
        from huzhu.notify.outbox import register_kind

        kinds.register(KIND)
        for code, label in REMINDERS.items():
            register_kind(code, label)
        panels.register("member", panels.Panel("coverage", "coverage/_member_panel.html",
                                               member_panel, order=10))
