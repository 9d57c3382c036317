"""Search terms kept out of URLs: the box posts its text, the page's address carries a
token, and the text waits in the user's session.

A search by ID number or phone sent as ``?q=`` lands in the server's access log, the
browser's history and any proxy in between. Here the form is a POST; the server keeps
the text under a random token in the session and answers with ``?s=<token>``, which
pagers, exports and the back button carry instead of the text.
"""

from __future__ import annotations

import secrets

from django.http import HttpRequest

SESSION_KEY = "huzhu_searches"
KEPT = 30  # the newest tokens stay valid; older pages ask for the search again


def remember(request: HttpRequest, text: str) -> str:
    searches: dict[str, str] = request.session.get(SESSION_KEY, {})
    token = secrets.token_urlsafe(9)
    searches[token] = text
    while len(searches) > KEPT:
        searches.pop(next(iter(searches)))
    request.session[SESSION_KEY] = searches
    return token


def recall(request: HttpRequest, token: str) -> str | None:
    """The text behind ``token``, or None when it is unknown (expired or foreign)."""
    return request.session.get(SESSION_KEY, {}).get(token)
