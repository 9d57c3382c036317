"""Reviewers' signals and the follow-up list: each flag at its boundary, the set form
(with_flag) equal to the one-claim form (flags_for), and the calls to large claims' units."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import random
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from django.urls import reverse

from huzhu.audit.models import AuditEntry
from huzhu.claims import flags
from huzhu.claims.flags import FLAG_LABELS, flag_counts, flags_for, with_flag
from huzhu.claims.followup import service as followup
from huzhu.claims.models import Claim, ClaimAmountNorm
from huzhu.claims.usual_amounts import MAX_AGE
from huzhu.claims.workflow import ClaimRefused, apply
from tests.fixtures import PASSWORD

D = dt.date
S = Claim.State
_numbers = itertools.count(1)
MARCH_10 = D(2026, 3, 10)


@pytest.fixture
def premium_scheme(admin, tree):
    """A second scheme at the city (Ningshan's premium scheme)."""
    from huzhu.coverage import schemes

    return schemes.create_scheme(admin, union=tree["city"], policy_name="ningshan-2024",
                                 code="ningshan-flags")


@pytest.fixture
def claim_for(users, free_scheme):
    """A claim row with just the facts the signals read (no engine, no workflow)."""

    def make(member, *, event=MARCH_10, admit=None, diagnosis="I21.9", invoice="",
             state=S.SUBMITTED, amount="1000.00", scheme=None, benefit="hospital") -> Claim:
        value = Decimal(amount) if amount is not None else None
        approved = state in (S.APPROVED, S.IN_BATCH, S.PAID)
        return Claim.objects.create(
            number=f"T{next(_numbers):09d}", member=member, scheme=scheme or free_scheme,
            benefit=benefit, benefit_name="住院医疗补贴", state=state, event_date=event,
            admit_date=admit, diagnosis=diagnosis, invoice_number=invoice, computed=value,
            final=value if approved else None, filed_by=users["clerk_a1"])

    return make


def codes(claim: Claim) -> list[str]:
    return [f.code for f in flags_for(claim)]


def linked(claim: Claim, code: str) -> list[int]:
    return [c.pk for f in flags_for(claim) if f.code == code for c in f.claims]


def flagged(qs, code: str) -> set[int]:
    return set(with_flag(qs, code).values_list("pk", flat=True))


# ------------------------------------------------------------------ overlap

def test_overlapping_stays_of_one_member_are_flagged_on_both(staff, claim_for):
    first = claim_for(staff["m1"], admit=D(2026, 3, 1), event=D(2026, 3, 5))
    second = claim_for(staff["m1"], admit=D(2026, 3, 4), event=D(2026, 3, 8))
    claim_for(staff["m2"], admit=D(2026, 3, 1), event=D(2026, 3, 5))  # another member
    assert linked(first, "overlap") == [second.pk] and linked(second, "overlap") == [first.pk]
    flag = flags_for(first)[0]
    assert flag.label == "同一会员同一项目日期重叠" and "2026-03-04 至 2026-03-08" in flag.detail
    assert flagged(Claim.objects.all(), "overlap") == {first.pk, second.pk}


@pytest.mark.parametrize(("admit", "event"), [
    (D(2026, 3, 5), D(2026, 3, 9)),  # admitted the day the first stay ended (a transfer)
    (D(2026, 3, 6), D(2026, 3, 9)),  # the next day
])
def test_adjacent_stays_do_not_overlap(staff, claim_for, admit, event):
    first = claim_for(staff["m1"], admit=D(2026, 3, 1), event=D(2026, 3, 5), diagnosis="S72")
    second = claim_for(staff["m1"], admit=admit, event=event, diagnosis="J18")
    assert codes(first) == [] and codes(second) == []
    assert flagged(Claim.objects.all(), "overlap") == set()


def test_two_claims_without_a_stay_on_one_day_overlap(staff, claim_for):
    first = claim_for(staff["m1"], event=D(2026, 3, 5), diagnosis="")
    second = claim_for(staff["m1"], event=D(2026, 3, 5), diagnosis="")
    other_day = claim_for(staff["m1"], event=D(2026, 3, 6), diagnosis="")
    during = claim_for(staff["m2"], event=D(2026, 3, 3), diagnosis="")
    stay = claim_for(staff["m2"], admit=D(2026, 3, 1), event=D(2026, 3, 5), diagnosis="")
    assert linked(first, "overlap") == [second.pk] and codes(other_day) == []
    assert linked(during, "overlap") == [stay.pk]
    assert flagged(Claim.objects.all(), "overlap") == {first.pk, second.pk, during.pk, stay.pk}


def test_overlap_is_only_for_the_same_benefit_of_the_same_scheme(staff, claim_for,
                                                                premium_scheme):
    """Issue 21: a 住院津贴 for the stay a 住院医疗互助金 pays, or a second scheme's
    benefit for it (every proactive run files several), is not an overlap."""
    aid = claim_for(staff["m1"], admit=D(2026, 3, 1), event=D(2026, 3, 5))
    allowance = claim_for(staff["m1"], admit=D(2026, 3, 1), event=D(2026, 3, 5),
                          benefit="hospital_allowance")
    other_scheme = claim_for(staff["m1"], admit=D(2026, 3, 1), event=D(2026, 3, 5),
                             scheme=premium_scheme)
    assert codes(aid) == codes(allowance) == codes(other_scheme) == []
    assert flagged(Claim.objects.all(), "overlap") == set()
    again = claim_for(staff["m1"], admit=D(2026, 3, 3), event=D(2026, 3, 9),
                      benefit="hospital_allowance")
    assert linked(again, "overlap") == [allowance.pk]
    assert flagged(Claim.objects.all(), "overlap") == {allowance.pk, again.pk}


def material(claim: Claim, content: str, kind: str = "invoice") -> None:
    import hashlib

    from huzhu.claims.models import ClaimMaterial

    ClaimMaterial.objects.create(claim=claim, kind=kind, file_name=f"{kind}.pdf",
                                 stored_path="/nonexistent", content_type="application/pdf",
                                 size=1, sha256=hashlib.sha256(content.encode()).hexdigest(),
                                 uploaded_by=claim.filed_by)


def test_the_same_material_file_in_another_members_claim(users, staff, claim_for):
    mine = claim_for(staff["m1"], diagnosis="", event=D(2026, 3, 1))
    theirs = claim_for(staff["m2"], diagnosis="", event=D(2026, 4, 1))
    own_again = claim_for(staff["m1"], diagnosis="", event=D(2026, 5, 1))
    material(mine, "发票扫描件")
    material(own_again, "发票扫描件")  # the member's own other claim: not the signal
    material(theirs, "另一张发票")
    assert codes(mine) == [] and flagged(Claim.objects.all(), "shared_material") == set()
    material(theirs, "发票扫描件", kind="discharge")
    assert linked(mine, "shared_material") == [theirs.pk]
    assert linked(theirs, "shared_material") == [mine.pk, own_again.pk]
    flag = next(f for f in flags_for(theirs) if f.code == "shared_material")
    assert flag.label == "材料文件与其他会员的理赔相同"
    assert flag.detail == "有材料文件与其他会员的 2 笔理赔中的文件内容完全相同"
    assert flagged(Claim.objects.all(), "shared_material") == {mine.pk, theirs.pk,
                                                               own_again.pk}
    apply(users["clerk_a1"], theirs.pk, "withdraw")
    assert codes(mine) == [] and flagged(Claim.objects.all(), "shared_material") == {theirs.pk}


def test_the_queue_filters_on_a_shared_material(client, users, staff, claim_for):
    mine = claim_for(staff["m1"], diagnosis="")
    theirs = claim_for(staff["m2"], diagnosis="")
    claim_for(staff["m3"], diagnosis="")
    material(mine, "同一文件")
    material(theirs, "同一文件")
    client.login(username="reviewer_da", password=PASSWORD)
    page = client.get(reverse("claims:queue"), {"flag": "shared_material"}).content.decode()
    assert '<option value="shared_material" selected>材料文件与其他会员的理赔相同</option>' in page
    assert page.count('id="claim-row-') == 2


# ------------------------------------------------------------------ invoice

def test_the_same_invoice_in_another_members_claim(staff, file_hospital):
    mine = file_hospital(staff["m1"], invoice_number="FP2026-0001")
    theirs = file_hospital(staff["a2x"], invoice_number="FP2026-0001")
    other = file_hospital(staff["m2"], invoice_number="FP2026-0002")
    assert linked(mine, "invoice") == [theirs.pk] and linked(theirs, "invoice") == [mine.pk]
    assert flags_for(mine)[0].detail == "发票号 FP2026-0001 另见于 1 笔理赔"
    assert codes(other) == []
    assert flagged(Claim.objects.all(), "invoice") == {mine.pk, theirs.pk}


def test_claims_without_an_invoice_number_are_not_duplicates(staff, claim_for):
    a = claim_for(staff["m1"], invoice="")
    claim_for(staff["m2"], invoice="")
    assert codes(a) == [] and flagged(Claim.objects.all(), "invoice") == set()


# ------------------------------------------------------------------ readmission

@pytest.mark.parametrize(("readmitted_on", "expected"), [
    (D(2026, 3, 5), True),   # the same day
    (D(2026, 3, 12), True),  # 7 days after discharge
    (D(2026, 3, 13), False),  # 8 days
])
def test_readmission_within_seven_days_for_the_same_category(staff, claim_for, readmitted_on,
                                                             expected):
    first = claim_for(staff["m1"], admit=D(2026, 3, 1), event=D(2026, 3, 5), diagnosis="I21.0")
    again = claim_for(staff["m1"], admit=readmitted_on,
                      event=readmitted_on + dt.timedelta(days=4), diagnosis="E11.9;I21.9")
    assert ("readmission" in codes(again)) is expected
    assert ("readmission" in codes(first)) is expected  # both of the split stay
    assert flagged(Claim.objects.all(), "readmission") == ({first.pk, again.pk} if expected
                                                           else set())


def test_readmission_needs_a_shared_category_and_the_same_member(staff, claim_for):
    claim_for(staff["m1"], admit=D(2026, 3, 1), event=D(2026, 3, 5), diagnosis="I21.0")
    other_category = claim_for(staff["m1"], admit=D(2026, 3, 8), event=D(2026, 3, 10),
                               diagnosis="I25.1")
    other_member = claim_for(staff["m2"], admit=D(2026, 3, 8), event=D(2026, 3, 10),
                             diagnosis="I21.0")
    assert codes(other_category) == [] and codes(other_member) == []
    assert flagged(Claim.objects.all(), "readmission") == set()


def test_a_withdrawn_claim_counts_for_nothing(users, staff, claim_for):
    mine = claim_for(staff["m1"], admit=D(2026, 3, 1), event=D(2026, 3, 5), invoice="FP9")
    for admit, event in ((D(2026, 3, 3), D(2026, 3, 6)), (D(2026, 3, 8), D(2026, 3, 9))):
        claim_for(staff["m1"], admit=admit, event=event, invoice="FP9", state=S.WITHDRAWN)
    assert codes(mine) == []
    for code in FLAG_LABELS:
        assert mine.pk not in flagged(Claim.objects.all(), code)


# ------------------------------------------------------------------ unusual amount

def _history(claim_for, member, amounts, **facts):
    for amount in amounts:
        claim_for(member, amount=str(amount), **{"state": S.PAID, "event": D(2025, 6, 1),
                                                 **facts})


@pytest.mark.parametrize(("history", "expected"), [(20, True), (19, False)])
def test_an_amount_far_above_the_usual_needs_twenty_approved_claims(staff, claim_for, history,
                                                                    expected):
    _history(claim_for, staff["m2"], [1000] * history, diagnosis="I21.4")
    claim = claim_for(staff["m1"], amount="3000.01", diagnosis="I21.9;E11")
    assert ("unusual_amount" in codes(claim)) is expected
    assert (claim.pk in flagged(Claim.objects.all(), "unusual_amount")) is expected
    if expected:
        flag = flags_for(claim)[0]
        assert flag.claims == [] and flag.detail == (
            "金额 3,000.01 元，超过同诊断（I21）20 笔已审批理赔中位数 1,000.00 元的 3 倍")


def test_three_times_the_median_exactly_is_not_unusual(staff, claim_for):
    _history(claim_for, staff["m2"], [*[900] * 10, *[1100] * 10])  # median 1,000 (even)
    at = claim_for(staff["m1"], amount="3000.00")
    above = claim_for(staff["m1"], amount="3000.01", event=D(2026, 4, 20))
    assert codes(at) == [] and codes(above) == ["unusual_amount"]
    assert flagged(Claim.objects.all(), "unusual_amount") == {above.pk}


def test_a_claim_of_the_history_is_compared_with_the_others_only(staff, claim_for):
    _history(claim_for, staff["m2"], [*[1000] * 10, *[1300] * 10])
    paid = claim_for(staff["m1"], state=S.PAID, amount="3500.00")  # others' median 1,150
    pending = claim_for(staff["m3"], amount="3500.00")  # the 21 paid: median 1,300
    higher = claim_for(staff["m4"], amount="3900.01")
    assert codes(paid) == ["unusual_amount"] and codes(pending) == []
    assert codes(higher) == ["unusual_amount"]
    assert flagged(Claim.objects.all(), "unusual_amount") == {paid.pk, higher.pk}


def test_a_claim_of_the_history_needs_twenty_others(staff, claim_for):
    _history(claim_for, staff["m2"], [1000] * 19)
    paid = claim_for(staff["m1"], state=S.PAID, amount="9000.00")  # 19 others
    pending = claim_for(staff["m3"], amount="9000.00")  # 20 approved
    assert codes(paid) == [] and codes(pending) == ["unusual_amount"]
    assert flagged(Claim.objects.all(), "unusual_amount") == {pending.pk}


def test_the_queue_compares_with_a_snapshot_at_most_ten_minutes_old(staff, claim_for):
    _history(claim_for, staff["m2"], [1000] * 20)
    claim = claim_for(staff["m1"], amount="3500.00")
    assert flagged(Claim.objects.all(), "unusual_amount") == {claim.pk}
    norm = ClaimAmountNorm.objects.get()
    assert (norm.category, norm.n, norm.median, norm.threshold) == ("I21", 20, 1000, 3000)
    assert norm.threshold_in_history is None  # 19 others: too few
    _history(claim_for, staff["m2"], [1200] * 21)  # the median is now 1,200: 3,600
    assert codes(claim) == []  # the claim page computes live
    assert flagged(Claim.objects.all(), "unusual_amount") == {claim.pk}  # the snapshot lags
    ClaimAmountNorm.objects.update(computed_at=norm.computed_at - MAX_AGE)
    assert flagged(Claim.objects.all(), "unusual_amount") == set()


def test_the_usual_amount_is_per_benefit_scheme_and_main_category(staff, claim_for,
                                                                  premium_scheme):
    _history(claim_for, staff["m2"], [1000] * 25, diagnosis="J18.0")  # another category
    _history(claim_for, staff["m2"], [1000] * 25, benefit="critical")  # another benefit
    _history(claim_for, staff["m2"], [1000] * 25, scheme=premium_scheme)  # another scheme
    _history(claim_for, staff["m2"], [1000] * 25, state=S.SUBMITTED)  # not approved
    second_code = claim_for(staff["m1"], amount="9000.00", diagnosis="E11.9;J18.0",
                            event=D(2026, 4, 20))
    claim = claim_for(staff["m1"], amount="9000.00")
    assert codes(claim) == [] and codes(second_code) == []
    assert flagged(Claim.objects.all(), "unusual_amount") == set()


# ------------------------------------------------------------------ both forms agree

@pytest.mark.parametrize("seed", [1, 2, 3])
def test_with_flag_equals_flags_for_on_a_mixed_set(staff, claim_for, make_member,
                                                   premium_scheme, seed):
    rng = random.Random(seed)
    members = [staff["m1"], staff["m2"], staff["m3"], staff["a2x"], make_member("b1")]
    states = [S.DRAFT, S.SUBMITTED, S.SECOND_REVIEW, S.APPROVED, S.PAID, S.REJECTED,
              S.WITHDRAWN]
    # An approved history of 20–23 per group, whose own outliers test leaving oneself out.
    for diagnosis in ("I21.9", "C50.1"):
        for _ in range(rng.randint(20, 23)):
            amount = rng.choice([800, 1000, 1200, 5000, 9000])
            claim_for(rng.choice(members), diagnosis=diagnosis, state=rng.choice(
                [S.APPROVED, S.IN_BATCH, S.PAID]), amount=f"{amount}.00",
                event=D(2024, 1, 1) + dt.timedelta(days=rng.randrange(700)))
    for _ in range(60):
        event = D(2026, 3, 1) + dt.timedelta(days=rng.randrange(40))
        admit = rng.choice([None, event - dt.timedelta(days=rng.randrange(10))])
        claim_for(rng.choice(members), event=event, admit=admit,
                  diagnosis=rng.choice(["I21.9", "I21.0;E11.9", "E11.2", "C50.1", "", "J18"]),
                  invoice=rng.choice(["", "", "FP1", "FP2", f"FP-{rng.randrange(1000)}"]),
                  state=rng.choice(states), scheme=rng.choice([None, None, premium_scheme]),
                  amount=rng.choice([None, "500.00", "2999.99", "3600.00", "27000.00"]))
    files = [f"文件{n}" for n in range(12)]
    for claim in Claim.objects.order_by("id")[::3]:
        for _ in range(rng.randint(1, 2)):
            material(claim, rng.choice(files), kind=rng.choice(["invoice", "discharge"]))
    everything = Claim.objects.all()
    expected = {code: set() for code in FLAG_LABELS}
    for claim in everything:
        for code in codes(claim):
            expected[code].add(claim.pk)
    assert all(expected.values()), expected  # each flag occurs in the set
    subset = Claim.objects.filter(state__in=[S.SUBMITTED, S.APPROVED, S.PAID])
    inside = set(subset.values_list("pk", flat=True))
    for code in FLAG_LABELS:
        assert flagged(everything, code) == expected[code], code
        assert flagged(subset, code) == expected[code] & inside, code
    assert flag_counts(subset) == {code: len(expected[code] & inside) for code in FLAG_LABELS}


def test_an_unknown_flag_filters_nothing(staff, claim_for):
    claim_for(staff["m1"])
    assert with_flag(Claim.objects.all(), "nonsense").count() == 1


# ------------------------------------------------------------------ the claim page's panel

def test_the_panel_links_claims_in_scope_and_counts_the_others(users, staff, claim_for,
                                                               make_member):
    mine = claim_for(staff["m1"], invoice="FP7", admit=D(2026, 3, 1), event=D(2026, 3, 5))
    near = claim_for(staff["m1"], admit=D(2026, 3, 4), event=D(2026, 3, 6))
    elsewhere = claim_for(make_member("b1"), invoice="FP7")
    request = RequestFactory().get("/")
    request.user = users["reviewer_da"]
    context = flags.panel(request, mine)
    shown = {f["code"]: f for f in context["flags"]}
    # Another union's claim with the same invoice number leaves no trace for this
    # reviewer: no count, no signal (it told a clerk the number was in use elsewhere).
    assert shown["overlap"]["claims"] == [near]
    assert "invoice" not in shown
    from django.template.loader import render_to_string

    html = render_to_string("claims/_flags.html", context, request)
    assert near.number in html and elsewhere.number not in html
    assert "不在您的管辖范围内" not in html and "发票号重复" not in html
    request.user = users["admin_city"]
    assert flags.panel(request, mine)["flags"][1]["claims"] == [elsewhere]
    quiet = render_to_string("claims/_flags.html",
                             flags.panel(request, claim_for(staff["m4"])), request)
    assert "未发现" in quiet


# ------------------------------------------------------------------ follow-up list

@pytest.fixture
def large(staff, claim_for, make_member):
    """Approved and later claims around the 10,000 line, in districts A and B."""
    return {
        "at_line": claim_for(staff["m1"], state=S.APPROVED, amount="10000.00"),
        "above": claim_for(staff["m1"], state=S.APPROVED, amount="10000.01"),
        "paid": claim_for(staff["m2"], state=S.PAID, amount="40000.00"),
        "in_review": claim_for(staff["m3"], state=S.SECOND_REVIEW, amount="40000.00"),
        "rejected": claim_for(staff["m3"], state=S.REJECTED, amount="40000.00"),
        "district_b": claim_for(make_member("b1"), state=S.IN_BATCH, amount="20000.00"),
    }


def _listed(user) -> set[str]:
    return {c.number for c in followup.follow_up(user)}


def test_the_list_holds_approved_claims_strictly_above_ten_thousand_in_scope(users, large):
    n = {k: c.number for k, c in large.items()}
    assert _listed(users["admin_city"]) == {n["above"], n["paid"], n["district_b"]}
    assert _listed(users["reviewer_da"]) == {n["above"], n["paid"]}
    assert _listed(users["finance_city"]) == _listed(users["auditor_city"]) == _listed(
        users["admin_city"])
    with pytest.raises(PermissionDenied):
        followup.follow_up(users["clerk_a1"])


def test_recording_the_call_takes_the_claim_off_the_list_and_is_audited(users, large):
    claim = large["above"]
    done = followup.mark_called(users["reviewer_da"], claim, "  已电话联系单位王科长，\n情况属实 ")
    assert done.called_by == users["reviewer_da"]
    assert done.note == "已电话联系单位王科长， 情况属实"  # one line, spaces folded
    assert claim.number not in _listed(users["reviewer_da"])
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CLAIM_CHANGED, object_id=str(claim.pk))
    assert "登记大额回访" in entry.summary and entry.actor == users["reviewer_da"]
    assert entry.union_path == claim.member.union.path
    assert claim.history.get(action="follow_up").note.startswith("已回访单位：")
    with pytest.raises(ClaimRefused, match="已登记过回访"):
        followup.mark_called(users["admin_city"], claim, "再打一次")


