"""The demo generator: valid, deterministic by seed, one login per role, rerun is a no-op."""

from __future__ import annotations

import argparse
from collections import Counter

import pytest

from huzhu.coverage.models import Enrolment, LedgerEntry, PremiumNotice
from huzhu.demo import command, generator
from huzhu.demo.base import AS_OF
from huzhu.lib import crypto
from huzhu.members.idcard import parse_id_number
from huzhu.members.models import Member
from huzhu.members.phone import parse_mobile
from huzhu.orgs.models import Union, Unit, User
from huzhu.orgs.uscc import parse_uscc

N = 300


def _snapshot() -> dict[str, list]:
    """Everything the demo made, keyed by natural values (primary keys may differ)."""
    members = Member.objects.select_related("unit", "family_head")
    return {
        "unions": sorted(Union.objects.values_list("code", "name", "level", "parent__code")),
        "units": sorted(Unit.objects.values_list("uscc", "name", "union__code", "address",
                                                 "contact_name", "contact_phone")),
        "members": sorted(
            (m.id_number_hash, m.name, m.birth_date, m.gender, m.phone, m.unit.uscc,
             m.joined_on, m.status, m.occupation, m.bank_account_hash or "",
             m.family_head.id_number_hash if m.family_head else "")
            for m in members
        ),
        "staff": sorted(User.objects.values_list("username", "role", "union__code",
                                                 "display_name", "is_superuser")),
        "enrolments": sorted(Enrolment.objects.values_list(
            "member__id_number_hash", "period__scheme__code", "period__name", "premium",
            "first_enrolled", "coverage_from", "paid_on", "state")),
        "notices": sorted(PremiumNotice.objects.values_list(
            "unit__uscc", "period__name", "members", "amount_due", "amount_paid", "state")),
        "ledger": sorted(LedgerEntry.objects.values_list("kind", "debit", "credit", "amount",
                                                         "booked_on")),
    }


def _wipe() -> None:
    generator.reset()


def _args(**overrides) -> argparse.Namespace:
    return argparse.Namespace(**{"members": 40, "seed": 1, "reset": False, **overrides})


@pytest.fixture
def demo(db):
    return generator.generate(members=N, seed=7)


def test_city_shape(demo):
    assert Union.objects.filter(level="city").count() == 1
    assert Union.objects.filter(level="district").count() == 10
    assert 180 <= Union.objects.filter(level="grassroots").count() <= 220
    assert 1500 <= Unit.objects.count() <= 2500
    assert Member.objects.count() == N
    # Units hang on grassroots unions only; members carry their unit's union.
    assert not Unit.objects.exclude(union__level="grassroots").exists()
    assert all(m.union_id == m.unit.union_id for m in Member.objects.select_related("unit"))
    assert len({u.name for u in Union.objects.all()}) == Union.objects.count()


def test_every_uscc_is_valid_and_unique(demo):
    codes = list(Unit.objects.values_list("uscc", flat=True))
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert parse_uscc(code).check_ok, code
    # Hospitals, CDCs and schools are public institutions (12…), companies enterprises (91…).
    hospital = Unit.objects.filter(name__endswith="人民医院").first()
    assert hospital.uscc.startswith("12")
    assert Unit.objects.filter(uscc__startswith="91").count() > 1000


def test_every_member_is_valid(demo):
    seen = set()
    for m in Member.objects.all():
        number = m.id_number
        parsed = parse_id_number(number)
        assert (parsed.birth_date, parsed.gender) == (m.birth_date, m.gender)
        age = AS_OF.year - m.birth_date.year - (
            (AS_OF.month, AS_OF.day) < (m.birth_date.month, m.birth_date.day))
        assert 18 <= age <= 65, (number, age)
        assert m.joined_on and m.birth_date < m.joined_on <= AS_OF
        if m.phone:
            assert parse_mobile(m.phone) == m.phone
        if m.bank_account_hash:
            assert len(m.bank_account) == 19 and m.bank_last4 == m.bank_account[-4:]
        assert m.id_last4_index == crypto.last4_index(number)
        seen.add(number)
        # Sealed, not stored in the clear.
        assert number.encode() not in bytes(m.id_number_sealed)
    assert len(seen) == N


