"""Correcting a draft or returned claim's facts (issue 20, finding 5): the filer edits them
with the filing form's checks, each change is written old → new to the claim's history
and the audit log, and the engine computes the corrected facts on submit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from huzhu.audit.models import AuditEntry
from huzhu.claims import duplicates, editing
from huzhu.claims.models import Claim, ClaimEvent
from huzhu.claims.workflow import ClaimRefused, apply
from tests.claims.conftest import add_materials
from tests.claims.test_amounts import _scheme
from tests.fixtures import PASSWORD

D = dt.date
pytestmark = pytest.mark.django_db


def login(client, username):
    client.logout()
    assert client.login(username=username, password=PASSWORD)
    return client


def as_posted(claim: Claim) -> dict[str, str]:
    """What the edit page's form sends back unchanged: its initial values and version."""
    form = editing.form_for(claim)
    data = {}
    for name, field in form.fields.items():
        value = form.get_initial_for_field(field, name)
        data[name] = value.isoformat() if isinstance(value, dt.date) else (
            "" if value is None else str(value))
    data["version"] = editing.version(claim)
    return data


def post_edit(client, claim: Claim, **changes):
    data = {**as_posted(Claim.objects.get(pk=claim.pk)), **changes}
    return client.post(reverse("claims:edit", args=[claim.pk]), data)


def edits(claim: Claim) -> list[str]:
    return list(ClaimEvent.objects.filter(claim=claim, action="edit")
                .order_by("id").values_list("note", flat=True))


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def allowance(users, tree, units, staff, client):
    """Ningshan's hospital allowance (40 a day from the fourth day), filed through the web
    by clerk_a1 for 2026-04-09 → 04-20 (11 days), materials attached."""
    scheme = _scheme(users["admin_city"], tree, units, users["clerk_a1"], "ningshan-2024", 2026)
    c = login(client, "clerk_a1")
    response = c.post(reverse("claims:new", args=[staff["m1"].pk]), {
        "day": "2026-04-20", "benefit": f"{scheme.code}:hospital_allowance",
        "event_date": "2026-04-20", "admit_date": "2026-04-09", "days": "",
        "hospital": "长春市中心医院", "invoice_number": "W-1", "diagnosis": "I21.9"})
    assert response.status_code == 302, response.content.decode()[-1500:]
    claim = Claim.objects.get(scheme=scheme)
    add_materials(claim, users["clerk_a1"])
    return claim


def test_an_edit_writes_each_change_old_to_new_to_the_history_and_the_audit_log(
        client, users, staff, file_hospital):
    claim = file_hospital(staff["m1"])
    c = login(client, "clerk_a1")
    page = c.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert reverse("claims:edit", args=[claim.pk]) in page and "修改事件信息" in page
    form = c.get(reverse("claims:edit", args=[claim.pk])).content.decode()
    assert 'value="12000.00"' in form and 'value="2026-03-05"' in form
    response = post_edit(c, claim, out_of_pocket="8000.5", hospital="长春市中心医院",
                         admit_date="2026-03-06")
    assert response.status_code == 302 and response.url == reverse("claims:detail",
                                                                    args=[claim.pk])
    assert said(response) == ["已修改：入院日期、医院、医保报销后个人现金支付"]
    claim.refresh_from_db()
    assert claim.out_of_pocket == Decimal("8000.50") and claim.admit_date == D(2026, 3, 6)
    assert edits(claim) == ["修改入院日期：2026-03-05 → 2026-03-06",
                            "修改医院：空 → 长春市中心医院",
                            "修改医保报销后个人现金支付：12,000.00 → 8,000.50"]
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.CLAIM_CHANGED,
                                      object_id=str(claim.pk)).latest("id")
    assert entry.actor == users["clerk_a1"]
    assert entry.changes == {"入院日期": ["2026-03-05", "2026-03-06"],
                             "医院": ["空", "长春市中心医院"],
                             "医保报销后个人现金支付": ["12,000.00", "8,000.50"]}
    assert "修改事件信息，入院日期：2026-03-05 → 2026-03-06" in entry.summary
    page = c.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert "修改医保报销后个人现金支付：12,000.00 → 8,000.50" in page
    # The same form sent again changes nothing and records nothing.
    audits = AuditEntry.objects.count()
    again = post_edit(c, claim)
    assert said(again) == ["没有修改任何内容"]
    assert len(edits(claim)) == 3 and AuditEntry.objects.count() == audits


