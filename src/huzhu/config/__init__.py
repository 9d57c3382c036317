"""Django project configuration for huzhu."""

import os


def setup_django() -> None:
    """Configure Django for code that runs outside ``manage.py`` (the ``huzhu`` command)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huzhu.config.settings")
    django.setup()
