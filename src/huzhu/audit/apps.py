from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "huzhu.audit"
    verbose_name = "审计日志"

    def ready(self) -> None:
        # In ready(): the receivers read models, which exist once the registry is ready.
        from huzhu.audit import logins

        logins.connect()
