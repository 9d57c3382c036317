"""Cross-benefit discovery (根据病历挖掘其他险种的理赔, seed 001): under Ningshan's five
items a stay yields its hospital mutual aid and allowance, and — when its diagnoses fall
in the lists — a critical-illness or a female special-disease claim with the materials
it still needs; and the follow-up lists."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest

from huzhu.claims import computation
from huzhu.claims.models import Claim
from huzhu.feeds.models.proactive import StayOutcome
from huzhu.feeds.proactive.followups import counts as follow_up_counts
from huzhu.feeds.proactive.followups import follow_up, write_xlsx
from tests.coverage.conftest import admin, period, premium_scheme, staff  # noqa: F401
from tests.feeds.batch_helpers import enrol, feed_file, member_stay, outcomes, run_feed

pytestmark = pytest.mark.django_db
P = StayOutcome.Outcome


@pytest.fixture
def people(staff, period):  # noqa: F811
    women = [m for k, m in staff.items() if k.startswith("m") and m.gender == "F"]
    men = [m for k, m in staff.items() if k.startswith("m") and m.gender == "M"]
    assert women and len(men) >= 2
    for m in (women[0], *men[:2]):
        enrol(m, period)
    staff["a2x"].set_bank_account("6222020200112233445")
    staff["a2x"].save()
    return {"woman": women[0], "man": men[0], "man2": men[1], "unenrolled": staff["a2x"]}


def test_diagnoses_find_critical_illness_and_female_special(feed_dir, premium_scheme,  # noqa: F811
                                                              people):
    rows = [
        member_stay(people["woman"], "7000.00", diagnosis="C50.900", other_diagnosis=""),
        member_stay(people["man"], "7000.00", diagnosis="I21.900", other_diagnosis=""),
        member_stay(people["man2"], "7000.00", diagnosis="J18.900", other_diagnosis=""),
        member_stay(people["unenrolled"], "7000.00", diagnosis="C50.900", other_diagnosis=""),
    ]
    run = run_feed(feed_file(feed_dir, rows), premium_scheme).run
    got = {(r, b): (o, a, why) for r, b, o, a, why in outcomes(run)}
    assert set(got) == {
        (2, "critical_illness"), (2, "female_special"), (2, "hospital_aid"),
        (2, "hospital_allowance"),
        (3, "critical_illness"), (3, "hospital_aid"), (3, "hospital_allowance"),
        (4, "hospital_aid"), (4, "hospital_allowance"),  # J18: no list holds it
        (5, "critical_illness"), (5, "female_special"), (5, "hospital_aid"),
        (5, "hospital_allowance")}
    assert got[(2, "critical_illness")][:2] == (P.PROPOSED, Decimal("10000.00"))
    assert got[(2, "female_special")][:2] == (P.PROPOSED, Decimal("15000.00"))
    assert got[(2, "hospital_aid")][:2] == (P.PROPOSED, Decimal("3000.00"))  # (7000-1000)×50%
    assert got[(3, "critical_illness")][:2] == (P.PROPOSED, Decimal("10000.00"))
    # Not enrolled: not covered on that date (a man is first refused by his gender).
    assert {got[(5, b)][0] for b in ("critical_illness", "hospital_aid",
                                     "hospital_allowance")} == {P.NOT_COVERED}
    assert got[(5, "hospital_aid")][2] == "not_enrolled"
    assert got[(5, "female_special")][2] == (
        "not_enrolled" if people["unenrolled"].gender == "F" else "gender_not_eligible")
    found = StayOutcome.objects.filter(run=run, discovered=True, outcome=P.PROPOSED)
    assert found.count() == 3

    for claim in Claim.objects.filter(settlement__isnull=False):
        assert computation.compute(claim)["payable"] == claim.computed, claim.benefit
    critical = Claim.objects.get(member=people["woman"], benefit="critical_illness")
    # The settlement proves the stay, not the illness: certificate and record still needed.
    assert critical.missing_materials == ["diagnosis_certificate", "medical_record", "bank_card"]

    lists = {kind: n for kind, _, n in follow_up_counts(run)}
    assert lists["large"] == 1  # the 15,000 female special disease claim
    assert lists["no_bank"] == StayOutcome.objects.filter(run=run, outcome=P.PROPOSED).count()
    assert lists["materials"] == StayOutcome.objects.filter(run=run, outcome=P.PROPOSED).count()
    assert [o.benefit for o in follow_up(run, "large")] == ["female_special"]
    buffer = io.BytesIO()
    write_xlsx(run, "large", buffer)
    sheet = openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).active
    values = [c.value for c in sheet[2]]
    assert values[3] == people["woman"].name and values[6] == 15000  # a number, 0.00 shown
    assert values[5] == premium_scheme.policy().benefit("female_special").name  # not its code
    assert "重大疾病" not in values[9] and "诊断证明" in values[9]


def test_a_member_with_a_bank_account_needs_no_bank_card(feed_dir, premium_scheme, people,  # noqa: F811
                                                          period):  # noqa: F811
    enrol(people["unenrolled"], period)
    rows = [member_stay(people["unenrolled"], "7000.00", diagnosis="J18.900",
                        other_diagnosis="")]
    run = run_feed(feed_file(feed_dir, rows), premium_scheme).run
    claim = Claim.objects.get(settlement__isnull=False, benefit="hospital_aid")
    assert claim.missing_materials == []
    from huzhu.claims.materials.required import missing

    assert missing(claim) == []  # the claims app agrees: nothing to upload before review
    assert {kind: n for kind, _, n in follow_up_counts(run)}["no_bank"] == 0


def test_the_critical_illness_list_in_force_on_the_day(feed_dir, premium_scheme, people,  # noqa: F811
                                                       admin, monkeypatch):  # noqa: F811
    """U07.1 (COVID-19) joined the list on 2020-01-23: a stay discharged before that is
    not found under critical illness; one after is."""
    from huzhu.coverage import schemes

    old = schemes.create_period(admin, premium_scheme, name="2020年度",
                                start=dt.date(2020, 1, 1), end=dt.date(2020, 12, 31),
                                premium=Decimal("150.00"), enrol_from=dt.date(2020, 1, 1),
                                enrol_until=dt.date(2020, 3, 31))
    enrol(people["man"], old, first=dt.date(2019, 1, 1))
    rows = [
        member_stay(people["man"], "3000.00", diagnosis="U07.100", other_diagnosis="",
                    admit_date="2020-01-10", discharge_date="2020-01-20"),
        member_stay(people["man"], "3000.00", diagnosis="U07.100", other_diagnosis="",
                    admit_date="2020-02-01", discharge_date="2020-02-10"),
    ]
    run = run_feed(feed_file(feed_dir, rows), premium_scheme).run
    benefits = {r: [b for rr, b, *_ in outcomes(run) if rr == r] for r in (2, 3)}
    assert "critical_illness" not in benefits[2]
    assert "critical_illness" in benefits[3]
