"""Serve plotly.js from the installed plotly package (no CDN, no copy in the repository):
only ``plotly/plotly.min.js``, not the rest of the package's data directory."""

from __future__ import annotations

from pathlib import Path

from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

NAME = "plotly/plotly.min.js"


def _directory() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data"


class PlotlyFinder(BaseFinder):
    def check(self, **kwargs):
        return []

    def find(self, path: str, find_all: bool = False, **kwargs):
        if path != NAME:
            return []  # as Django's own finders answer "not here"
        found = str(_directory() / "plotly.min.js")
        return [found] if find_all or kwargs.get("all") else found

    def list(self, ignore_patterns):
        storage = FileSystemStorage(location=str(_directory()))
        storage.prefix = "plotly"
        yield "plotly.min.js", storage