def test_a_returned_claim_edited_and_resubmitted_is_computed_from_the_edited_facts(
        client, users, allowance):
    """Fewer days than the stay (the clerk's call) lower the amount on resubmission."""
    clerk, reviewer = users["clerk_a1"], users["reviewer_da"]
    claim = apply(clerk, allowance.pk, "submit")
    assert claim.days == 11 and claim.computed == Decimal("320.00")  # (11 - 3) × 40
    apply(reviewer, claim.pk, "return", missing=[], note="住院天数请按病历核对")
    c = login(client, "clerk_a1")
    response = post_edit(c, claim, days="6")
    assert said(response) == ["已修改：住院天数"]
    claim.refresh_from_db()
    # The old amount described the old facts: cleared until the engine computes again.
    assert claim.days == 6 and claim.computed is None and claim.computation == {}
    assert edits(claim) == ["修改住院天数：11 → 6",
                            "原测算金额 320.00 元作废，提交审核时按修改后的信息重新测算"]
    claim = apply(clerk, claim.pk, "submit")
    assert claim.state == Claim.State.SUBMITTED and claim.computed == Decimal("120.00")
    assert claim.computation["days_paid"] == 3


def test_moving_the_event_date_checks_the_cover_of_the_new_day(client, users, allowance):
    c = login(client, "clerk_a1")
    # Before the 2026 period: the member has no cover that day; nothing changes.
    body = post_edit(c, allowance, event_date="2025-12-20", admit_date="2025-12-10",
                     days="").content.decode()
    assert "2025-12-20 该会员没有“住院津贴”的保障" in body
    allowance.refresh_from_db()
    assert allowance.event_date == D(2026, 4, 20) and edits(allowance) == []
    # Within cover: the days follow the new dates when left blank, as in filing.
    response = post_edit(c, allowance, event_date="2026-04-18", days="")
    assert said(response) == ["已修改：出院日期、住院天数"]
    allowance.refresh_from_db()
    assert allowance.event_date == D(2026, 4, 18) and allowance.days == 9
    assert allowance.period.name == "2026年度"
    assert edits(allowance) == ["修改出院日期：2026-04-20 → 2026-04-18", "修改住院天数：11 → 9"]


@pytest.mark.parametrize(("field", "value", "error"), [
    ("days", "25",
     "住院天数 25 天多于入院（2026-04-09）到出院（2026-04-20）的 11 天（算入不算出）"),
    ("days", "abc", "住院天数应为整数天"),
    ("days", "-1", "住院天数至少 1 天"),
    ("days", "3651", "住院天数最多 3650 天"),
    ("event_date", "2099-01-01", "事件日期不能晚于今天"),
    ("admit_date", "2099-01-01", "入院日期不能晚于出院日期"),
    ("event_date", "abc", "输入一个有效的日期。"),
    ("diagnosis", "心梗", "诊断编码 心梗 格式不对，应形如 C50.9"),
])
def test_bad_facts_are_refused_as_filing_refuses_them(client, allowance, field, value, error):
    c = login(client, "clerk_a1")
    response = post_edit(c, allowance, **{field: value})
    assert response.status_code == 200
    assert error in response.content.decode()
    before = Claim.objects.get(pk=allowance.pk)
    assert before.days == 11 and before.event_date == D(2026, 4, 20) and edits(before) == []


NOT_A_NUMBER = "医保报销后个人现金支付应为数字，如 1200 或 1200.50（不写逗号和单位）"


@pytest.mark.parametrize(("value", "error"), [
    ("NaN", NOT_A_NUMBER), ("sNaN", NOT_A_NUMBER), ("Infinity", NOT_A_NUMBER),
    ("-Infinity", NOT_A_NUMBER), ("abc", NOT_A_NUMBER), ("12,000", NOT_A_NUMBER),
    ("1e30", "医保报销后个人现金支付过大（最多 12 位整数）"),
    ("1000000000000", "医保报销后个人现金支付过大（最多 12 位整数）"),
    ("-1", "医保报销后个人现金支付不能小于零"),
    ("0.001", "医保报销后个人现金支付最多两位小数"),
])
def test_bad_amounts_are_refused(client, users, staff, file_hospital, value, error):
    claim = file_hospital(staff["m1"])
    c = login(client, "clerk_a1")
    response = post_edit(c, claim, out_of_pocket=value)
    assert response.status_code == 200
    assert error in response.content.decode()
    claim.refresh_from_db()
    assert claim.out_of_pocket == Decimal("12000.00") and edits(claim) == []


