from django.apps import AppConfig


class FeedsConfig(AppConfig):
    name = "huzhu.feeds"
    verbose_name = "医保结算数据"
