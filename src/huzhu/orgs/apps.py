from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "huzhu.orgs"
    verbose_name = "工会组织"

    def ready(self) -> None:
        # In ready(): the kind's importer reads models (and imports stays below this app).
        from huzhu.imports import kinds
        from huzhu.orgs.importing import KIND

        kinds.register(KIND)
