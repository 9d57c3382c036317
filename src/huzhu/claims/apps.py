from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "huzhu.claims"
    verbose_name = "理赔与给付"

    def ready(self) -> None:
        from huzhu.claims import notifications, steps  # noqa: F401  (registers the effects)

        notifications.register_kinds()
