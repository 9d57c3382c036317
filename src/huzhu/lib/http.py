"""Request types for views behind ``login_required`` (as healthchecks'
``AuthenticatedHttpRequest``): ``request.user`` is a staff :class:`~huzhu.orgs.models.User`,
never ``AnonymousUser``, so a view's type checker knows its role and union."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from huzhu.orgs.models import User


class AuthenticatedHttpRequest(HttpRequest):
    user: User
    htmx: HtmxDetails  # set by django-htmx's middleware on every request
