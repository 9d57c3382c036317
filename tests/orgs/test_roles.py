"""The role table (huzhu.orgs.roles) behind has_perm and the templates' perms."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from huzhu.orgs import roles
from huzhu.orgs.models import User

pytestmark = pytest.mark.django_db


def test_each_role_holds_exactly_its_capabilities(users):
    for name, user in users.items():
        held = {cap for cap in roles.CAPABILITIES if user.has_perm(cap)}
        expected = {cap for cap, (allowed, _) in roles.CAPABILITIES.items()
                    if user.role in allowed}
        assert held == expected, name
    assert users["finance_city"].has_perm("claims.pay")
    assert not users["clerk_a1"].has_perm("claims.pay")
    assert not users["auditor_city"].has_perm("orgs.write")


def test_a_superuser_without_a_node_may_do_everything(tree):
    root = User.objects.create_superuser("root", password="x-pass-12345", email="")
    assert all(root.has_perm(cap) for cap in roles.CAPABILITIES)


def test_a_superuser_at_a_node_acts_in_its_role(tree):
    """Django's blanket superuser rule would let them pay; their clerk role does not."""
    user = User.objects.create_superuser("su_clerk", password="x-pass-12345", email="",
                                         union=tree["a1"], role=User.Role.CLERK)
    assert user.has_perm("orgs.write") and user.has_perm("claims.file")
    assert not user.has_perm("claims.pay") and not user.has_perm("audit.read_log")
    assert user.has_perm("claims.view_claim")  # the admin site's model permissions stay


def test_inactive_and_anonymous_users_hold_nothing(users):
    admin = users["admin_city"]
    admin.is_active = False
    assert not any(admin.has_perm(cap) for cap in roles.CAPABILITIES)
    assert not any(AnonymousUser().has_perm(cap) for cap in roles.CAPABILITIES)


def test_a_data_officer_needs_a_node(tree):
    nodeless = User.objects.create_user("admin_nowhere", password="x-pass-12345",
                                        role=User.Role.ADMIN)
    assert nodeless.has_perm("reports.what_if") and not nodeless.has_perm("feeds.import")


def test_a_refusal_says_why(users):
    with pytest.raises(PermissionDenied, match="只有财务和管理员可以办理给付"):
        roles.require(users["clerk_a1"], "claims.pay")
    with pytest.raises(KeyError):
        roles.allows(users["admin_city"], "claims.fly")
