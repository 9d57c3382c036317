from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "huzhu.imports"
    verbose_name = "导入"
