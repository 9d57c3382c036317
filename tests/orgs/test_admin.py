"""The Django admin: every change and deletion audited, a unit's members follow it, a
union moved under another parent takes its subtree along."""

from __future__ import annotations

import pytest
from django.urls import reverse

from huzhu.audit.models import AuditEntry
from huzhu.orgs.models import Union, User

ADMIN_PASSWORD = "huzhu-admin-pass-1"


@pytest.fixture
def root(client, db):
    User.objects.create_superuser("root", "root@example.com", ADMIN_PASSWORD)
    assert client.login(username="root", password=ADMIN_PASSWORD)
    return client


def _unit_form(unit, **changes) -> dict:
    data = {"name": unit.name, "uscc": unit.uscc, "uscc_check_ok": "on",
            "union": unit.union_id, "contact_name": "", "contact_phone": "", "address": ""}
    data.update(changes)
    return data


def test_admin_unit_edit_moves_its_members_and_is_audited(root, units, make_member, tree):
    member = make_member("a1")
    unit = units["a1"]
    response = root.post(reverse("admin:orgs_unit_change", args=[unit.pk]),
                         _unit_form(unit, union=tree["a2"].pk))
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.union_id == tree["a2"].pk
    entry = AuditEntry.objects.get(action=AuditEntry.Action.ADMIN_CHANGED)
    assert entry.changes["union"] == [tree["a1"].name, tree["a2"].name]
    assert entry.actor.username == "root"


def test_admin_deletion_is_audited(root, tree):
    leaf = Union.objects.create(code="G099", name="待撤销基层工会", level="grassroots",
                                parent=tree["da"])
    response = root.post(reverse("admin:orgs_union_delete", args=[leaf.pk]), {"post": "yes"})
    assert response.status_code == 302 and not Union.objects.filter(pk=leaf.pk).exists()
    entry = AuditEntry.objects.get(action=AuditEntry.Action.ADMIN_DELETED)
    assert "待撤销基层工会" in entry.summary and entry.changes["code"] == "G099"


def test_admin_password_change_is_audited_without_the_hash(root, users):
    clerk = users["clerk_a1"]
    response = root.post(reverse("admin:auth_user_password_change", args=[clerk.pk]),
                         {"password1": "a-new-long-pass-9", "password2": "a-new-long-pass-9"})
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action=AuditEntry.Action.ADMIN_CHANGED)
    assert entry.object_id == str(clerk.pk) and entry.changes == {"password": "已修改"}
    clerk.refresh_from_db()
    assert clerk.password not in entry.summary + str(entry.changes)


def test_moving_a_union_moves_its_subtree(tree, units, make_member, users):
    from huzhu.members.models import Member

    member = make_member("a1")
    district = tree["da"]
    district.parent = tree["db"]  # district A under district B, with its grassroots
    district.save()
    tree["a1"].refresh_from_db()
    assert tree["a1"].path == f"{tree['db'].path}{district.pk}/{tree['a1'].pk}/"
    district.parent = tree["city"]
    district.save()
    tree["a1"].refresh_from_db()
    assert tree["a1"].path == f"{tree['city'].path}{district.pk}/{tree['a1'].pk}/"
    # grassroots A1 moves to district B: district A's reviewer no longer sees its members
    assert member in Member.objects.visible_to(users["reviewer_da"])
    tree["a1"].parent = tree["db"]
    tree["a1"].save()
    assert member not in Member.objects.visible_to(users["reviewer_da"])
