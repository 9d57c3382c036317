from django.apps import AppConfig


class LibConfig(AppConfig):
    """What is not a domain (pager, id parameters, form styling, panels, crypto, SQL
    helpers, file jobs): an app only so that its template tags and templates load."""

    name = "huzhu.lib"
    label = "lib"
    verbose_name = "公共组件"
