"""``build_batches`` set-based: the same batches, payouts and history rows as one
``build_batch`` per group, one audit entry per batch (count, total, claims left out)
instead of one per claim, the duplicate rule still holding a claim back, and the result
files of previews nobody confirmed swept after a day."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from huzhu.audit.models import AuditEntry
from huzhu.claims import housekeeping
from huzhu.claims.models import Claim, ClaimEvent, Payout, PayoutBatch
from huzhu.claims.payouts import build
from huzhu.claims.workflow import ClaimRefused
from tests.claims.payouts import test_payouts as base

ready, clerk_a2 = base.ready, base.clerk_a2


def test_batches_hold_the_claims_with_one_audit_entry_each(users, ready, changchun):
    finance = users["finance_city"]
    built = build.build_batches(finance, changchun, max_per_batch=2)
    assert [c.number for c in built.without_account] == [ready["no_account"].number]
    assert [b.payouts.count() for b in built.batches] == [2, 1]
    amounts = dict(Payout.objects.values_list("claim_id", "amount"))
    assert amounts == {ready["c1"].pk: Decimal("240.00"), ready["c2"].pk: Decimal("300.00"),
                       ready["c3"].pk: Decimal("1200.00")}
    assert set(Payout.objects.values_list("state", flat=True)) == {"pending"}
    for key in ("c1", "c2", "c3"):
        claim = Claim.objects.get(pk=ready[key].pk)
        assert claim.state == "in_batch"
        last = claim.history.last()
        batch = Payout.objects.get(claim=claim).batch
        # What the per-claim audit entry said lives in the claim's history.
        assert (last.action, last.from_state, last.to_state, last.note, last.amount,
                last.actor) == ("batch", "approved", "in_batch", f"加入给付批次 {batch.number}",
                                ready[key].final, finance)
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.CLAIM_CHANGED,
                                         summary__contains="加入给付批次").exists()
    entries = list(AuditEntry.objects.filter(action=AuditEntry.Action.PAYOUT_CHANGED,
                                             summary__startswith="生成给付批次")
                   .order_by("pk"))
    first, second = built.batches
    assert [e.summary for e in entries] == [
        f"生成给付批次 {first.number}（{changchun.name}）：2 笔，合计 540.00 元；"
        "1 件因无银行账号未纳入",
        f"生成给付批次 {second.number}（{changchun.name}）：1 笔，合计 1,200.00 元"]
    assert entries[0].changes == {"count": 2, "total": "540.00",
                                  "without_account": [ready["no_account"].number]}
    assert entries[1].changes == {"count": 1, "total": "1200.00", "without_account": []}
    assert fresh_state(ready["no_account"]) == "approved"


def fresh_state(claim: Claim) -> str:
    return Claim.objects.get(pk=claim.pk).state


def twin_of(file_hospital, users, claim: Claim) -> Claim:
    """A second approved claim of the same member for the same stay (forced past the
    approval's own duplicate check, as an old import might have left it)."""
    filer = "clerk_a1" if claim.member.union.code == "G011" else "clerk_a2"
    twin = file_hospital(claim.member, user=filer)
    Claim.objects.filter(pk=twin.pk).update(state="approved", final=Decimal("240.00"))
    return twin


def test_a_duplicate_holds_the_build_back_and_writes_nothing(users, ready, changchun,
                                                              file_hospital):
    finance = users["finance_city"]
    twin = twin_of(file_hospital, users, ready["c1"])
    with pytest.raises(ClaimRefused) as refused:
        build.build_batches(finance, changchun)
    assert str(refused.value) == (
        f"理赔 {ready['c1'].number}：与本会员的理赔 {twin.number}（已审批待给付，"
        f"同一保障项目住院期间重叠、同一发票号 {twin.invoice_number}） 重复：请先撤回或不予"
        "给付重复的一笔；确属不同的住院或发票的，由另一位审核人员“确认非重复”并写明理由")
    assert not PayoutBatch.objects.exists() and not Payout.objects.exists()
    assert not ClaimEvent.objects.filter(action="batch").exists()
    assert fresh_state(ready["c1"]) == fresh_state(twin) == "approved"
    # Confirmed as not a duplicate (by another person), both are paid.
    Claim.objects.filter(pk__in=[ready["c1"].pk, twin.pk]).update(
        duplicate_override_by=users["reviewer_da"])
    built = build.build_batches(finance, changchun)
    assert sum(b.payouts.count() for b in built.batches) == 4
    assert fresh_state(twin) == "in_batch"


def test_a_claim_already_fully_paid_is_refused(users, ready, changchun):
    finance = users["finance_city"]
    batch = build.build_batches(finance, changchun).batches[0]
    Payout.objects.filter(claim=ready["c2"]).update(state="paid")
    Payout.objects.filter(batch=batch).exclude(claim=ready["c2"]).delete()
    Claim.objects.filter(pk__in=[ready[k].pk for k in ("c1", "c2", "c3")]).update(
        state="approved")
    with pytest.raises(ClaimRefused, match=f"理赔 {ready['c2'].number}：核定金额已全额给付"):
        build.build_batches(finance, changchun)


def test_unconfirmed_return_files_are_swept_after_a_day(settings, tmp_path):
    settings.UPLOAD_ROOT = tmp_path / "uploads"
    folder = Path(settings.UPLOAD_ROOT) / "payout-returns"
    folder.mkdir(parents=True)
    old, recent = folder / "a", folder / "b"
    old.write_bytes(b"\xc0\xed")
    recent.write_bytes(b"\xc0\xed")
    two_days_ago = (timezone.now() - dt.timedelta(days=2)).timestamp()
    os.utime(old, (two_days_ago, two_days_ago))
    swept = housekeeping.sweep()
    assert swept["删除的未确认回盘文件"] == 1
    assert not old.exists() and recent.exists()
    assert housekeeping.sweep()["删除的未确认回盘文件"] == 0
