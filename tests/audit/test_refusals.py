"""The one way services audit their refusals (huzhu.audit.log.refusals_audited)."""

from __future__ import annotations

import pytest

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.lib.errors import Refused

pytestmark = pytest.mark.django_db

audited = log.refusals_audited(AuditEntry.Action.PAYOUT_CHANGED, summary="被拒绝：{}")


class Carrying(Refused):
    def __init__(self, message: str, user) -> None:
        super().__init__(message)
        self.user, self.obj, self.changes = user, None, {"why": "test"}


@audited
def refuse_plain(user, reason: str) -> None:
    raise Refused(reason)


@audited
def refuse_carrying(user, reason: str, who) -> None:
    raise Carrying(reason, who)


@audited
def outer(user) -> None:
    refuse_plain(user, "里层拒绝")


def test_a_refusal_is_recorded_for_the_services_user_then_raised(users):
    with pytest.raises(Refused, match="余额不足"):
        refuse_plain(users["clerk_a1"], "余额不足")
    entry = AuditEntry.objects.get()
    assert entry.actor == users["clerk_a1"] and entry.summary == "被拒绝：余额不足"
    assert entry.changes == {"refused": "refuse_plain"}
    assert entry.union_path == users["clerk_a1"].union.path


def test_the_refusals_own_user_and_changes_win_and_none_means_no_entry(users):
    with pytest.raises(Carrying):
        refuse_carrying(users["clerk_a1"], "不可以", users["admin_city"])
    entry = AuditEntry.objects.get()
    assert entry.actor == users["admin_city"] and entry.changes == {"why": "test"}
    with pytest.raises(Carrying):
        refuse_carrying(users["clerk_a1"], "表单自查", None)
    assert AuditEntry.objects.count() == 1


def test_nested_services_audit_one_refusal_once(users):
    with pytest.raises(Refused):
        outer(users["clerk_a1"])
    assert AuditEntry.objects.count() == 1