def test_member_mix_looks_like_a_city(demo):
    status = Counter(Member.objects.values_list("status", flat=True))
    assert status["active"] > 0.8 * N
    assert status["retired"] > 0 and status["left"] > 0
    occupations = Counter(Member.objects.values_list("occupation", flat=True))
    assert occupations["medical"] > 0
    # Most IDs are issued in Changchun (2201xx), some elsewhere.
    local = sum(m.id_number.startswith("2201") for m in Member.objects.all())
    assert 0.6 * N < local < N
    linked = Member.objects.exclude(family_head=None).select_related("family_head")
    assert linked.count() == N // 50
    for m in linked:
        assert m.family_head.family_head_id is None
        assert m.gender != m.family_head.gender


def test_occupations_follow_the_employer(demo):
    assert not Member.objects.filter(occupation="cdc").exclude(
        unit__name__contains="疾病预防控制中心").exists()
    medical = Member.objects.filter(occupation="medical")
    in_health = medical.filter(unit__uscc__startswith="12").exclude(unit__name__contains="学")
    assert medical.exists() and in_health.count() >= 0.8 * medical.count()


def test_one_login_per_role_at_different_nodes(demo):
    staff = {u.username: u for u in User.objects.filter(is_active=True).select_related("union")}
    assert set(staff) == {"clerk", "reviewer", "finance", "admin", "auditor", "superuser"}
    # The others are accounts that never log in: the system filer of 免申即享 and the
    # other districts' reviewers of the history.
    others = User.objects.filter(is_active=False)
    assert not any(u.has_usable_password() for u in others)
    assert {u.username for u in others} == {"huzhu-proactive"} | {
        f"reviewer-{u.code}" for u in Union.objects.filter(level="district")
        if u.pk != staff["reviewer"].union_id}
    for username in ("clerk", "reviewer", "finance", "admin", "auditor"):
        user = staff[username]
        assert user.role == username
        assert user.check_password(generator.DEMO_PASSWORD)
        assert not user.is_superuser and not user.is_staff
    assert staff["clerk"].union.level == "grassroots"
    assert staff["reviewer"].union.level == "district"
    assert staff["clerk"].union.parent_id == staff["reviewer"].union_id
    assert {staff[u].union.level for u in ("finance", "admin", "auditor")} == {"city"}
    superuser = staff["superuser"]
    assert superuser.is_superuser and superuser.is_staff and superuser.union is None
    assert superuser.check_password(generator.DEMO_PASSWORD)
    # The clerk has members to work with, and sees fewer than the reviewer.
    logins = {row.username: row for row in generator.logins()}
    assert 0 < logins["clerk"].scope_members < logins["reviewer"].scope_members < N
    assert logins["admin"].scope_members == N


@pytest.mark.django_db(transaction=True)
def test_same_seed_same_city_other_seed_other_city():
    # Outside a test transaction: the wipe is the demo's own reset (a flush).
    generator.generate(members=N, seed=7)
    first = _snapshot()
    _wipe()
    generator.generate(members=N, seed=7)
    assert _snapshot() == first
    _wipe()
    generator.generate(members=N, seed=8)
    other = _snapshot()
    assert other["members"] != first["members"]
    assert other["units"] != first["units"]


def test_command_generates_then_rerun_is_a_no_op(db, capsys):
    assert command.run(_args()) == 0
    out = capsys.readouterr().out
    assert "已生成" in out and generator.DEMO_PASSWORD in out and "clerk" in out
    before = _snapshot()
    assert command.run(_args(members=99)) == 0
    out = capsys.readouterr().out
    assert "已有演示数据" in out and "clerk" in out
    assert _snapshot() == before
    assert Member.objects.count() == 40


