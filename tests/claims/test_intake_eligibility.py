"""Issue 21, item 7: eligibility before materials. The intake page says, for the event
date and before any fact or upload, which benefits apply and why not the others — in
the engine's words (status, age, waiting period) or the enrolment's (未参加, 未缴费)."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from huzhu.claims import intake
from huzhu.claims.models import Claim
from huzhu.coverage import enrolment
from huzhu.coverage.models import Enrolment
from tests.claims.test_views import login

D = dt.date


def intake_page(client, member, day="2026-03-10", **params) -> str:
    return login(client, "clerk_a1").get(reverse("claims:new", args=[member.pk]),
                                         {"day": day, **params}).content.decode()


def test_a_member_who_left_is_told_why_and_offered_nothing(client, users, staff, changchun):
    page = intake_page(client, staff["left"])
    assert 'id="claim-offers"' not in page and 'id="no-offers"' in page
    assert ('<li class="list-group-item text-secondary" id="closed-changchun-2023-hospital">'
            f'住院医疗补贴 <span class="small">（{changchun.name}）</span>：'
            '会员状态不符合条件（须为在职）</li>') in page
    assert "非工伤意外伤害补贴" in page and "家庭财产火灾损失补贴" in page
    # The benefit cannot be filed by posting its form either: nothing is created.
    response = login(client, "clerk_a1").post(
        reverse("claims:new", args=[staff["left"].pk]),
        {"day": "2026-03-10", "benefit": "changchun-2023:hospital", "event_date": "2026-03-10",
         "admit_date": "2026-03-01", "out_of_pocket": "12000.00", "diagnosis": "I21.9"})
    assert response.status_code == 200 and Claim.objects.count() == 0


def test_an_active_member_is_offered_every_benefit(client, users, staff, changchun):
    found = intake.eligibility(staff["m1"], D(2026, 3, 10))
    assert [o.benefit.code for o in found.offers] == ["hospital", "accident", "fire"]
    assert found.closed == [] and found.warnings == []
    page = intake_page(client, staff["m1"])
    assert 'id="offer-changchun-2023-hospital"' in page and 'id="claim-closed"' not in page


def test_an_unpaid_premium_scheme_says_so(client, users, units, staff, period, changchun):
    enrolment.enrol_unit(users["clerk_a1"], period, units["a1"], on=D(2026, 2, 1))
    page = intake_page(client, staff["m1"])
    assert (f'id="closed-ningshan-test">{period.scheme.name}的全部项目：'
            '未缴费：已参保，待单位缴费后生效</li>') in page
    assert 'id="offer-changchun-2023-hospital"' in page  # the free scheme still applies


def test_a_premium_scheme_not_joined(client, users, staff, period, changchun):
    found = intake.eligibility(staff["m1"], D(2026, 3, 10))
    closed = [(c.scheme.code, c.benefit, c.reason) for c in found.closed]
    assert closed == [("ningshan-test", None, "未参加2026年度")]


def test_the_waiting_period_is_named_with_its_last_day(client, users, units, staff, period):
    enrolment.enrol_unit(users["clerk_a1"], period, units["a1"], on=D(2026, 2, 1))
    Enrolment.objects.filter(member=staff["m1"]).update(
        state=Enrolment.State.ACTIVE, coverage_from=D(2026, 3, 1), first_enrolled=D(2026, 3, 1),
        paid_on=D(2026, 3, 1))
    found = intake.eligibility(staff["m1"], D(2026, 3, 10))
    reasons = {c.benefit.code: c.reason for c in found.closed}
    assert reasons["hospital_aid"] == ("处于等待期内（等待期至 2026-05-29，"
                                       "首次参保后 90 天内不给付）")
    assert [o.benefit.code for o in found.offers] == ["accident"]
    page = intake_page(client, staff["m1"])
    assert "重大疾病互助金" in page and "处于等待期内（等待期至 2026-08-27" in page


def test_an_event_before_the_member_joined_is_pointed_out(client, users, staff, changchun):
    member = staff["m1"]
    member.joined_on = D(2026, 4, 1)
    member.save()
    page = intake_page(client, member)
    assert ('id="claim-warning-1">事件日期早于会员的入会日期（2026-04-01），'
            '请核对事件日期和入会日期</div>') in page
