"""Every shipped benefit, filed through the web form and submitted: the amount the claim
records is the amount the independent reference evaluator (tests/rules/reference.py)
gives for the facts the registry exports for it. This ties the generated form, the facts
stored, the engine inputs built from the database and the engine together, benefit by
benefit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow.parquet as pq
import pytest
from django.urls import reverse

from huzhu.claims.models import Claim
from huzhu.claims.workflow import apply
from huzhu.cli import main
from huzhu.coverage import enrolment, premiums, schemes
from huzhu.coverage.models import Enrolment, PremiumNotice
from huzhu.members.idcard import make_id_number
from huzhu.rules.loader import load_policy
from tests.claims.conftest import add_materials
from tests.fixtures import PASSWORD
from tests.rules import reference

D = dt.date
# Each policy on a day it is in force: Guangdong's campaign ran in 2020, so its claims
# are filed late, with a reviewer's exception.
SHIPPED = {"changchun-2023": D(2026, 4, 20), "ningshan-2024": D(2026, 4, 20),
           "yongding-2020": D(2026, 4, 20), "guangdong-covid-2020": D(2020, 2, 15)}


def _diagnosis(benefit) -> str:
    e = benefit.eligibility
    codes = e.diagnosis or (e.diagnosis_versions[-1].codes if e.diagnosis_versions else [])
    code = next((c for c in codes if len(c) >= 3), "I21")
    return code if "." in code else f"{code}.9"


def _facts(benefit, fields: list[str], day: dt.date) -> dict[str, str]:
    """A plausible answer to each question the benefit's form asks."""
    answers = {
        "admit_date": (day - dt.timedelta(days=12)).isoformat(), "days": "12",
        "hospital": "长春市中心医院", "invoice_number": f"W-{benefit.code}",
        "out_of_pocket": "23456.78", "total_cost": "45678.90", "loss_amount": "50000.00",
        "diagnosis": _diagnosis(benefit), "outcome": "disability", "disability_grade": "5",
        "fracture_site": "", "work_related": "no", "on_duty": "yes",
        "relation": "spouse", "relative_name": "配偶甲", "co_resident": "yes",
        "relative_id_number": make_id_number("220102", D(1982, 2, 2), 7),
        "certificate_no": "长公消认字〔2026〕第12号",
    }
    return {name: answers[name] for name in fields}


def _scheme(admin, tree, units, clerk, policy_name: str, year: int):
    scheme = schemes.create_scheme(admin, union=tree["city"], policy_name=policy_name,
                                   code=f"web-{policy_name}")
    premium = Decimal("150.00") if scheme.needs_enrolment else Decimal("0")
    period = schemes.create_period(admin, scheme, name=f"{year}年度", start=D(year, 1, 1),
                                   end=D(year, 12, 31), premium=premium,
                                   enrol_from=D(year, 1, 1), enrol_until=D(year, 3, 31))
    if scheme.needs_enrolment:
        enrolment.enrol_unit(clerk, period, units["a1"], on=D(year, 1, 5))
        notice = PremiumNotice.objects.get(period=period, unit=units["a1"])
        premiums.register_payment(admin, notice.pk, amount=notice.amount_due,
                                  paid_on=D(year, 1, 6), bank_reference="W-1")
        # Long-standing members: no waiting period hides the formula behind a zero.
        Enrolment.objects.filter(period=period).update(first_enrolled=D(2019, 1, 1))
    return scheme


