from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "huzhu.reports"
    verbose_name = "统计与报告"