def test_another_unions_claim_is_not_found(client, users, staff, file_hospital):
    claim = file_hospital(staff["m1"])
    c = login(client, "clerk_b1")
    assert c.get(reverse("claims:edit", args=[claim.pk])).status_code == 404
    assert post_edit(c, claim, out_of_pocket="1.00").status_code == 404
    claim.refresh_from_db()
    assert claim.out_of_pocket == Decimal("12000.00") and edits(claim) == []


FILER_ONLY = "只有经办人本人（clerk_a1）可以修改事件信息：改过事实的人不能再审核它（双人审核）"


@pytest.mark.parametrize(("username", "refusal"), [
    ("reviewer_da", FILER_ONLY),
    ("admin_city", FILER_ONLY),
    ("auditor_city", "您的角色不能修改理赔"),
    ("finance_city", "您的角色不能修改理赔"),
])
def test_only_the_filer_may_edit(client, users, staff, file_hospital, username, refusal):
    claim = file_hospital(staff["m1"])
    data = as_posted(claim)
    c = login(client, username)
    page = c.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert reverse("claims:edit", args=[claim.pk]) not in page
    response = c.post(reverse("claims:edit", args=[claim.pk]),
                      {**data, "out_of_pocket": "99999.00"})
    assert response.status_code == 302 and said(response) == [refusal]
    claim.refresh_from_db()
    assert claim.out_of_pocket == Decimal("12000.00") and edits(claim) == []
    with pytest.raises(ClaimRefused, match="修改"):
        editing.edit(users[username], claim.pk, {"out_of_pocket": Decimal("1.00")},
                     data["version"])


@pytest.mark.parametrize("state", [Claim.State.SUBMITTED, Claim.State.SECOND_REVIEW,
                                   Claim.State.APPROVED, Claim.State.PAID,
                                   Claim.State.REJECTED, Claim.State.WITHDRAWN])
def test_a_claim_past_draft_and_return_is_not_editable(client, users, staff, file_hospital,
                                                        state):
    claim = file_hospital(staff["m1"])
    data = as_posted(claim)
    Claim.objects.filter(pk=claim.pk).update(state=state)
    c = login(client, "clerk_a1")
    label = Claim.State(state).label
    refusal = (f"理赔当前为“{label}”，不能修改事件信息：只有草稿和退回补充材料的理赔可以修改，"
               "已提交审核的须由审核员退回后再改")
    page = c.get(reverse("claims:edit", args=[claim.pk]), follow=True)
    assert page.redirect_chain == [(reverse("claims:detail", args=[claim.pk]), 302)]
    assert refusal in page.content.decode()
    response = c.post(reverse("claims:edit", args=[claim.pk]), {**data, "out_of_pocket": "1.00"})
    assert said(response) == [refusal]
    claim.refresh_from_db()
    assert claim.out_of_pocket == Decimal("12000.00") and edits(claim) == []


def test_an_edit_from_a_page_opened_before_another_edit_is_refused(client, users, staff,
                                                                  file_hospital):
    """Two tabs open on the edit page: the second save would silently undo the first."""
    claim = file_hospital(staff["m1"])
    opened = as_posted(claim)
    c = login(client, "clerk_a1")
    first = c.post(reverse("claims:edit", args=[claim.pk]), {**opened, "hospital": "甲医院"})
    assert said(first) == ["已修改：医院"]
    second = c.post(reverse("claims:edit", args=[claim.pk]),
                    {**opened, "out_of_pocket": "5000.00"})
    assert second.status_code == 200 and editing.STALE in second.content.decode()
    claim.refresh_from_db()
    assert claim.hospital == "甲医院" and claim.out_of_pocket == Decimal("12000.00")
    assert edits(claim) == ["修改医院：空 → 甲医院"]