def test_who_may_record_a_call_and_for_which_claims(users, large):
    with pytest.raises(ClaimRefused, match="只有审核员和管理员"):
        followup.mark_called(users["finance_city"], large["above"], "已联系")
    with pytest.raises(ClaimRefused, match="管辖范围"):
        followup.mark_called(users["reviewer_da"], large["district_b"], "已联系")
    with pytest.raises(ClaimRefused, match=r"未超过 10,000\.00 元"):
        followup.mark_called(users["admin_city"], large["at_line"], "已联系")
    with pytest.raises(ClaimRefused, match="审批通过后"):
        followup.mark_called(users["admin_city"], large["in_review"], "已联系")
    with pytest.raises(ClaimRefused, match="请填写回访情况"):
        followup.mark_called(users["admin_city"], large["above"], "   ")
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.CLAIM_CHANGED).exists()


def test_a_claim_approved_through_the_workflow_joins_the_list(users, staff, file_hospital):
    claim = file_hospital(staff["m1"], out_of_pocket="400000.00")  # 10% = 40,000
    apply(users["clerk_a1"], claim.pk, "submit")
    apply(users["reviewer_da"], claim.pk, "first_pass")
    assert claim.number not in _listed(users["admin_city"])
    apply(users["admin_city"], claim.pk, "approve")
    assert claim.number in _listed(users["reviewer_da"])


