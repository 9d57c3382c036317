"""Numbers registered under another union: one neutral refusal, audited and limited per
day, and for a member a transfer request that the member's own union decides."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from huzhu.audit.models import AuditEntry
from huzhu.members.idcard import make_id_number
from huzhu.members.models import Member, TransferRequest
from tests.fixtures import PASSWORD


def login(client, username: str):
    client.logout()
    assert client.login(username=username, password=PASSWORD)
    return client


def form(units, **overrides) -> dict:
    data = {"name": "赵六", "id_number": make_id_number("220102", dt.date(1990, 3, 4), 123),
            "unit": units["a1"].id, "status": "active", "occupation": "other"}
    data.update(overrides)
    return data


@pytest.fixture
def elsewhere(make_member):
    """A member of another district (乙区) than the clerk's."""
    return make_member("b1", name="王五")


def test_a_duplicate_elsewhere_is_refused_neutrally_and_audited(client, users, units,
                                                                 elsewhere):
    body = login(client, "clerk_a1").post(
        reverse("members:create"), form(units, id_number=elsewhere.id_number)
    ).content.decode()
    assert "已有该职工的会员记录" in body
    for hint in ("王五", "乙区", units["b1"].name):
        assert hint not in body
    entry = AuditEntry.objects.get(action=AuditEntry.Action.DUPLICATE_REFUSED)
    assert entry.actor == users["clerk_a1"] and elsewhere.id_number not in entry.summary
    assert entry.union_path == users["clerk_a1"].union.path


def test_a_bank_account_elsewhere_is_refused_neutrally(client, users, units, elsewhere):
    elsewhere.set_bank_account("6222020200112233445")
    elsewhere.save()
    body = login(client, "clerk_a1").post(
        reverse("members:create"), form(units, bank_account="6222020200112233445")
    ).content.decode()
    assert "已登记在其他会员名下" in body and "王五" not in body
    assert AuditEntry.objects.filter(action=AuditEntry.Action.DUPLICATE_REFUSED).count() == 1


def test_refusals_past_the_daily_limit_stop_answering(client, users, units, make_member,
                                                      settings):
    settings.HUZHU_DUPLICATE_REFUSALS_PER_DAY = 2
    others = [make_member("b1", name=f"乙{i}") for i in range(4)]
    c = login(client, "clerk_a1")
    bodies = [c.post(reverse("members:create"), form(units, id_number=m.id_number))
              .content.decode() for m in others]
    assert all("已有该职工的会员记录" in b for b in bodies[:2])
    # past the limit the answer no longer says whether the number exists
    assert all("已达上限" in b and "已有该职工的会员记录" not in b for b in bodies[2:])
    assert AuditEntry.objects.filter(action=AuditEntry.Action.DUPLICATE_REFUSED).count() == 2
    assert AuditEntry.objects.filter(action=AuditEntry.Action.SECURITY_ALERT).count() == 1


def test_transfer_request_accepted_by_the_members_union(client, users, units, elsewhere):
    c = login(client, "clerk_a1")
    response = c.post(reverse("members:create"),
                      form(units, name="王五", id_number=elsewhere.id_number,
                           request_transfer="on"))
    assert response.status_code == 302 and response.url == reverse("members:transfers")
    request = TransferRequest.objects.get()
    assert request.state == "pending" and request.to_unit == units["a1"]
    assert Member.objects.count() == 1  # nobody was registered twice
    # the asking side sees its request but not the member
    page = c.get(reverse("members:transfers")).content.decode()
    assert "王五" in page and units["b1"].name not in page
    assert c.get(reverse("members:detail", args=[elsewhere.id])).status_code == 404
    # the other side decides
    other = login(client, "clerk_b1")
    incoming = other.get(reverse("members:transfers")).content.decode()
    assert f"transfer-accept-{request.pk}" in incoming
    other.post(reverse("members:transfer-decide", args=[request.pk]),
               {"decision": "accept", "note": "已核实调动"})
    elsewhere.refresh_from_db()
    assert elsewhere.unit == units["a1"] and elsewhere.union == units["a1"].union
    assert login(client, "clerk_a1").get(
        reverse("members:detail", args=[elsewhere.id])).status_code == 200
    accepted = AuditEntry.objects.filter(action=AuditEntry.Action.TRANSFER_ACCEPTED)
    assert {e.union_path for e in accepted} == {units["a1"].union.path,
                                                units["b1"].union.path}


def test_a_declined_transfer_moves_nobody_and_cannot_be_decided_by_the_asker(
        client, users, units, elsewhere):
    c = login(client, "clerk_a1")
    c.post(reverse("members:create"), form(units, id_number=elsewhere.id_number,
                                           request_transfer="on"))
    request = TransferRequest.objects.get()
    # the asking clerk cannot accept their own request: the member is not theirs
    assert c.post(reverse("members:transfer-decide", args=[request.pk]),
                  {"decision": "accept"}).status_code == 404
    login(client, "clerk_b1").post(reverse("members:transfer-decide", args=[request.pk]),
                                   {"decision": "decline", "note": "未调动"})
    request.refresh_from_db()
    elsewhere.refresh_from_db()
    assert request.state == "declined" and elsewhere.unit == units["b1"]


def test_a_read_only_role_cannot_decide(client, users, units, elsewhere):
    login(client, "clerk_a1").post(reverse("members:create"),
                                   form(units, id_number=elsewhere.id_number,
                                        request_transfer="on"))
    request = TransferRequest.objects.get()
    response = login(client, "auditor_city").post(
        reverse("members:transfer-decide", args=[request.pk]), {"decision": "accept"})
    assert response.status_code == 403
    assert TransferRequest.objects.get().state == "pending"


def test_sending_the_form_twice_makes_one_request(client, users, units, elsewhere):
    c = login(client, "clerk_a1")
    for _ in range(2):
        c.post(reverse("members:create"), form(units, id_number=elsewhere.id_number,
                                               request_transfer="on"))
    assert TransferRequest.objects.count() == 1