def test_an_invoice_number_edited_to_another_claims_is_held_as_a_duplicate(
        client, users, staff, file_hospital):
    other = file_hospital(staff["m1"], invoice_number="INV-9", day=D(2026, 2, 10))
    claim = file_hospital(staff["m1"])
    assert duplicates.holding(claim) == []
    post_edit(login(client, "clerk_a1"), claim, invoice_number="INV-9")
    claim.refresh_from_db()
    assert duplicates.holding(claim) == [(other, "同一发票号 INV-9")]


def test_a_relatives_id_number_is_asked_again_only_to_change_the_relative(
        client, users, tree, staff):
    """The number is kept only as its keyed hash: blank keeps the relative, a number
    names another, and the history says so without the number."""
    from huzhu.claims import intake
    from huzhu.coverage import schemes
    from huzhu.members.idcard import make_id_number

    admin = users["admin_city"]
    scheme = schemes.create_scheme(admin, union=tree["city"],
                                   policy_name="guangdong-covid-2020", code="gd-edit")
    schemes.create_period(admin, scheme, name="2020年", start=D(2020, 1, 1),
                          end=D(2020, 12, 31), premium=Decimal("0"),
                          enrol_from=D(2020, 1, 1), enrol_until=D(2020, 12, 31))
    member = staff["m1"]
    offer = next(o for o in intake.offers(member, D(2020, 3, 1))
                 if o.benefit.code == "covid_relative")
    first = make_id_number("220102", D(1950, 1, 1), 1)
    claim = intake.file_claim(users["clerk_a1"], member, offer, {
        "event_date": D(2020, 3, 1), "relation": "parent", "co_resident": True,
        "relative_name": "亲属甲", "relative_id_number": first})
    key = claim.relative_key
    c = login(client, "clerk_a1")
    page = c.get(reverse("claims:edit", args=[claim.pk])).content.decode()
    assert "不改亲属请留空" in page and first not in page
    response = post_edit(c, claim, relation="spouse")
    assert said(response) == ["已修改：与会员的关系"]
    claim.refresh_from_db()
    assert claim.relation == "spouse" and claim.relative_key == key
    post_edit(c, claim, relative_id_number=make_id_number("220102", D(1952, 2, 2), 3))
    claim.refresh_from_db()
    assert claim.relative_key != key
    assert edits(claim) == ["修改与会员的关系：父母 → 配偶",
                            "修改亲属身份证号：原亲属 → 另一位亲属（号码不保存）"]
    assert first not in str(AuditEntry.objects.latest("id").changes)


@pytest.mark.parametrize("policy_name", ["changchun-2023", "ningshan-2024", "yongding-2020",
                                         "guangdong-covid-2020"])
def test_every_shipped_benefits_form_sent_back_unchanged_changes_nothing(
        client, users, tree, units, staff, policy_name):
    """The edit page shows each fact as the form takes it (yes/no, grades, words), so
    saving it untouched finds nothing changed, benefit by benefit."""
    from huzhu.claims.intake import claim_form, needed_fields
    from huzhu.members.models import Member
    from huzhu.rules.loader import load_policy
    from tests.claims.test_amounts import SHIPPED, _facts

    day = SHIPPED[policy_name]
    scheme = _scheme(users["admin_city"], tree, units, users["clerk_a1"], policy_name,
                     day.year)
    Member.objects.filter(pk__in=[m.pk for m in staff.values()]).update(occupation="medical")
    c = login(client, "clerk_a1")
    for benefit in load_policy(policy_name).benefits:
        gender = benefit.eligibility.gender
        member = next(m for m in staff.values() if m.status == "active" and (
            not gender or m.gender in gender))
        fields = [n for n in needed_fields(benefit) if n in claim_form(benefit).fields]
        filed = c.post(reverse("claims:new", args=[member.pk]), {
            "day": day.isoformat(), "benefit": f"{scheme.code}:{benefit.code}",
            "event_date": day.isoformat(), **_facts(benefit, fields, day)})
        assert filed.status_code == 302, benefit.code
        claim = Claim.objects.get(scheme=scheme, benefit=benefit.code)
        response = post_edit(c, claim)
        assert said(response)[-1] == "没有修改任何内容", (benefit.code, said(response))
        assert edits(claim) == []
