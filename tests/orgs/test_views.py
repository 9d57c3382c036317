"""Unit create/edit: USCC checks (a failed check character needs confirmation), scope, audit."""

from __future__ import annotations

import pytest
from django.urls import reverse

from huzhu.audit.models import AuditEntry
from huzhu.orgs.models import Unit
from huzhu.orgs.uscc import make_uscc
from tests.fixtures import PASSWORD


@pytest.fixture
def clerk(client, users):
    client.login(username="clerk_a1", password=PASSWORD)
    return client


def _data(tree, **overrides) -> dict:
    data = {"name": "甲区新建材料有限公司", "uscc": make_uscc("91220101MA0000999"),
            "union": tree["a1"].id, "contact_name": "王会计", "contact_phone": "0431-88886666",
            "address": "长春市甲区一号路"}
    data.update(overrides)
    return data


def test_create_unit_and_audit(clerk, tree, users):
    response = clerk.post(reverse("orgs:unit-create"), _data(tree))
    assert response.status_code == 302
    unit = Unit.objects.get(name="甲区新建材料有限公司")
    assert unit.uscc_check_ok and unit.union == tree["a1"]
    entry = AuditEntry.objects.get(action=AuditEntry.Action.UNIT_CREATED)
    assert entry.actor == users["clerk_a1"] and entry.union_path == tree["a1"].path
    assert entry.changes["uscc"] == [None, unit.uscc]


def test_bad_check_character_needs_confirmation(clerk, tree):
    good = make_uscc("91220101MA0000999")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    body = clerk.post(reverse("orgs:unit-create"), _data(tree, uscc=bad)).content.decode()
    assert "校验位不符" in body and f"最后一位应为 {good[17]}" in body
    assert not Unit.objects.filter(uscc=bad).exists()
    response = clerk.post(reverse("orgs:unit-create"), _data(tree, uscc=bad, confirm_check="on"))
    assert response.status_code == 302
    assert Unit.objects.get(uscc=bad).uscc_check_ok is False


def test_malformed_and_duplicate_uscc_refused(clerk, tree, units):
    body = clerk.post(reverse("orgs:unit-create"), _data(tree, uscc="12345")).content.decode()
    assert "应为18位" in body
    body = clerk.post(reverse("orgs:unit-create"),
                      _data(tree, uscc=units["b1"].uscc)).content.decode()
    assert "已有该单位的登记记录" in body and "乙区建筑工程有限公司" not in body
    body = clerk.post(reverse("orgs:unit-create"),
                      _data(tree, uscc=units["a1"].uscc)).content.decode()
    assert "已登记为单位“长春一汽零部件有限公司”" in body  # in scope: say which
    assert Unit.objects.count() == 3
    refused = AuditEntry.objects.get(action=AuditEntry.Action.DUPLICATE_REFUSED)
    assert refused.actor.username == "clerk_a1" and units["b1"].uscc not in refused.summary


def test_union_must_be_grassroots_in_scope(clerk, tree):
    clerk.post(reverse("orgs:unit-create"), _data(tree, union=tree["b1"].id))
    clerk.post(reverse("orgs:unit-create"), _data(tree, union=tree["da"].id))
    assert not Unit.objects.filter(name="甲区新建材料有限公司").exists()


def test_edit_moves_members_with_the_unit(client, users, tree, units, make_member):
    member = make_member("a1", name="张三")
    client.login(username="reviewer_da", password=PASSWORD)
    unit = units["a1"]
    data = _data(tree, name=unit.name, uscc=unit.uscc, union=tree["a2"].id)
    assert client.post(reverse("orgs:unit-edit", args=[unit.id]), data).status_code == 302
    member.refresh_from_db()
    assert member.union == tree["a2"]
    entry = AuditEntry.objects.get(action=AuditEntry.Action.UNIT_UPDATED)
    assert entry.changes["members_moved"] == 1
    assert entry.changes["union"] == ["甲区一号基层工会", "甲区二号基层工会"]


def test_edit_outside_scope_is_404_and_auditor_cannot_write(client, users, tree, units):
    client.login(username="clerk_a1", password=PASSWORD)
    assert client.get(reverse("orgs:unit-edit", args=[units["b1"].id])).status_code == 404
    client.login(username="auditor_city", password=PASSWORD)
    assert client.get(reverse("orgs:unit-create")).status_code == 403
    assert client.post(reverse("orgs:unit-edit", args=[units["a1"].id]),
                       _data(tree)).status_code == 403