def test_command_reset_regenerates(transactional_db, capsys):
    # Outside a test transaction: PostgreSQL cannot TRUNCATE with pending FK checks.
    assert command.run(_args()) == 0
    assert command.run(_args(members=60, reset=True)) == 0
    assert Member.objects.count() == 60
    assert User.objects.filter(username="clerk").count() == 1


def test_command_leaves_other_data_alone(tree, capsys):
    assert command.run(_args()) == 1
    assert "非演示数据" in capsys.readouterr().out
    assert Member.objects.count() == 0
    assert Union.objects.count() == len(tree)


def test_command_refuses_a_city_without_members(db, capsys):
    assert command.run(_args(members=0)) == 2
    assert not Union.objects.exists()


def test_public_bodies_are_named_as_in_life(demo):
    from huzhu.demo.registry import _chinese_number

    assert [_chinese_number(n) for n in (1, 9, 10, 11, 20, 39)] == [
        "一", "九", "十", "十一", "二十", "三十九"]
    # District bodies carry the city's name; county-level cities' bodies do not.
    assert Unit.objects.filter(name="长春市朝阳区人民医院").exists()
    assert Unit.objects.filter(name="德惠市人民医院").exists()
    assert not Unit.objects.filter(name__regex=r"第[0-9]+中学").exists()


def test_huzhu_demo_through_the_command_line(db, capsys):
    from huzhu.cli import main

    assert main(["demo", "--members", "25", "--seed", "3"]) == 0
    assert Member.objects.count() == 25
    assert "huzhu-demo-2026" in capsys.readouterr().out


def test_the_demo_city_runs_two_schemes_with_a_sound_ledger(demo):
    from huzhu.coverage import ledger
    from huzhu.coverage.models import Scheme
    from huzhu.notify.models import OutboxMessage

    codes = dict(Scheme.objects.values_list("code", "kind"))
    assert codes == {"changchun-2023": "free", "ningshan-2024": "premium"}
    states = set(PremiumNotice.objects.filter(period__name="2026年度")
                 .values_list("state", flat=True))
    assert "paid" in states and states & {"unpaid", "partial"}
    enrolled_districts = set(Enrolment.objects.values_list(
        "unit__union__parent__name", flat=True))
    assert enrolled_districts <= {"朝阳区总工会", "南关区总工会"} and enrolled_districts
    assert all(check.ok for check in ledger.check_all())
    assert OutboxMessage.objects.filter(kind="coverage.unpaid").exists()
    # The history's SMS went out at the time; what waits is today's, a page's worth.
    told = OutboxMessage.objects.filter(kind__startswith="claims.")
    assert told.filter(kind="claims.paid", state="sent").count() > 0
    assert told.filter(state="pending").count() < told.filter(state="sent").count()


def test_the_demo_has_claims_in_every_state_and_a_paid_batch(demo):
    from huzhu.claims.models import Claim, PayoutBatch
    from huzhu.claims.workflow import apply
    from huzhu.coverage import ledger

    states = set(Claim.objects.values_list("state", flat=True))
    assert {"draft", "submitted", "second_review", "returned", "rejected", "withdrawn",
            "paid"} <= states
    from huzhu.claims.models import Payout

    assert PayoutBatch.objects.exists()
    assert Payout.objects.filter(state="paid").count() == Claim.objects.filter(
        state="paid").count() > 0
    # Filed and paid in the demo's world, not on the day it was generated.
    paid = Claim.objects.filter(state="paid")
    assert all(c.submitted_at.date() < demo.as_of for c in paid)
    assert all(check.ok for check in ledger.check_all())
    # And the money given holds under the rules (huzhu audit money).
    from huzhu.claims import money_audit

    assert [c.findings for c in money_audit.run() if not c.ok] == []
    # The split stay with a reused invoice is waiting for the reviewer, flagged.
    from huzhu.claims.flags import flags_for
    signalled = [c for c in Claim.objects.filter(state="submitted") if flags_for(c)]
    assert {f.code for c in signalled for f in flags_for(c)} >= {"invoice", "readmission"}
    # The demo's work is real work: the reviewer can take a submitted claim further.
    claim = Claim.objects.filter(state="submitted").first()
    assert apply(demo.staff["reviewer"], claim.pk, "return", missing=["invoice"],
                 note="请补交发票").state == "returned"


