from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "huzhu.notify"
    label = "notify"
    verbose_name = "短信通知"

    def ready(self) -> None:
        # In ready(), as Django's docs say for system checks.
        from huzhu.notify import checks  # noqa: F401  (registers the gateway check)
