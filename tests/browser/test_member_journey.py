"""A member's journey on a phone (375 × 812, touch) in real Chromium, with the union's
staff at their desks: the member signs in with the code the outbox holds (and, on a new
phone, the ID number's last six), sees their cover and a paid claim's 计算过程, files a
hospital claim with two photographs; the clerk completes and submits it; a reviewer
rejects it; the member asks for 复核 with a reason; a reviewer who took no part changes
the decision within the time limit; finance pays the whole amount through a payout
batch; the member sees it paid, with the date and the account's last four digits.

With ``HUZHU_DOC_SCREENSHOTS=1`` the phone's pages are also saved as
docs/screenshots/member-*.png (the README's pictures of the members' pages).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.cache import cache

from huzhu.claims import intake, payouts
from huzhu.claims.models import Appeal, Claim, Payout
from huzhu.claims.payouts.files import write_bank_file
from huzhu.claims.workflow import apply
from huzhu.coverage import schemes
from huzhu.notify.models import OutboxMessage
from huzhu.orgs.models import User
from tests.browser.conftest import login
from tests.browser.test_claims_flow import pdf, png, state_is, upload
from tests.claims.conftest import add_materials
from tests.fixtures import PASSWORD

pytestmark = pytest.mark.browser

PHONE = "13800138001"
ACCOUNT = "6222020200112345678"
OUT_OF_POCKET = "30000.00"  # (20,000–50,000] is paid at 3 %: the whole base
AMOUNT = "900.00"
PAID_BEFORE = "240.00"  # 12,000.00 at 2 %
NAMES = {"clerk_a1": "张经办", "reviewer_da": "王初审", "reviewer_city": "赵复核",
         "finance_city": "李财务", "admin_city": "陈管理"}
PHONE_SIZE = {"width": 375, "height": 812}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def member_case(transactional_db, users, tree, units, make_member):
    """Changchun's free subsidies at the city (periods for the days used), a member of
    the clerk's unit with a phone and a bank account, a hospital claim of theirs paid
    last month (reviewed, approved and paid through a batch), and a reviewer at the city
    who takes no part in the claim filed below."""
    cache.clear()  # the sign-in throttles count in the cache
    for user in User.objects.all():
        user.display_name = NAMES.get(user.username, "工作人员")
        user.save()
    User.objects.create_user("reviewer_city", password=PASSWORD, role="reviewer",
                             union=tree["city"], display_name=NAMES["reviewer_city"])
    admin, finance = users["admin_city"], users["finance_city"]
    scheme = schemes.create_scheme(admin, union=tree["city"], policy_name="changchun-2023")
    today = dt.date.today()
    day, earlier = today - dt.timedelta(days=3), today - dt.timedelta(days=40)
    for year in sorted({day.year, earlier.year}):
        schemes.create_period(admin, scheme, name=f"{year}年", start=dt.date(year, 1, 1),
                              end=dt.date(year, 12, 31), premium=Decimal("0"),
                              enrol_from=dt.date(year, 1, 1), enrol_until=dt.date(year, 12, 31))
    member = make_member("a1", name="赵会员", phone=PHONE)
    member.set_bank_account(ACCOUNT)
    member.save()
    clerk = users["clerk_a1"]
    offer = next(o for o in intake.offers(member, earlier) if o.benefit.code == "hospital")
    paid = intake.file_claim(clerk, member, offer, {
        "event_date": earlier, "admit_date": earlier - dt.timedelta(days=6),
        "out_of_pocket": Decimal("12000.00"), "diagnosis": "J18.9",
        "hospital": "吉林大学第一医院", "invoice_number": "FP-2026-0100"})
    add_materials(paid, clerk)
    apply(clerk, paid.pk, "submit")
    apply(users["reviewer_da"], paid.pk, "first_pass")
    apply(admin, paid.pk, "approve")
    pay(finance, scheme, [paid.pk], today)
    yield {"member": member, "scheme": scheme, "day": day, "paid": paid, "today": today}
    cache.clear()


def pay(finance, scheme, claim_ids: list[int], day: dt.date):
    """Finance's week: the batch, its bank file (which records the account each payout
    goes to), and the bank's word that it was paid."""
    batch = payouts.build_batch(finance, scheme, claim_ids=claim_ids)
    write_bank_file(finance, batch)
    assert payouts.mark_paid(finance, batch, day) == len(claim_ids)
    return batch


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai",
                                  viewport=PHONE_SIZE, is_mobile=True, has_touch=True,
                                  base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def shoot(screenshot):
    """The var/screenshots/ copy always; with HUZHU_DOC_SCREENSHOTS=1 also the README's
    docs/screenshots/member-<name>.png (the page's full length at the phone's width)."""

    def take(page, name: str) -> None:
        screenshot(page, f"member-{name}")
        if os.environ.get("HUZHU_DOC_SCREENSHOTS") == "1":
            DOCS.mkdir(parents=True, exist_ok=True)
            small(page.screenshot(full_page=True), DOCS / f"member-{name}.png")

    return take


