"""Logins under django-axes: the client address it counts failures by, and the Chinese
page a locked-out login gets."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def _ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The address a request came from.

    Behind the reverse proxy (HUZHU_BEHIND_PROXY=1), the last X-Forwarded-For entry: the
    address the proxy itself saw, which the client cannot forge (anything the client sent
    stands before it). Otherwise the socket's address; a header is never believed then,
    or an attacker could rotate it to dodge the lockout.
    """
    if getattr(settings, "HUZHU_BEHIND_PROXY", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if forwarded and (last := _ip(forwarded[-1])):
            return last
    return _ip(request.META.get("REMOTE_ADDR", ""))


def lockout_minutes() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


def lockout_response(request: HttpRequest, original_response=None,
                     credentials: dict | None = None) -> HttpResponse:
    """The login form again, with why it refuses: too many failures from this address."""
    username = str((credentials or {}).get("username") or request.POST.get("username", ""))
    form = AuthenticationForm(request, initial={"username": username[:150]})
    context = {"form": form, "locked_out": True, "lockout_minutes": lockout_minutes(),
               "failure_limit": settings.AXES_FAILURE_LIMIT,
               "next": request.POST.get("next", request.GET.get("next", ""))}
    return render(request, "registration/login.html", context,
                  status=settings.AXES_HTTP_RESPONSE_CODE)
