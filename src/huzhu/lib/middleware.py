"""Response hygiene and session limits, for every page and file the app serves.

* :class:`NoStoreMiddleware`: pages and files carry members' names, ID and account
  numbers; ``Cache-Control: no-store`` (and ``Pragma: no-cache`` for old proxies) keeps
  them out of browser and proxy caches and off a shared office computer's disk, and the
  back button after signing out shows nothing. Static files never reach it: WhiteNoise
  (listed before it) answers them with their long cache.
* :class:`ContentSecurityPolicyMiddleware`: HTML pages may load scripts, styles, images
  and fonts from this site only, run no inline script or ``on…=`` handler, carry no
  inline ``style=``, be framed by no one and post forms only here. Everything the pages
  need is served locally (Bootstrap, htmx, plotly); ``img-src`` allows ``data:`` because
  Bootstrap's CSS draws its icons (the select arrow, the close button) as data: SVGs.
  The vendored plotly basic bundle needs no ``'unsafe-eval'`` (it has no ``eval`` or
  ``new Function``) and, finding ``<link id="plotly.js-style-global"
  class="no-inline-styles">``, injects no ``<style>``: the statistics page links its
  rules as a stylesheet. htmx is told (``<meta name="htmx-config">``) not to inject its
  indicator style nor to evaluate ``hx-on`` code.
* :class:`SessionLimitsMiddleware`: a session ends after a working day without use
  (:data:`IDLE`, 8 hours) and at the latest 12 hours after signing in (:data:`ABSOLUTE`),
  however busy. The idle limit is the session's expiry (``SESSION_COOKIE_AGE``), renewed
  by saving the session at most every :data:`REFRESH` (not on every request, which would
  write the session table on every click); the sign-in time is kept in the session.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils import timezone

Handler = Callable[[HttpRequest], HttpResponse]

IDLE = timedelta(hours=8)
ABSOLUTE = timedelta(hours=12)
REFRESH = timedelta(minutes=5)
SIGNED_IN = "huzhu_signed_in_at"
SEEN = "huzhu_seen_at"

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
))


class NoStoreMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        # Django's debug error page (DEBUG only) is all inline styles and scripts.
        if settings.DEBUG and response.status_code >= 500:
            return response
        response.setdefault("Content-Security-Policy", CSP)
        return response


class SessionLimitsMiddleware:
    """After AuthenticationMiddleware: ends a session past its limits (see the module)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        now = timezone.now()
        if request.user.is_authenticated:
            session = request.session
            signed_in = _when(session.get(SIGNED_IN))
            seen = _when(session.get(SEEN))
            if (signed_in is not None and now - signed_in >= ABSOLUTE) or (
                    seen is not None and now - seen >= IDLE):
                logout(request)  # flushes the session: the next page asks to sign in
                return _to_login(request)
        response = self.get_response(request)
        if request.headers.get("HX-Request") and response.status_code == 302 and \
                response["Location"].startswith(resolve_url(settings.LOGIN_URL)):
            # An expired session's htmx request (login_required sent it to sign in): the
            # whole window goes there, not a fragment of the page.
            return _hx_redirect(response["Location"])
        # After the view: the sign-in page's POST has just signed the user in.
        if request.user.is_authenticated and hasattr(request, "session"):
            session = request.session
            if session.get(SIGNED_IN) is None:
                session[SIGNED_IN] = now.timestamp()
            seen = _when(session.get(SEEN))
            if seen is None or now - seen >= REFRESH:
                session[SEEN] = now.timestamp()  # saved: the expiry moves on by IDLE
        return response


def _when(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(value, tz=UTC)


def _to_login(request: HttpRequest) -> HttpResponse:
    if request.headers.get("HX-Request"):
        # An htmx request would swap the sign-in page into a fragment: send the whole
        # window there instead.
        return _hx_redirect(resolve_url(settings.LOGIN_URL))
    return redirect_to_login(request.get_full_path())


def _hx_redirect(url: str) -> HttpResponse:
    response = HttpResponse(status=204)
    response["HX-Redirect"] = url
    return response