def test_the_demo_has_paid_history_in_both_years_through_proactive_runs(demo):
    """Issue 21 (5): months of 免申即享 runs from 2025 on, reviewed by two people and paid
    in monthly batches, every amount the engine's."""
    from django.db.models import F

    from huzhu.audit.models import AuditEntry
    from huzhu.claims.models import Claim, ClaimEvent, Payout
    from huzhu.demo import history
    from huzhu.feeds.models.proactive import BatchRun

    months = history.months(demo)
    assert months[0].isoformat() == "2025-01-01" and months[-1].isoformat() == "2026-05-01"
    runs = BatchRun.objects.filter(status="done")
    assert {r.scheme.code for r in runs} == {"changchun-2023", "ningshan-2024"}
    assert {r.user.username for r in runs} == {"admin"}
    proactive = Claim.objects.filter(source="proactive", state="paid")
    assert proactive.exists()
    # Filed by the system, submitted by the admin, first review by the member's district
    # reviewer, second by the admin; paid in the month after the discharge month.
    for claim in proactive.select_related("member__union", "first_reviewed_by",
                                          "second_reviewed_by", "filed_by")[:50]:
        assert claim.filed_by.username == "huzhu-proactive"
        assert claim.first_reviewed_by.union_id == claim.member.union.parent_id
        assert claim.second_reviewed_by.username == "admin"
        assert claim.final == claim.computed > 0
        steps = list(claim.history.order_by("at", "pk").values_list("action", flat=True))
        assert steps == ["proactive", "submit", "first_pass", "approve", "batch", "pay"]
        paid_on = claim.payouts.get().paid_on
        assert (paid_on.year * 12 + paid_on.month) - (
            claim.event_date.year * 12 + claim.event_date.month) == 1
    years = set(Payout.objects.filter(state="paid").values_list("paid_on__year", flat=True))
    assert years == {2025, 2026}
    assert Payout.objects.filter(state="paid", paid_on__gte=demo.as_of).count() == 0
    assert not proactive.exclude(final=F("computed")).exists()
    # Each step is in the audit log, as workflow.apply writes it.
    one = proactive.first()
    logged = AuditEntry.objects.filter(object_type="claim", object_id=str(one.pk))
    assert logged.count() == ClaimEvent.objects.filter(claim=one).count() - 1  # not the filing
    # The member was told at each step, as workflow.apply tells them.
    from huzhu.notify.models import OutboxMessage

    told = proactive.exclude(member__phone="").first()
    texts = dict(OutboxMessage.objects.filter(member=told.member_id,
                                              dedupe_key__contains=f":{told.pk}:")
                 .values_list("kind", "text"))
    assert set(texts) == {"claims.submitted", "claims.approved", "claims.paid"}
    assert f"核定给付 {told.final:,.2f} 元" in texts["claims.approved"]
    # What stays open: claims waiting for the member's bank card.
    waiting = Claim.objects.filter(source="proactive", state="proactive")
    assert all("bank_card" in c.missing_materials for c in waiting)


def test_the_demo_computes_the_statistics_ahead(demo):
    from django.core.cache import caches

    from huzhu.coverage.models import Scheme
    from huzhu.reports import figures, paid, precompute

    version = paid.version()
    assert caches["reports"].get(precompute.STATE_KEY)[0] == version
    for scheme in Scheme.objects.select_related("union"):
        for year in (2025, 2026):
            start, end = figures.year_range(year)
            sel = figures.select(None, scheme, start=start, end=end, union=scheme.union)
            assert caches["reports"].get(figures.cache_key(sel, version)) is not None
