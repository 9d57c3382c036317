"""A clerk's day in real Chromium: log in, find a member, open the record, import a file."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from huzhu.demo import generator
from huzhu.members.idcard import make_id_number
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
    page.fill("#member-search", member.id_number[-4:])
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


def _members_csv(path, unit, rows) -> None:
    lines = ["姓名,身份证号,手机号,单位统一社会信用代码,入会日期,状态,职业类别"]
    lines += [f"{name},{number},{phone},{unit.uscc},2024-03-01,在职,医务人员"
              for name, number, phone in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")


def _upload(page, path) -> None:
    page.click("#nav-import")
    page.wait_for_selector("#import-form")
    page.check("input[name=kind][value=members]")
    page.set_input_files("#id_file", str(path))
    page.click("#import-submit")
    # The job page polls its progress fragment until the job has finished.
    page.wait_for_selector("#import-progress[data-status=done], "
                           "#import-progress[data-status=failed]")


def test_import_a_small_csv_file(page, demo_city, settings, tmp_path, screenshot):
    # The web server runs the job in the request instead of handing it to a worker.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    clerk = User.objects.get(username="clerk")
    unit = clerk.union.units.order_by("id").first()
    good = [("欧阳春晓", make_id_number("220104", dt.date(1988, 4, 9), 123), "13904310001"),
            ("司马建华", make_id_number("220182", dt.date(1979, 10, 21), 246), "13904310002")]
    before = Member.objects.count()
    login(page, "clerk", generator.DEMO_PASSWORD)

    # A file with one bad check digit imports nothing and names the row and column.
    bad_number = good[1][1][:-1] + ("0" if good[1][1][-1] != "0" else "1")
    bad = tmp_path / "会员-有错误.csv"
    _members_csv(bad, unit, [good[0], (good[1][0], bad_number, good[1][2])])
    _upload(page, bad)
    assert page.locator("#import-progress").get_attribute("data-status") == "failed"
    error_row = page.locator("#import-errors tbody tr").first
    assert "会员-有错误.csv" in error_row.inner_text()
    assert "3" in error_row.locator("td").nth(1).inner_text()  # header is row 1
    assert "校验位" in error_row.inner_text()
    assert Member.objects.count() == before
    screenshot(page, "import-errors-clerk")

    # The corrected file goes in.
    fixed = tmp_path / "会员.csv"
    _members_csv(fixed, unit, good)
    _upload(page, fixed)
    assert page.locator("#import-progress").get_attribute("data-status") == "done"
    assert page.locator("#count-created").inner_text().strip() == "2"
    screenshot(page, "import-done-clerk")
    assert Member.objects.count() == before + 2
    imported = Member.find_by_id_number(good[0][1])
    assert imported.unit_id == unit.pk and imported.occupation == "medical"

    # And the clerk finds the new member by name.
    page.click("#nav-members")
    page.fill("#member-search", "欧阳")
    page.click("#member-search-submit")
    page.locator(f"#member-row-{imported.pk}").wait_for()
