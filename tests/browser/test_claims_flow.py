"""One hospital claim from intake to paid in real Chromium, as four different users: a
clerk files it (through the form generated from the policy) with real files as materials
and submits it; the first reviewer returns it for a material once, then passes it; a
second reviewer approves it (four eyes: neither the clerk nor the first reviewer may);
finance builds the payout batch, downloads the bank file and confirms it paid. The
member page, the claim page and the audit log then show what happened."""

from __future__ import annotations

import datetime as dt
import re
import struct
import zlib
from decimal import Decimal

import pytest

from huzhu.audit.models import AuditEntry
from huzhu.claims.models import Claim, ClaimEvent, Payout
from huzhu.coverage import schemes
from huzhu.notify.models import OutboxMessage
from huzhu.orgs.models import User
from tests.browser.conftest import login
from tests.fixtures import PASSWORD

pytestmark = pytest.mark.browser

OUT_OF_POCKET = "30000.00"  # (20,000–50,000] is paid at 3 %: the whole base
AMOUNT = "900.00"
ACCOUNT = "6222020200112233445"
NAMES = {"clerk_a1": "张经办", "reviewer_da": "王初审", "reviewer_city": "赵复审",
         "finance_city": "李财务", "admin_city": "陈管理"}


def pdf(text: str) -> bytes:
    """A small, well-formed one-page PDF (its cross-reference offsets are right)."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real PNG (a scan's stand-in): one colour, every chunk's CRC right."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.fixture
def hospital_case(transactional_db, users, tree, units, make_member):
    """Changchun's free subsidies at the city (a period for this year), a member of the
    clerk's unit with a bank account, and a second reviewer at the city."""
    for user in User.objects.all():
        user.display_name = NAMES.get(user.username, "工作人员")
        user.save()
    User.objects.create_user("reviewer_city", password=PASSWORD, role="reviewer",
                             union=tree["city"], display_name=NAMES["reviewer_city"])
    scheme = schemes.create_scheme(users["admin_city"], union=tree["city"],
                                   policy_name="changchun-2023")
    day = dt.date.today() - dt.timedelta(days=3)
    schemes.create_period(users["admin_city"], scheme, name=f"{day.year}年",
                          start=dt.date(day.year, 1, 1), end=dt.date(day.year, 12, 31),
                          premium=Decimal("0"), enrol_from=dt.date(day.year, 1, 1),
                          enrol_until=dt.date(day.year, 12, 31))
    make_member("a1", name="刘其他")  # the search has to pick the right one
    member = make_member("a1", name="孙住院", phone="13900001111")
    member.set_bank_account(ACCOUNT)
    member.save()
    return {"member": member, "scheme": scheme, "day": day}


def state_is(page, label: str) -> None:
    page.wait_for_function(
        "label => document.querySelector('#claim-state')?.textContent.trim() === label",
        arg=label)


def upload(page, kind: str, path) -> None:
    before = page.locator("#materials-table tbody tr").count()
    page.select_option("#material-kind", kind)
    page.set_input_files("#material-file", str(path))
    page.click("#material-submit")
    page.locator("#materials-table tbody tr").nth(before).wait_for()
    assert page.locator("#materials-error").count() == 0


def switch(page, username: str) -> None:
    page.click("#logout-button")
    page.wait_for_url(re.compile(r"/login/"))
    login(page, username, PASSWORD)


