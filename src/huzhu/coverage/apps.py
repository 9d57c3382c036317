from django.apps import AppConfig


class CoverageConfig(AppConfig):
    name = "huzhu.coverage"
    verbose_name = "保障项目与参保"

    def ready(self) -> None:
        from huzhu.coverage.importing import KIND
        from huzhu.coverage.panels import member_panel
        from huzhu.imports import kinds
        from huzhu.lib import panels

        kinds.register(KIND)
        from huzhu.coverage.reminders import KINDS as REMINDERS
        from huzhu.notify.outbox import register_kind

        for code, label in REMINDERS.items():
            register_kind(code, label)
        panels.register("member", panels.Panel("coverage", "coverage/_member_panel.html",
                                               member_panel, order=10))
