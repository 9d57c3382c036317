"""Signing a member in: enumeration-safe, codes of 5 minutes and 5 tries, the ID
number's last six on a new device, throttles, a 4-hour session, every answer audited."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from huzhu.audit.models import AuditEntry
from huzhu.notify.models import OutboxMessage
from huzhu.portal import access, signin
from huzhu.portal.models import OneTimeCode
from tests.portal.conftest import PHONE, last_code, sign_in

pytestmark = pytest.mark.django_db
UNKNOWN = "13700137000"


def _shift(monkeypatch, **delta) -> None:
    later = timezone.now() + dt.timedelta(**delta)
    monkeypatch.setattr(timezone, "now", lambda: later)


def _page(client, phone: str) -> tuple[int, str, str]:
    response = client.post("/member/login/", {"phone": phone}, follow=True)
    # The CSRF token differs per session, nothing else may.
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
    return response.status_code, response.redirect_chain[-1][0], body


def test_same_answer_whether_or_not_registered(client, member):
    known = _page(client, PHONE)
    client.cookies.clear()
    unknown = _page(client.__class__(), UNKNOWN)
    assert known[0] == unknown[0] == 200
    assert known[1] == unknown[1] == "/member/login/code/"
    # The pages differ only in the masked number they repeat.
    assert known[2].replace("138****8001", "X") == unknown[2].replace("137****7000", "X")
    assert signin.SENT in known[2] and "身份证号后六位" in unknown[2]
    # Both wrote a code row; only the member's phone got an SMS.
    assert OneTimeCode.objects.count() == 2
    assert list(OutboxMessage.objects.values_list("to", flat=True)) == [PHONE]


def test_wrong_answers_look_alike_and_are_audited(client, member):
    client.post("/member/login/", {"phone": UNKNOWN})
    unknown = client.post("/member/login/code/", {"code": "123456", "id_tail": "000000"})
    other = client.__class__()
    other.post("/member/login/", {"phone": PHONE})
    wrong = other.post("/member/login/code/", {"code": "000000" if last_code(PHONE) != "000000"
                                               else "111111", "id_tail": member.id_number[-6:]})
    assert signin.WRONG in unknown.content.decode() and signin.WRONG in wrong.content.decode()
    failed = AuditEntry.objects.filter(action=AuditEntry.Action.LOGIN_FAILED)
    assert failed.count() == 2
    mine = failed.get(object_id=str(member.pk))
    assert mine.object_type == "member" and "138****8001" in mine.summary
    assert "未登记" in failed.exclude(pk=mine.pk).get().summary


def test_first_sign_in_asks_id_tail_then_device_is_trusted(client, member):
    client.post("/member/login/", {"phone": PHONE})
    code = last_code(PHONE)
    response = client.post("/member/login/code/", {"code": code, "id_tail": "99999X"})
    assert signin.WRONG in response.content.decode()
    response = client.post("/member/login/code/", {"code": code})
    assert "请填写身份证号的后六位" in response.content.decode()
    response = client.post("/member/login/code/", {"code": code,
                                                   "id_tail": member.id_number[-6:]})
    assert response.status_code == 302 and response["Location"] == "/member/"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.LOGGED_IN)
    assert entry.object_id == str(member.pk) and entry.actor is None
    assert entry.changes["method"] == "短信验证码及身份证号后六位"
    # Signed out, the same phone on the same device: the code alone.
    client.post("/member/logout/")
    client.post("/member/login/", {"phone": PHONE})
    page = client.get("/member/login/code/").content.decode()
    assert "id_id_tail" not in page
    response = client.post("/member/login/code/", {"code": last_code(PHONE)})
    assert response.status_code == 302 and response["Location"] == "/member/"


def test_code_expires_after_five_minutes(client, member, monkeypatch):
    client.post("/member/login/", {"phone": PHONE})
    code = last_code(PHONE)
    _shift(monkeypatch, minutes=5)
    response = client.post("/member/login/code/", {"code": code,
                                                   "id_tail": member.id_number[-6:]})
    assert response.status_code == 302 and response["Location"] == "/member/login/"
    assert access.MEMBER_KEY not in client.session


def test_code_valid_just_before_five_minutes(client, member, monkeypatch):
    client.post("/member/login/", {"phone": PHONE})
    code = last_code(PHONE)
    _shift(monkeypatch, minutes=4, seconds=59)
    response = client.post("/member/login/code/", {"code": code,
                                                   "id_tail": member.id_number[-6:]})
    assert response["Location"] == "/member/"


def test_five_tries_then_the_code_is_spent(client, member):
    client.post("/member/login/", {"phone": PHONE})
    code = last_code(PHONE)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        response = client.post("/member/login/code/", {"code": wrong,
                                                       "id_tail": member.id_number[-6:]})
        assert signin.WRONG in response.content.decode()
    response = client.post("/member/login/code/", {"code": wrong,
                                                   "id_tail": member.id_number[-6:]})
    assert response["Location"] == "/member/login/"  # the fifth wrong answer spends it
    assert OneTimeCode.objects.get().tries == 5
    # The right code no longer opens anything.
    answer = signin.check_code(_request(client), OneTimeCode.objects.get().pk, PHONE, code,
                               member.id_number[-6:])
    assert answer.member is None and answer.error == signin.SPENT


def _request(client):
    from django.test import RequestFactory

    request = RequestFactory().post("/member/login/code/")
    request.COOKIES.update({k: v.value for k, v in client.cookies.items()})
    return request


def test_codes_are_stored_hashed(client, member):
    client.post("/member/login/", {"phone": PHONE})
    row = OneTimeCode.objects.get()
    code = last_code(PHONE)
    assert code not in row.code_hash and PHONE not in row.phone_index
    assert row.matches(code) and not row.matches("000000" if code != "000000" else "1")


def test_throttled_per_phone(client, member):
    for _ in range(signin.CODES_PER_PHONE[0]):
        assert client.post("/member/login/", {"phone": PHONE}).status_code == 302
    response = client.post("/member/login/", {"phone": PHONE})
    assert response.status_code == 200 and signin.THROTTLED in response.content.decode()
    assert OutboxMessage.objects.count() == signin.CODES_PER_PHONE[0]
    alert = AuditEntry.objects.get(action=AuditEntry.Action.SECURITY_ALERT)
    assert "获取验证码过于频繁" in alert.summary and "138****8001" in alert.summary


def test_throttled_per_address(client, monkeypatch, member):
    monkeypatch.setattr(signin, "CODES_PER_ADDRESS", (3, 3600))
    for n in range(3):
        assert client.post("/member/login/", {"phone": f"1370013700{n}"}).status_code == 302
    response = client.post("/member/login/", {"phone": PHONE})
    assert signin.THROTTLED in response.content.decode()
    assert not OutboxMessage.objects.exists()  # the member's phone was never reached
    # Another address is not held up.
    other = client.__class__(REMOTE_ADDR="10.0.0.9")
    assert other.post("/member/login/", {"phone": PHONE}).status_code == 302


def test_answers_throttled_per_address(client, member, monkeypatch):
    monkeypatch.setattr(signin, "ANSWERS_PER_ADDRESS", (2, 3600))
    client.post("/member/login/", {"phone": PHONE})
    for _ in range(2):
        client.post("/member/login/code/", {"code": "000001", "id_tail": "000000"})
    response = client.post("/member/login/code/", {"code": last_code(PHONE),
                                                   "id_tail": member.id_number[-6:]})
    assert signin.THROTTLED in response.content.decode()
    assert access.MEMBER_KEY not in client.session
    assert AuditEntry.objects.filter(action=AuditEntry.Action.SECURITY_ALERT).count() == 1


def test_member_who_left_cannot_sign_in(client, make_member):
    gone = make_member("a1", name="吴离", phone=PHONE, status="left")
    client.post("/member/login/", {"phone": PHONE})
    assert not OutboxMessage.objects.exists()
    response = client.post("/member/login/code/", {"code": "123456",
                                                   "id_tail": gone.id_number[-6:]})
    assert signin.WRONG in response.content.decode()


def test_session_ends_after_four_hours(client, member, monkeypatch):
    sign_in(client, member)
    assert client.get("/member/").status_code == 200
    _shift(monkeypatch, hours=3, minutes=59)
    assert client.get("/member/").status_code == 200
    _shift(monkeypatch, minutes=1)
    response = client.get("/member/")
    assert response.status_code == 302 and response["Location"] == "/member/login/"
    assert access.MEMBER_KEY not in client.session


def test_sign_in_is_not_a_django_login(client, member):
    sign_in(client, member)
    assert "_auth_user_id" not in client.session
    assert client.session[access.MEMBER_KEY] == member.pk


def test_logout_ends_the_member_session(client, member):
    sign_in(client, member)
    response = client.post("/member/logout/")
    assert response["Location"] == "/member/login/"
    assert client.get("/member/")["Location"] == "/member/login/"
