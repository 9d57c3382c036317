"""A session ends after a working day without use and 12 hours after signing in, however
busy (issue 22, finding 5). Time travels by patching django.utils.timezone.now, which the
middleware and the session store both read."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse

from huzhu.lib import middleware
from tests.fixtures import PASSWORD

T0 = dt.datetime(2026, 3, 2, 0, 30, tzinfo=dt.UTC)  # 08:30 in Changchun


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock():
    c = Clock()
    with mock.patch("django.utils.timezone.now", c):
        yield c


def sign_in(client, user, clock) -> None:
    response = client.post(reverse("login"), {"username": user.username,
                                              "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    assert client.session[middleware.SIGNED_IN] == clock.now.timestamp()


def home(client, **headers):
    return client.get(reverse("home"), **headers)


def signed_out(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_working_day_without_use_ends_the_session(client, users, clock):
    sign_in(client, users["clerk_a1"], clock)
    clock.now = T0 + dt.timedelta(hours=7, minutes=50)
    assert home(client).status_code == 200  # 7 h 50 idle: still signed in
    clock.now += dt.timedelta(hours=8, minutes=1)
    response = home(client)
    assert signed_out(response)
    assert "next=" in response["Location"]
    assert home(client).status_code == 302  # and it stays ended


def test_twelve_hours_after_signing_in_the_session_ends_however_busy(client, users, clock):
    sign_in(client, users["clerk_a1"], clock)
    for hours in range(1, 12):  # a request every hour: never idle
        clock.now = T0 + dt.timedelta(hours=hours, minutes=59)
        assert home(client).status_code == 200, hours
    clock.now = T0 + dt.timedelta(hours=12)
    assert signed_out(home(client))


@pytest.mark.parametrize("limit", ["idle", "absolute"])
def test_an_htmx_request_is_sent_to_the_sign_in_page_whole(client, users, clock, limit):
    sign_in(client, users["clerk_a1"], clock)
    if limit == "idle":  # the store has dropped the session: login_required's redirect
        clock.now = T0 + dt.timedelta(hours=8, minutes=1)
    else:  # busy all day, the session alive in the store: the sign-in limit ends it
        clock.now = T0 + dt.timedelta(hours=7)
        assert home(client).status_code == 200
        clock.now = T0 + dt.timedelta(hours=12)
    response = home(client, HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and response["HX-Redirect"].startswith(reverse("login"))
    assert "Location" not in response


def test_the_expiry_moves_on_at_most_every_five_minutes(client, users, clock):
    sign_in(client, users["clerk_a1"], clock)
    key = client.session.session_key

    def expiry() -> dt.datetime:
        return Session.objects.get(session_key=key).expire_date

    assert expiry() == T0 + middleware.IDLE
    clock.now = T0 + dt.timedelta(minutes=3)
    home(client)
    assert expiry() == T0 + middleware.IDLE  # not written on every click
    clock.now = T0 + dt.timedelta(minutes=6)
    home(client)
    assert expiry() == clock.now + middleware.IDLE
    assert Session.objects.get(session_key=key).get_decoded()[middleware.SIGNED_IN] == \
        T0.timestamp()  # the sign-in time stays that of signing in