def test_hospital_claim_from_intake_to_paid(page, hospital_case, tmp_path, screenshot):
    member, scheme, day = (hospital_case[k] for k in ("member", "scheme", "day"))
    files = {"invoice": ("发票.pdf", pdf("Invoice FP-2026-0001 30000.00")),
             "discharge_summary": ("出院小结.pdf", pdf("Discharge summary I21.9")),
             "settlement_statement": ("医保结算单.pdf", pdf("Settlement statement")),
             "id_card": ("身份证.png", png(64, 40, (200, 180, 160))),
             "bank_card": ("银行卡.png", png(64, 40, (30, 60, 150))),
             "rescan": ("医保结算单重扫.png", png(120, 160, (250, 250, 245)))}
    paths = {}
    for kind, (name, data) in files.items():
        paths[kind] = tmp_path / name
        paths[kind].write_bytes(data)

    # 1. The clerk finds the member, files the claim through the generated form, uploads
    # the materials and submits.
    login(page, "clerk_a1", PASSWORD)
    page.click("#nav-members")
    page.fill("#member-search", "孙住院")
    page.click("#member-search-submit")
    page.locator(f"#member-row-{member.pk} a.member-link").click()
    page.wait_for_url(re.compile(rf"/members/{member.pk}/$"))
    page.click("#claim-new")
    page.fill("#claim-day-input", day.isoformat())
    page.click("#claim-day button")
    page.click("#claim-offers >> text=住院医疗补贴")
    page.wait_for_selector("#claim-form")
    labels = page.locator("#claim-form label").all_inner_texts()
    assert any("个人现金支付" in t for t in labels) and any("诊断" in t for t in labels)
    assert not any("伤残" in t or "火灾" in t for t in labels)  # the hospital benefit's facts
    page.fill("#id_admit_date", (day - dt.timedelta(days=8)).isoformat())
    page.fill("#id_hospital", "长春市第一人民医院")
    page.fill("#id_invoice_number", "FP-2026-0001")
    page.fill("#id_out_of_pocket", OUT_OF_POCKET)
    page.fill("#id_diagnosis", "I21.9")
    page.click("#claim-save")
    page.wait_for_url(re.compile(r"/claims/\d+/$"))
    claim = Claim.objects.get(member=member)
    assert claim.state == "draft" and claim.out_of_pocket == Decimal(OUT_OF_POCKET)
    assert page.locator("#materials-missing").is_visible()
    for kind in ("invoice", "discharge_summary", "settlement_statement", "id_card"):
        upload(page, kind, paths[kind])
    page.click("#do-submit")  # one still missing: refused, and says which
    assert "银行卡" in page.locator("#step-error").inner_text()
    upload(page, "bank_card", paths["bank_card"])
    page.wait_for_selector("#materials-complete")
    page.click("#do-submit")
    state_is(page, "待初审")
    assert page.locator("#computed").inner_text() == f"{AMOUNT} 元"
    # 计算过程 in sentences a clerk can check with a calculator, the band in words.
    assert "超过 20,000.00 元至 50,000.00 元（含）一档" in page.locator("#computation").inner_text()
    screenshot(page, "claim-submitted-clerk")

    # 2. The first reviewer finds it in the queue and returns it for a clearer statement.
    switch(page, "reviewer_da")
    page.click("#nav-claims")
    page.click(f"#claim-row-{claim.pk} a")
    page.wait_for_selector("#do-first_pass")
    page.check("#step-return input[value=settlement_statement]")
    page.fill("#step-return input[name=note]", "医保结算单不清晰，请重新扫描")
    page.click("#do-return")
    state_is(page, "退回补充材料")

    # 3. The clerk uploads it again and resubmits.
    switch(page, "clerk_a1")
    page.goto(f"/claims/{claim.pk}/")
    assert "医保结算单" in page.locator("#claim-actions .alert-warning").inner_text()
    upload(page, "settlement_statement", paths["rescan"])
    page.click("#do-submit")
    state_is(page, "待初审")

    # 4. First review; the first reviewer may not also approve.
    switch(page, "reviewer_da")
    page.goto(f"/claims/{claim.pk}/")
    page.click("#do-first_pass")
    state_is(page, "待复审")
    assert page.locator("#do-approve").count() == 0

    # Nor may the clerk who filed it.
    switch(page, "clerk_a1")
    page.goto(f"/claims/{claim.pk}/")
    assert page.locator("#do-approve").count() == 0

    # 5. A second reviewer approves.
    switch(page, "reviewer_city")
    page.goto(f"/claims/{claim.pk}/")
    page.click("#do-approve")
    state_is(page, "已审批待给付")
    assert page.locator("#final").inner_text().startswith(f"{AMOUNT} 元")
    screenshot(page, "claim-approved-reviewer")

    # 6. Finance: the batch, the bank file, the payment.
    switch(page, "finance_city")
    page.click("#nav-payouts")
    page.click(f"#build-{scheme.code}")
    page.wait_for_selector("#export-form")
    # The full numbers are asked for, with a purpose (the box is not ticked by default).
    page.check("#export-full")
    page.fill("#export-purpose", "报送银行办理代发")
    with page.expect_download() as info:
        page.click("#export-submit")
    bank_file = tmp_path / "bank.xlsx"
    info.value.save_as(bank_file)
    import openpyxl

    cells = [[str(c) for c in row if c is not None]
             for row in openpyxl.load_workbook(bank_file).active.iter_rows(values_only=True)]
    ours = [row for row in cells if claim.number in row]
    assert len(ours) == 1 and member.name in ours[0] and ACCOUNT in ours[0]
    assert any(AMOUNT in c or c == "900" or c == "900.0" for c in ours[0])
    page.click("#pay-submit")
    page.wait_for_function(
        "() => document.querySelector('#batch-state')?.textContent.trim() === '已完成'")
    payout = Payout.objects.get(claim=claim)
    assert payout.state == "paid" and payout.amount == Decimal(AMOUNT)

    # 7. What everyone sees afterwards: the member page, the claim page, the audit log.
    switch(page, "admin_city")
    page.goto(f"/members/{member.pk}/")
    claims_card = page.locator("#member-claims").inner_text()
    assert "已给付" in claims_card and AMOUNT in claims_card
    page.goto(f"/claims/{claim.pk}/")
    state_is(page, "已给付")
    assert page.locator("#final").inner_text().startswith(f"{AMOUNT} 元")
    history = page.locator("#claim-history").inner_text()
    for who in ("张经办", "王初审", "赵复审", "李财务"):
        assert who in history
    page.goto(f"/audit/?object={claim.pk}")
    audit = page.locator("#audit-table").inner_text()
    for step in ("提交审核", "退回补充材料", "初审通过", "复审通过"):
        assert step in audit, step
    screenshot(page, "claim-paid-audit")

    steps = list(ClaimEvent.objects.filter(claim=claim).values_list("action", flat=True))
    assert steps == ["file", "submit", "return", "submit", "first_pass", "approve", "batch",
                     "pay"]
    assert AuditEntry.objects.filter(object_id=str(claim.pk)).count() >= 7
    texts = " ".join(OutboxMessage.objects.filter(member=member).values_list("text", flat=True))
    assert AMOUNT in texts