# ------------------------------------------------------------------ pages and the export

def _client(client, users, name):
    client.login(username=users[name].username, password=PASSWORD)
    return client


def test_the_list_page_by_role(client, users, large):
    page = _client(client, users, "reviewer_da").get(reverse("claims:follow-up"))
    html = page.content.decode()
    assert page.status_code == 200 and large["above"].number in html
    assert large["district_b"].number not in html and large["at_line"].number not in html
    assert "共 2 条" in html and 'name="note"' in html and "导出 Excel" in html
    client.logout()
    finance = _client(client, users, "finance_city").get(reverse("claims:follow-up"))
    assert finance.status_code == 200 and 'name="note"' not in finance.content.decode()
    client.logout()
    assert _client(client, users, "clerk_a1").get(reverse("claims:follow-up")).status_code == 403


def test_recording_a_call_from_the_page(client, users, large):
    url = reverse("claims:follow-up-called", args=[large["above"].pk])
    reviewer = _client(client, users, "reviewer_da")
    assert reviewer.get(url).status_code == 405
    response = reviewer.post(url, {"note": "已联系单位工会主席，情况属实"}, follow=True)
    assert "已登记理赔" in response.content.decode()
    assert large["above"].number not in _listed(users["reviewer_da"])
    outside = reverse("claims:follow-up-called", args=[large["district_b"].pk])
    assert reviewer.post(outside, {"note": "x"}).status_code == 404


