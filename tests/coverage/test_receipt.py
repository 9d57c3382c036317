"""The receipt (缴费收据) of a notice paid in full: its Chinese text, amounts with two places
and in words, each payment; refused before the notice is paid; downloadable only by those
who may see the notice (another district's clerk: 404), each download on the audit log."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from huzhu.audit.models import AuditEntry
from huzhu.coverage import enrolment, pdf, premiums
from huzhu.coverage.models import PremiumNotice
from huzhu.lib.errors import Refused
from tests.conftest import missing
from tests.coverage.conftest import TODAY
from tests.coverage.test_pdf import flat
from tests.fixtures import PASSWORD

PAID_ON = dt.date(2026, 2, 12)


@pytest.fixture(autouse=True)
def cjk_font():
    try:
        return pdf.font_name()
    except pdf.PdfFontMissing as exc:
        missing(str(exc))


@pytest.fixture
def notice(users, units, staff, period):
    enrolment.enrol_unit(users["clerk_a1"], period, units["a1"], on=TODAY)
    return PremiumNotice.objects.get(unit=units["a1"])


def pay(users, notice, amount: str, ref: str, on=PAID_ON):
    return premiums.register_payment(users["finance_city"], notice.pk, amount=Decimal(amount),
                                     paid_on=on, bank_reference=ref)


def test_the_receipt_of_a_paid_notice(users, notice):
    assert notice.amount_due == Decimal("600.00")
    with pytest.raises(Refused) as refused:
        pdf.premium_receipt_pdf(notice)
    assert str(refused.value) == (f"缴费通知单 {notice.number} 尚未缴清（尚欠 600.00 元），"
                                  "缴清后才能开具缴费收据")
    pay(users, notice, "320.00", "B-001")
    pay(users, notice, "280.00", "B-002", on=dt.date(2026, 2, 20))
    notice.refresh_from_db()
    text = flat(pdf.premium_receipt_pdf(notice))
    for expected in ("测试市总工会", "互助金缴费收据", f"收据编号：SJ{notice.number}",
                     f"交款单位{notice.unit.name}", "参保人数4人", "收款金额600.00元",
                     "收款金额（大写）人民币陆佰元整", "缴清日期2026-02-20",
                     "12026-02-12B-001320.00", "22026-02-20B-002280.00", "合计2笔600.00",
                     "计人民币陆佰元整（600.00元）", "收款单位（盖章）：", "经办人（签字）："):
        assert expected in text, expected


def test_the_receipt_download_is_scoped_and_audited(client, users, notice, units):
    url = reverse("coverage:receipt-pdf", args=[notice.pk])
    unit_page = reverse("coverage:unit", args=[notice.period_id, notice.unit_id])
    assert client.login(username="finance_city", password=PASSWORD)
    assert 'id="receipt-pdf"' not in client.get(unit_page).content.decode()
    early = client.get(url, follow=True)
    assert "尚未缴清" in early.content.decode()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.FILE_DOWNLOADED).exists()
    pay(users, notice, "600.00", "B-001")
    assert 'id="receipt-pdf"' in client.get(unit_page).content.decode()
    assert f'id="receipt-pdf-{notice.pk}"' in client.get(
        reverse("coverage:notices")).content.decode()
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    entry = AuditEntry.objects.get(action=AuditEntry.Action.FILE_DOWNLOADED)
    assert entry.actor == users["finance_city"]
    assert entry.summary == (f"下载缴费收据 SJ{notice.number}（{units['a1'].name}，"
                             f"{notice.period}，600.00 元）")
    assert client.login(username="clerk_b1", password=PASSWORD)
    assert client.get(url).status_code == 404
    assert AuditEntry.objects.filter(action=AuditEntry.Action.FILE_DOWNLOADED).count() == 1
