"""Coverage in real Chromium, as three users: a clerk enrols a unit, finance registers
the premium, and the member page shows the member covered."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from huzhu.coverage import schemes
from huzhu.coverage.models import Enrolment, PremiumNotice
from huzhu.members.models import Member
from huzhu.orgs.models import User
from tests.browser.conftest import login
from tests.fixtures import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def open_period(transactional_db, users, units, make_member):
    today = dt.date.today()
    for i in range(3):
        make_member("a1", name=f"甲一会员{i}")
    scheme = schemes.create_scheme(users["admin_city"], union=units["a1"].union.parent.parent,
                                   policy_name="ningshan-2024")
    return schemes.create_period(users["admin_city"], scheme, name=f"{today.year}年度",
                                 start=dt.date(today.year, 1, 1),
                                 end=dt.date(today.year, 12, 31), premium=Decimal("150.00"),
                                 enrol_from=dt.date(today.year, 1, 1), enrol_until=today)


def test_clerk_enrols_finance_pays_member_is_covered(page, open_period, users, units,
                                                     screenshot):
    for user in User.objects.all():  # the fixture users, with names the UI can show
        user.display_name = {"clerk_a1": "张经办", "finance_city": "李财务"}.get(
            user.username, "工作人员")
        user.save()
    login(page, "clerk_a1", PASSWORD)
    page.click("#nav-coverage")
    page.click(f"text={open_period.name}")
    page.click(f"#unit-row-{units['a1'].pk} a")
    page.once("dialog", lambda d: d.accept())
    page.click("#enrol-unit")
    page.wait_for_selector("#notice-due")
    assert page.locator("#notice-due").inner_text() == "450.00 元"
    assert Enrolment.objects.filter(period=open_period).count() == 3
    screenshot(page, "coverage-unit-clerk")
    page.click("#logout-button")

    login(page, "finance_city", PASSWORD)
    notice = PremiumNotice.objects.get()
    page.goto(f"/coverage/periods/{open_period.pk}/units/{units['a1'].pk}/")
    page.fill("#id_amount", "450.00")
    page.fill("#id_bank_reference", "ICBC-20260301-01")
    page.click("#payment-save")
    page.wait_for_selector("#notice-state")
    assert page.locator("#notice-state").inner_text() == "已缴清"
    notice.refresh_from_db()
    assert notice.amount_paid == Decimal("450.00")
    page.click("#logout-button")

    login(page, "clerk_a1", PASSWORD)
    member = Member.objects.filter(unit=units["a1"]).order_by("id").first()
    page.goto(f"/members/{member.pk}/")
    row = page.locator("#member-coverage .coverage-row").first
    assert "保障中" in row.inner_text() and open_period.scheme.name in row.inner_text()
    screenshot(page, "coverage-member-clerk")
