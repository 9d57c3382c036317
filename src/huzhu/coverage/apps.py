from django.apps import AppConfig


class CoverageConfig(AppConfig):
    name = "huzhu.coverage"
    verbose_name = "保障项目与参保"

    def ready(self) -> None:
        from huzhu.coverage.importing import KIND
        from huzhu.coverage.panels import member_panel
        from huzhu.imports import kinds
        from huzhu.web import panels

        kinds.register(KIND)
        panels.register("member", panels.Panel("coverage", "coverage/_member_panel.html",
                                               member_panel, order=10))
