from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "huzhu.members"
    verbose_name = "会员"

    def ready(self) -> None:
        # In ready(): the kind's importer reads models (and imports stays below this app).
        from huzhu.imports import kinds
        from huzhu.members.importing import KIND

        kinds.register(KIND)
