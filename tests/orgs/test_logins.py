"""Login lockout (django-axes) per username and address together, told to the audit log;
the client address is never taken from a header a client can forge."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from axes.models import AccessAttempt
from django.conf import settings as live_settings
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from huzhu.audit.models import AuditEntry
from huzhu.orgs.logins import client_ip
from tests.fixtures import PASSWORD

HERE, ELSEWHERE = "10.20.0.1", "10.20.0.2"
WRONG = "wrong-Password-9"


def attempt(client, username: str, password: str, address: str = HERE, **extra):
    return client.post(reverse("login"), {"username": username, "password": password},
                       REMOTE_ADDR=address, **extra)


def fail(client, username: str, times: int, address: str = HERE):
    return [attempt(client, username, WRONG, address) for _ in range(times)]


def audit(action: str):
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def test_production_uses_axes_own_backend_first():
    from huzhu.config import settings as production

    assert production.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert production.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_five_failures_lock_that_user_from_that_address(client, users):
    responses = fail(client, "clerk_a1", 4)
    assert all(r.status_code == 200 and "用户名或密码错误" in r.content.decode()
               for r in responses)
    locked = fail(client, "clerk_a1", 1)[0]
    assert locked.status_code == 429
    body = locked.content.decode()
    assert 'id="login-locked"' in body and "登录失败次数过多" in body and "15 分钟" in body
    assert 'id="login-form"' in body and "clerk_a1" in body
    # The right password from the same address is refused while locked ...
    refused = attempt(client, "clerk_a1", PASSWORD)
    assert refused.status_code == 429 and "_auth_user_id" not in client.session


def test_the_lock_spares_another_address_and_another_user(client, users):
    fail(client, "clerk_a1", 5)
    assert attempt(client, "clerk_a1", PASSWORD).status_code == 429
    other_user = attempt(client, "clerk_b1", PASSWORD)
    assert other_user.status_code == 302 and other_user["Location"] == reverse("home")
    client.post(reverse("logout"))
    other_address = attempt(client, "clerk_a1", PASSWORD, address=ELSEWHERE)
    assert other_address.status_code == 302
    assert client.session["_auth_user_id"] == str(users["clerk_a1"].pk)


def test_the_lock_ends_after_the_cool_off(client, users):
    fail(client, "clerk_a1", 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=16))
    assert attempt(client, "clerk_a1", PASSWORD).status_code == 302


def test_a_success_resets_the_count(client, users):
    fail(client, "clerk_a1", 4)
    assert attempt(client, "clerk_a1", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    assert all(r.status_code == 200 for r in fail(client, "clerk_a1", 4))


def test_failures_lockout_and_login_are_in_the_audit_log(client, users, tree):
    fail(client, "clerk_a1", 5)
    attempt(client, "clerk_a1", PASSWORD, address=ELSEWHERE)
    failed = audit(AuditEntry.Action.LOGIN_FAILED)
    assert len(failed) == 5
    assert all(e.actor == users["clerk_a1"] and e.union_path == tree["a1"].path
               for e in failed)
    assert "clerk_a1" in failed[0].summary and HERE in failed[0].summary
    locked = audit(AuditEntry.Action.LOCKED_OUT)
    assert len(locked) == 1 and locked[0].id > failed[-1].id  # the failure, then its lock
    assert "clerk_a1" in locked[0].summary and HERE in locked[0].summary
    assert locked[0].union_path == tree["a1"].path
    logged_in = audit(AuditEntry.Action.LOGGED_IN)
    assert len(logged_in) == 1 and ELSEWHERE in logged_in[0].summary
    assert logged_in[0].actor == users["clerk_a1"]


@pytest.mark.parametrize("axes_first", [True, False])
def test_the_lockout_follows_its_failure_whichever_receiver_runs_first(users, axes_first):
    from huzhu.audit import logins

    request = RequestFactory().post("/login/", REMOTE_ADDR=HERE)

    def lock():
        logins.locked_out("axes", request=request, username="clerk_a1", ip_address=HERE)

    def failure():
        logins.login_failed("auth", {"username": "clerk_a1"}, request=request)

    for receiver in ((lock, failure) if axes_first else (failure, lock)):
        receiver()
    actions = [e.action for e in AuditEntry.objects.order_by("id")]
    assert actions == [AuditEntry.Action.LOGIN_FAILED, AuditEntry.Action.LOCKED_OUT]


def test_no_password_is_written_anywhere(client, users, caplog):
    caplog.set_level(logging.DEBUG)
    fail(client, "clerk_a1", 5)
    attempt(client, "clerk_a1", PASSWORD, address=ELSEWHERE)
    # What is searched must hold the attempts, or the test would pass on an empty log.
    entries = list(AuditEntry.objects.order_by("id"))
    assert [e.action for e in entries] == [AuditEntry.Action.LOGIN_FAILED] * 5 + [
        AuditEntry.Action.LOCKED_OUT, AuditEntry.Action.LOGGED_IN]
    rows = list(AccessAttempt.objects.all())
    assert rows and sum(r.failures_since_start for r in rows) == 5
    assert all("clerk_a1" in r.username for r in rows)
    assert any("login failure" in r.getMessage() for r in caplog.records), \
        "axes logged no login failure to search"
    written = [e.summary + str(e.changes) for e in entries]
    written += [r.post_data + r.get_data for r in rows]
    written += [r.getMessage() + str(r.args) for r in caplog.records]
    for text in written:
        assert WRONG not in text and PASSWORD not in text


def test_an_unknown_username_is_recorded_as_typed(client, db):
    attempt(client, "no-such-user", WRONG)
    entry = audit(AuditEntry.Action.LOGIN_FAILED)[0]
    assert entry.actor is None and entry.union_path == ""
    assert "no-such-user" in entry.summary and "无此账号" in entry.summary


def test_admins_see_the_logins_of_their_own_subtree(client, users, tree):
    from huzhu.orgs.models import User

    fail(client, "clerk_a1", 1)
    fail(client, "clerk_b1", 1)
    User.objects.create_user(username="admin_da", password=PASSWORD, role="admin",
                             union=tree["da"])
    client.force_login(User.objects.get(username="admin_da"))
    body = client.get(reverse("audit:log"),
                      {"action": AuditEntry.Action.LOGIN_FAILED}).content.decode()
    assert "用户名“clerk_a1”登录失败" in body and "clerk_b1" not in body
    assert "登录失败" in body  # the action's Chinese label


def test_a_login_made_in_code_is_not_audited(client, users):
    assert client.login(username="clerk_a1", password=PASSWORD)
    assert not client.login(username="clerk_a1", password=WRONG)
    assert not AuditEntry.objects.exists()


def test_the_client_address_ignores_forwarded_headers_unless_behind_the_proxy(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9",
                                   HTTP_X_FORWARDED_FOR="1.2.3.4, 10.0.0.7")
    assert client_ip(request) == "10.0.0.9"
    settings.HUZHU_BEHIND_PROXY = True
    assert client_ip(request) == "10.0.0.7"  # what the proxy saw, not what the client said
    forged = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="nonsense")
    assert client_ip(forged) == "10.0.0.9"


def test_rotating_a_forged_forwarded_header_does_not_dodge_the_lock(client, users):
    assert not live_settings.HUZHU_BEHIND_PROXY
    for n in range(5):
        attempt(client, "clerk_a1", WRONG, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert attempt(client, "clerk_a1", PASSWORD,
                   HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 429


@pytest.mark.parametrize("path", ["/admin/login/"])
def test_the_admin_login_is_locked_too(client, users, path):
    for _ in range(5):
        client.post(path, {"username": "clerk_a1", "password": WRONG}, REMOTE_ADDR=HERE)
    response = client.post(path, {"username": "clerk_a1", "password": PASSWORD},
                           REMOTE_ADDR=HERE)
    assert response.status_code == 429
