from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "huzhu.orgs"
    verbose_name = "工会组织"
