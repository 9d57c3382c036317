from django.apps import AppConfig


class CoverageConfig(AppConfig):
    name = "huzhu.coverage"
    verbose_name = "保障项目与参保"
