from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "huzhu.web"
    verbose_name = "网页界面"
