"""A clerk's day in real Chromium: log in, find a member, open the record, import a file."""

from __future__ import annotations

import re

import pytest

from huzhu.demo import generator
from huzhu.members.models import Member
from huzhu.orgs.models import User
from tests.browser.conftest import login

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_city(transactional_db):
    """A small demo city: the same generator ``huzhu demo`` runs, so pages look real."""
    return generator.generate(members=400, seed=1)


def _clerk_member(ctx) -> Member:
    clerk = User.objects.get(username="clerk")
    return (Member.objects.filter(union=clerk.union, status="active")
            .order_by("id").select_related("unit").first())


def test_login_search_and_open_member(page, demo_city, screenshot):
    member = _clerk_member(demo_city)
    login(page, "clerk", generator.DEMO_PASSWORD)

    clerk_union = User.objects.get(username="clerk").union
    assert page.locator("h1").first.inner_text().strip() == clerk_union.name
    expected = Member.objects.filter(union=clerk_union).count()
    assert page.locator("#count-members").inner_text().replace(",", "") == str(expected)
    screenshot(page, "home-clerk")

    page.click("#nav-members")
    page.wait_for_selector("#member-table")
    screenshot(page, "member-list-clerk")

    # Search by the last four digits of the ID number, as a clerk does on the phone.
    page.fill("#member-search", member.id_last4)
    page.click("#member-search-submit")
    row = page.locator(f"#member-row-{member.pk}")
    row.wait_for()
    assert member.name in row.inner_text()
    assert "********" in row.locator(".masked").inner_text()  # the clerk sees it masked

    row.locator("a.member-link").click()
    page.wait_for_url(re.compile(rf"/members/{member.pk}/$"))
    assert member.name in page.locator("#member-name").inner_text()
    assert page.locator("#member-id-masked").inner_text() == member.id_number_masked
    assert member.unit.name in page.locator("#member-detail").inner_text()
    screenshot(page, "member-detail-clerk")


def test_admin_home_and_member_list(page, demo_city, screenshot):
    login(page, "admin", generator.DEMO_PASSWORD)
    assert page.locator("#count-members").inner_text().replace(",", "") == "400"
    screenshot(page, "home-admin")
    page.click("#nav-members")
    page.wait_for_selector("#member-table")
    assert page.locator(".member-row").count() > 10
    screenshot(page, "member-list-admin")
