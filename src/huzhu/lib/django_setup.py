"""Django for code that runs outside ``manage.py``: the ``huzhu`` command's subcommands
call :func:`setup_django` before they import a model (so their model imports stay
inside the function that runs after it)."""

import os


def setup_django() -> None:
    """Configure Django for code that runs outside ``manage.py`` (the ``huzhu`` command)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huzhu.config.settings")
    django.setup()
