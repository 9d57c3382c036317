from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "huzhu.members"
    verbose_name = "会员"