def test_the_export_is_an_xlsx_of_the_list(client, users, large, staff):
    from openpyxl import load_workbook

    unit = staff["m1"].unit
    unit.contact_name, unit.contact_phone = "王科长", "0431-88886666"
    unit.save()
    reviewer = _client(client, users, "reviewer_da")
    assert reviewer.get(reverse("claims:follow-up-export")).status_code == 405
    response = reviewer.post(reverse("claims:follow-up-export"))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:8] == ("理赔编号", "会员姓名", "单位", "单位联系人", "单位联系电话", "保障项目",
                           "金额（元）", "状态")
    by_number = {r[0]: r for r in rows[1:]}
    assert set(by_number) == {large["above"].number, large["paid"].number}
    above = by_number[large["above"].number]
    assert above[1:8] == ("赵一", unit.name, "王科长", "0431-88886666", "住院医疗补贴", 10000.01,
                          "已审批待给付")
    assert AuditEntry.objects.filter(action=AuditEntry.Action.FILE_DOWNLOADED,
                                     summary__contains="大额回访名单 2 条").exists()


def test_the_history_query_can_use_the_history_index(db, changchun):
    """The main category's positions are in the SQL, not bound: SQLite keeps bound ones
    as ``?``, and its query then no longer matched the index's expression (a full scan
    of the claims for each claim page)."""
    from django.db import connection

    from huzhu.claims import flags

    qs = flags._history(changchun.pk, "hospital", "I21").values_list("final", flat=True)
    sql, params = qs.query.sql_with_params()
    assert "1, 3))" in sql and "I21" in params and 3 not in params
    if connection.vendor == "sqlite":
        # INDEXED BY fails ("no query solution") when the index cannot serve the query,
        # whatever the planner would pick on an empty table.
        forced = sql.replace('FROM "claims_claim"',
                             'FROM "claims_claim" INDEXED BY claims_history_norm', 1)
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {forced}", params)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
        assert "claims_history_norm" in plan and "<expr>=?" in plan, plan