@pytest.mark.parametrize("policy_name", list(SHIPPED))
def test_each_shipped_benefit_filed_through_the_web_is_paid_what_the_reference_says(
        policy_name, client, users, tree, units, staff, tmp_path):
    from huzhu.claims.intake import claim_form, needed_fields
    from huzhu.members.models import Member

    admin, clerk, day = users["admin_city"], users["clerk_a1"], SHIPPED[policy_name]
    scheme = _scheme(admin, tree, units, clerk, policy_name, day.year)
    # The campaign is for medical and CDC staff; the others' policies ignore occupation.
    Member.objects.filter(pk__in=[m.pk for m in staff.values()]).update(occupation="medical")
    policy = load_policy(policy_name)
    assert client.login(username="clerk_a1", password=PASSWORD)
    filed = {}
    for benefit in policy.benefits:
        gender = benefit.eligibility.gender
        member = next(m for m in staff.values() if m.status == "active" and (
            not gender or m.gender in gender))
        fields = [n for n in needed_fields(benefit) if n in claim_form(benefit).fields]
        response = client.post(reverse("claims:new", args=[member.pk]), {
            "day": day.isoformat(), "benefit": f"{scheme.code}:{benefit.code}",
            "event_date": day.isoformat(), **_facts(benefit, fields, day)})
        assert response.status_code == 302, (benefit.code, response.content.decode()[-2000:])
        claim = Claim.objects.get(scheme=scheme, benefit=benefit.code)
        add_materials(claim, clerk)
        if day.year < 2026:
            apply(users["reviewer_da"], claim.pk, "late_exception", reason="疫情期间材料延后提交")
        apply(clerk, claim.pk, "submit")
        filed[claim.number] = Claim.objects.get(pk=claim.pk)

    assert main(["export", "engine", "--scheme", scheme.code, "--out", str(tmp_path)]) == 0
    members = pq.read_table(tmp_path / "members.parquet").to_pylist()
    events = pq.read_table(tmp_path / "events.parquet").drop_columns(
        ["claim_id", "state", "computed", "final"]).to_pylist()
    enrolments = pq.read_table(tmp_path / "enrolments.parquet").to_pylist() \
        if (tmp_path / "enrolments.parquet").exists() else []
    # Each claim on its own, as it was computed on submit: none sees the others' money,
    # but a claim sees the submitted claims of the event its benefit requires (a
    # relative's relief, the staff member's own infection), as a batch sees every event.
    for event in events:
        need = policy.benefit(event["benefit"]).eligibility.requires
        proof = [e for e in events if need and e["benefit"] == need.benefit
                 and e["member_id"] == event["member_id"]]
        rows = reference.evaluate(policy, members, [*proof, event], enrolments)
        row = next(r for r in rows if r["event_id"] == event["event_id"])
        claim = filed[event["event_id"]]
        assert claim.computed == (row.get("payable") or Decimal("0.00")), (
            claim.benefit, row)
    # Not all zeros: each policy pays something for these facts.
    assert any(c.computed > 0 for c in filed.values())


@pytest.mark.parametrize(("days", "expected"), [
    ("25", None),          # 25 days in a 10-day stay: refused, nothing filed
    ("", 10),              # blank: from the dates, 算入不算出
    ("6", 6),              # fewer: the clerk's call
    ("10", 10),
])
def test_days_in_hospital_come_from_the_dates_and_may_be_fewer_never_more(
        days, expected, client, users, tree, units, staff):
    """A hospital allowance with 25 days for a 10-day stay (2026-11-10 → 11-20, as the
    probe filed it; here in April, before the claims tests' today) was paid 880.00."""
    admin, clerk = users["admin_city"], users["clerk_a1"]
    scheme = _scheme(admin, tree, units, clerk, "ningshan-2024", 2026)
    assert client.login(username="clerk_a1", password=PASSWORD)
    response = client.post(reverse("claims:new", args=[staff["m1"].pk]), {
        "day": "2026-04-20", "benefit": f"{scheme.code}:hospital_allowance",
        "event_date": "2026-04-20", "admit_date": "2026-04-10", "days": days,
        "hospital": "长春市中心医院", "invoice_number": "W-1", "diagnosis": "I21.9"})
    if expected is None:
        assert response.status_code == 200
        assert "住院天数 25 天多于入院（2026-04-10）到出院（2026-04-20）的 10 天" in \
            response.content.decode()
        assert not Claim.objects.exists()
    else:
        assert response.status_code == 302, response.content.decode()[-1500:]
        assert Claim.objects.get().days == expected
