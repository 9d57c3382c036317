"""The member pages on a phone (375 × 812, Chromium): sign in with the code from the
outbox, see the cover, file a hospital claim with two photographs from the camera input;
no page is wider than the screen."""

from __future__ import annotations

import pytest

from huzhu.claims.models import Claim
from tests.claims.materials.test_materials import jpeg, png
from tests.portal.conftest import (  # noqa: F401  (fixtures)
    PHONE,
    admin,
    changchun,
    free_scheme,
    fresh_throttles,
    last_code,
    member,
    private_uploads,
    today,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTH = 375


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai",
                                  viewport={"width": WIDTH, "height": 812}, is_mobile=True,
                                  has_touch=True, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def _fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"{page.url} is {width}px wide"


def test_member_signs_in_sees_cover_and_files_with_photos(phone, member, changchun,  # noqa: F811
                                                          tmp_path, screenshot):
    page = phone
    page.goto("/member/")
    page.wait_for_url("**/member/login/")
    _fits(page)
    page.fill("#id_phone", PHONE)
    page.click("#send-code")
    page.wait_for_url("**/member/login/code/")
    _fits(page)
    page.fill("#id_code", last_code(PHONE))
    page.fill("#id_id_tail", member.id_number[-6:])
    page.click("#sign-in")
    page.wait_for_url(lambda url: url.endswith("/member/"))
    assert "还可用 50,000.00 元" in page.inner_text("#content")
    _fits(page)
    screenshot(page, "member-cover")

    page.click("#nav-new")
    page.fill("#id_day", "2026-03-10")
    page.click("#claim-day-go")
    page.get_by_text("住院医疗补贴").first.click()
    page.wait_for_selector("#claim-form")
    _fits(page)
    page.fill("#id_admit_date", "2026-03-05")
    page.fill("#id_out_of_pocket", "12000.00")
    page.fill("#id_invoice_number", "INV-PHONE-1")
    first, second = tmp_path / "发票.jpg", tmp_path / "出院小结.png"
    first.write_bytes(jpeg())
    second.write_bytes(png())
    page.set_input_files("#m_invoice", str(first))
    page.set_input_files("#m_discharge_summary", str(second))
    page.click("#claim-submit")
    page.wait_for_selector("#claim-timeline")
    claim = Claim.objects.get()
    assert claim.source == Claim.Source.MEMBER and claim.materials.count() == 2
    assert "申请已提交" in page.inner_text("#messages")
    _fits(page)
    screenshot(page, "member-claim")
    for link in ("#nav-claims", "#nav-bank"):
        page.click(link)
        page.wait_for_load_state()
        _fits(page)
