"""Member pages fixtures: Changchun's free scheme (tests.claims), members with phones,
and a helper that signs a member in the way a phone does (the code read from the
outbox, as an admin or the demo reads it)."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from huzhu.notify.models import OutboxMessage
from tests.claims.conftest import (  # noqa: F401  (fixtures)
    changchun,
    file_hospital,
    today,
)
from tests.coverage.conftest import admin, free_scheme  # noqa: F401  (fixtures)

PHONE = "13800138001"
OTHER_PHONE = "13900139002"


@pytest.fixture(autouse=True)
def fresh_throttles():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def private_uploads(settings, tmp_path):
    settings.UPLOAD_ROOT = tmp_path / "uploads"
    return settings.UPLOAD_ROOT


@pytest.fixture
def member(make_member):
    return make_member("a1", name="赵会员", phone=PHONE)


@pytest.fixture
def other(make_member):
    return make_member("a1", name="钱他人", phone=OTHER_PHONE)


def last_code(phone: str, kind: str = "portal.sign_in_code") -> str:
    message = OutboxMessage.objects.filter(to=phone, kind=kind).order_by("-pk").first()
    assert message is not None, f"no {kind} SMS to {phone}"
    match = re.search(r"\d{6}", message.text)
    assert match is not None
    return match.group(0)


def sign_in(client, member) -> None:
    """Phone, code from the outbox and (a new device) the ID number's last six."""
    response = client.post("/member/login/", {"phone": member.phone})
    assert response.status_code == 302, response.content.decode()
    response = client.post("/member/login/code/", {
        "code": last_code(member.phone), "id_tail": member.id_number[-6:]})
    assert response.status_code == 302 and response["Location"] == "/member/", \
        response.content.decode()