def small(png_bytes: bytes, path: Path) -> None:
    """A page's picture in 64 colours (text and the union's red stay sharp): a few
    tens of KB in the repository instead of 100–200."""
    from PIL import Image

    with Image.open(io.BytesIO(png_bytes)) as image:
        image.convert("RGB").quantize(colors=64).save(path, optimize=True)
    assert path.stat().st_size < 150_000, f"{path} is {path.stat().st_size} bytes"


def sign_in(page, member) -> None:
    """The phone, the code the outbox holds (as an admin or the demo's console reads
    it), and — a phone this member never signed in on — the ID number's last six."""
    page.goto("/member/login/")
    page.fill("#id_phone", member.phone)
    page.click("#send-code")
    page.wait_for_url(re.compile(r"/member/login/code/$"))
    message = OutboxMessage.objects.filter(to=member.phone, kind="portal.sign_in_code") \
        .latest("pk")
    code = message.params["code"]
    assert re.fullmatch(r"\d{6}", code) and code in message.text
    page.fill("#id_code", code)
    page.fill("#id_id_tail", member.id_number[-6:])
    page.click("#sign-in")
    page.wait_for_url(re.compile(r"/member/$"))


def test_a_member_files_appeals_and_is_paid_from_a_phone(page, phone, member_case, shoot,
                                                         tmp_path):
    member, scheme, day, paid_before = (member_case[k] for k in
                                        ("member", "scheme", "day", "paid"))
    photos = {"invoice": tmp_path / "IMG_0001.png", "discharge_summary": tmp_path / "IMG_0002.png"}
    photos["invoice"].write_bytes(png(90, 160, (245, 240, 230)))
    photos["discharge_summary"].write_bytes(png(90, 160, (230, 235, 245)))

    # 1. Signing in on the phone: the phone number, then the code and the ID's last six.
    phone.goto("/member/login/")
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE_SIZE["width"]
    shoot(phone, "sign-in")
    sign_in(phone, member)

    # 2. The cover: each benefit in plain words, this year's used and left under a cap.
    cover = phone.locator(f"#scheme-{scheme.code}").inner_text()
    assert "住院医疗补贴" in cover
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE_SIZE["width"]
    shoot(phone, "cover")

    # 3. The paid claim: the payment with the account's last four, and its 计算过程.
    phone.click("#nav-claims")
    phone.click(f"#claim-{paid_before.pk}")
    phone.wait_for_url(re.compile(rf"/member/claims/{paid_before.pk}/$"))
    assert phone.locator("#claim-state").inner_text() == "已给付"
    paid_text = phone.locator("#claim-paid").inner_text()
    assert f"给付 {PAID_BEFORE} 元，转入尾号 5678 的银行账号" in paid_text
    assert phone.locator("#computed").inner_text().startswith(PAID_BEFORE)
    assert "12,000.00" in phone.locator("#computation").inner_text()
    shoot(phone, "claim")

    # 4. Filing a hospital stay with two photographs of the materials.
    phone.click("#nav-new")
    phone.fill("#id_day", day.isoformat())
    phone.click("#claim-day-go")
    phone.click("#claim-offers >> text=住院医疗补贴")
    phone.wait_for_selector("#claim-form")
    assert phone.get_attribute("#m_invoice", "accept") == "image/*"
    assert phone.get_attribute("#m_invoice", "capture") == "environment"
    phone.fill("#id_admit_date", (day - dt.timedelta(days=8)).isoformat())
    phone.fill("#id_hospital", "长春市中心医院")
    phone.fill("#id_invoice_number", "FP-2026-0200")
    phone.fill("#id_out_of_pocket", OUT_OF_POCKET)
    phone.set_input_files("#m_invoice", str(photos["invoice"]))
    phone.set_input_files("#m_discharge_summary", str(photos["discharge_summary"]))
    shoot(phone, "filing")
    phone.click("#claim-submit")
    phone.wait_for_url(re.compile(r"/member/claims/\d+/$"))
    claim = Claim.objects.get(member=member, invoice_number="FP-2026-0200")
    assert (claim.state, claim.source) == ("draft", Claim.Source.MEMBER)
    assert sorted(claim.materials.values_list("kind", flat=True)) == [
        "discharge_summary", "invoice"]
    assert phone.locator("#claim-state").inner_text() == "待单位工会核对"

    # 5. The clerk (at a desk) finds it in the queue as a 会员自助申请, completes the
    # materials the member did not photograph, and submits it.
    login(page, "clerk_a1", PASSWORD)
    page.goto("/claims/?source=member")
    page.click(f"#claim-row-{claim.pk} a")
    page.wait_for_url(re.compile(rf"/claims/{claim.pk}/$"))
    for kind, name in (("settlement_statement", "医保结算单.pdf"), ("id_card", "身份证.pdf"),
                       ("bank_card", "银行卡.pdf")):
        if page.locator(f"#material-kind option[value={kind}]").count():
            path = tmp_path / name
            path.write_bytes(pdf(f"{kind} {claim.number}"))
            upload(page, kind, path)
    page.wait_for_selector("#materials-complete")
    page.click("#do-submit")
    state_is(page, "待初审")
    assert page.locator("#computed").inner_text() == f"{AMOUNT} 元"

    # 6. The district's reviewer rejects it (one step).
    page.click("#logout-button")
    login(page, "reviewer_da", PASSWORD)
    page.goto(f"/claims/{claim.pk}/")
    page.select_option("#step-reject select[name=reject_code]", "not_eligible")
    page.fill("#step-reject input[name=note]", "出院小结与发票日期不符")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#do-reject")
    state_is(page, "不予给付")

    # 7. The member reads why and asks for 复核 with a reason.
    phone.goto(f"/member/claims/{claim.pk}/")
    assert "出院小结与发票日期不符" in phone.locator("#claim-rejected").inner_text()
    phone.click("#claim-appeal")
    phone.wait_for_url(re.compile(rf"/member/claims/{claim.pk}/appeal/$"))
    phone.fill("#appeal-reason", "两份材料日期一致，是医院盖章时写错了日期，已重新盖章")
    shoot(phone, "appeal")
    phone.click("#appeal-go")
    phone.wait_for_selector(".card[id^=appeal-]")
    appeal = Appeal.objects.get(claim=claim)
    assert appeal.opened_by_member and appeal.is_open
    assert appeal.due_on >= member_case["today"]

    # 8. The rejecting reviewer may not decide; a reviewer who took no part changes it,
    # before the due date, through the 复核 queue.
    page.goto(f"/claims/{claim.pk}/")
    assert "您参与过这笔理赔的原决定" in page.locator("#appeal-refusal").inner_text()
    page.click("#logout-button")
    login(page, "reviewer_city", PASSWORD)
    page.goto("/claims/appeals/")
    assert claim.number in page.locator("#content").inner_text()
    page.goto(f"/claims/{claim.pk}/")
    page.check("#appeal-decide input[value=changed]")
    page.fill("#appeal-decide textarea[name=reason]", "医院已重新盖章，日期一致，住院属实")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#appeal-decide-go")
    state_is(page, "已审批待给付")
    appeal.refresh_from_db()
    assert appeal.state == Appeal.State.CHANGED and appeal.new_amount == Decimal(AMOUNT)
    assert appeal.decided_at.date() <= appeal.due_on

    # 9. Finance pays the difference (the whole amount: nothing was paid) in a batch.
    finance = User.objects.get(username="finance_city")
    batch = pay(finance, scheme, [claim.pk], member_case["today"])
    assert list(batch.payouts.values_list("amount", flat=True)) == [Decimal(AMOUNT)]
    assert Payout.objects.get(claim=claim, state="paid").amount == Decimal(AMOUNT)

    # 10. The member sees it paid: the date, the amount, the account's last four, and
    # the 复核 in the timeline with its reason.
    phone.goto(f"/member/claims/{claim.pk}/")
    assert phone.locator("#claim-state").inner_text() == "已给付"
    today = member_case["today"]
    assert phone.locator("#claim-paid").inner_text() == (
        f"已于 {today.year}年{today.month}月{today.day}日 给付 {AMOUNT} 元，"
        "转入尾号 5678 的银行账号。")
    timeline = phone.locator("#claim-timeline").inner_text()
    assert "医院已重新盖章，日期一致，住院属实" in timeline
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE_SIZE["width"]
    texts = list(OutboxMessage.objects.filter(member=member, kind__startswith="claims.")
                 .values_list("kind", flat=True))
    assert {"claims.appeal_opened", "claims.appeal_decided", "claims.paid"} <= set(texts)
