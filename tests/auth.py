"""The test suite's authentication backend (see tests/settings.py)."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    """Axes' backend, except that it lets a request-less call through.

    The test client's ``login()`` calls ``authenticate()`` without a request, which axes
    refuses outright. Every HTTP login has one, so the lockout tests, which post to the
    login page, still meet exactly the checks production makes.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
