"""Who the member on this request is: the member session (``session["portal_member"]``).

A member session is not a Django sign-in: the member is never ``request.user``, so every
staff view (``login_required`` on ``request.user``) sends a member to the staff sign-in page,
and a member page refuses a request that carries a staff sign-in. A member session lasts
:data:`MEMBER_SESSION` from signing in, however busy.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from huzhu.members.models import Member

MEMBER_KEY = "portal_member"
SIGNED_IN_KEY = "portal_signed_in_at"
MEMBER_SESSION = timedelta(hours=4)


def staff_signed_in(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


def current_member(request: HttpRequest) -> Member | None:
    """The signed-in member, or None (no member session, an expired one, a staff sign-in
    on the same browser, or a member no longer in the registry). An expired session's
    member keys are dropped."""
    if staff_signed_in(request):
        return None
    session = request.session
    member_id = session.get(MEMBER_KEY)
    signed_in = session.get(SIGNED_IN_KEY)
    if not isinstance(member_id, int) or isinstance(member_id, bool) or \
            not isinstance(signed_in, int | float):
        return None
    if timezone.now() - datetime.fromtimestamp(signed_in, tz=UTC) >= MEMBER_SESSION:
        end_member_session(request)
        return None
    cached: Member | None = getattr(request, "_portal_member", None)
    if cached is not None and cached.pk == member_id:
        return cached
    # A member who has left the union since signing in is signed out with the next page.
    member = (Member.objects.select_related("union", "unit").filter(pk=member_id)
              .exclude(status=Member.Status.LEFT).first())
    request._portal_member = member  # type: ignore[attr-defined]
    return member


def start_member_session(request: HttpRequest, member: Member) -> None:
    """Signs the member in: a new session key (no fixation), the member and the time."""
    request.session.cycle_key()
    request.session[MEMBER_KEY] = member.pk
    request.session[SIGNED_IN_KEY] = timezone.now().timestamp()
    request._portal_member = member  # type: ignore[attr-defined]


def end_member_session(request: HttpRequest) -> None:
    request.session.pop(MEMBER_KEY, None)
    request.session.pop(SIGNED_IN_KEY, None)
    request.session.cycle_key()


def member_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The view gets ``request.member``; without a member session a browser goes to the
    member sign-in page, and a staff sign-in gets 404 (a member page does not exist for
    staff)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if staff_signed_in(request):
            raise Http404
        member = current_member(request)
        if member is None:
            return redirect("portal:login")
        request.member = member  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapped
