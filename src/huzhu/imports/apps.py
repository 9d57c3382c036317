from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "huzhu.imports"
    verbose_name = "导入"

    def ready(self) -> None:
        # In ready(), as Django's docs say: the receivers are about models.
        from huzhu.imports import signals  # noqa: F401  (connects the receivers)
