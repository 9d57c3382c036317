from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "huzhu.audit"
    verbose_name = "审计日志"

    def ready(self) -> None:
        from huzhu.audit import logins

        logins.connect()
