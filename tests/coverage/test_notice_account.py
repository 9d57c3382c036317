"""Issue 21, item 13: notices carry the scheme's collection account (收款户名, 开户银行,
账号), and never a 缴费截止 already past — on a new notice or in a reminder SMS."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse

from huzhu.coverage import enrolment, reminders
from huzhu.coverage.forms import SchemeForm
from huzhu.coverage.joining import PAYMENT_DAYS, notice_due_date
from huzhu.coverage.models import PremiumNotice
from huzhu.notify.models import OutboxMessage
from tests.coverage.conftest import TODAY
from tests.coverage.test_views import login

D = dt.date
ACCOUNT = {"payee_name": "测试市总工会职工互助保障金专户",
           "payee_bank": "中国建设银行长春人民大街支行",
           "payee_account": "2205 0161 5310 0000 0468"}


@pytest.fixture
def with_account(premium_scheme):
    for field, value in ACCOUNT.items():
        setattr(premium_scheme, field, value)
    premium_scheme.save()
    return premium_scheme


def test_the_notice_pdf_and_page_show_the_collection_account(client, users, units, staff,
                                                             period, with_account):
    import pypdf  # a test dependency (pyproject): never skipped

    enrolment.enrol_unit(users["clerk_a1"], period, units["a1"], on=TODAY)
    notice = PremiumNotice.objects.get(unit=units["a1"])
    c = login(client, "clerk_a1")
    pdf = c.get(reverse("coverage:notice-pdf", args=[notice.pk])).content
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    for value in ACCOUNT.values():
        assert value in text
    assert "收款账户以主办工会公布的为准" not in text
    page = c.get(reverse("coverage:unit", args=[period.pk, units["a1"].pk])).content.decode()
    assert f'id="payee-account">{ACCOUNT["payee_account"]}</dd>' in page
    assert f'id="payee-bank">{ACCOUNT["payee_bank"]}</dd>' in page
    assert f'id="payee-name">{ACCOUNT["payee_name"]}</dd>' in page


def test_the_scheme_form_takes_the_account_and_checks_it(users, tree):
    base = {"policy_name": "ningshan-2024", "union": tree["city"].pk,
            "coverage_start": "on_payment", "mid_period": "full", "share_of": "all"}
    form = SchemeForm({**base, **ACCOUNT, "payee_account": " 2205  0161 5310 "},
                      user=users["admin_city"])
    assert form.is_valid(), form.errors
    assert form.cleaned_data["payee_account"] == "2205 0161 5310"
    form = SchemeForm({**base, **ACCOUNT, "payee_account": "2205-0161"},
                      user=users["admin_city"])
    assert not form.is_valid()
    assert form.errors["payee_account"] == ["收款账号应为 8 至 30 位数字（可用空格分组）"]
    form = SchemeForm({**base, "payee_account": "22050161531"}, user=users["admin_city"])
    assert form.errors["payee_name"] == ["填写收款账号时，请同时填写收款户名和开户银行"]


def test_a_notice_issued_late_gives_fifteen_days_to_pay(users, units, staff, period):
    assert PAYMENT_DAYS == 15
    assert notice_due_date(period, D(2026, 2, 10)) == D(2026, 3, 31)  # the window's end
    assert notice_due_date(period, D(2026, 3, 25)) == D(2026, 4, 9)
    enrolment.enrol_unit(users["clerk_a1"], period, units["a1"], on=D(2026, 3, 25))
    assert PremiumNotice.objects.get(unit=units["a1"]).due_date == D(2026, 4, 9)


def test_a_reminder_never_names_a_past_deadline(users, units, staff, period):
    enrolment.enrol_unit(users["clerk_a1"], period, units["a1"], on=TODAY)
    notice = PremiumNotice.objects.get(unit=units["a1"])
    assert notice.due_date == D(2026, 3, 31)
    units["a1"].contact_phone = "13800138000"
    units["a1"].save()
    done = reminders.remind_unpaid(period, D(2026, 5, 6))
    assert done.written == 1
    notice.refresh_from_db()
    assert notice.due_date == D(2026, 5, 21)  # 6 May + 15 days; the notice says so too
    text = OutboxMessage.objects.get(kind=reminders.UNPAID).text
    assert "请于2026年5月21日前缴纳" in text and "3月31日" not in text


def test_an_admin_changes_the_account_on_the_scheme_page_and_it_is_audited(
        client, users, premium_scheme):
    from huzhu.audit.models import AuditEntry

    url = reverse("coverage:scheme-payee", args=[premium_scheme.code])
    assert login(client, "clerk_a1").get(url).status_code == 403
    c = login(client, "admin_city")
    page = c.get(reverse("coverage:scheme", args=[premium_scheme.code])).content.decode()
    assert "尚未登记（缴费通知单上的收款账户将留空）" in page and 'id="payee-edit"' in page
    refused = c.post(url, {**ACCOUNT, "payee_account": "账号未知"})
    assert "收款账号应为 8 至 30 位数字（可用空格分组）" in refused.content.decode()
    premium_scheme.refresh_from_db()
    assert premium_scheme.payee_account == ""
    assert c.post(url, ACCOUNT).status_code == 302
    premium_scheme.refresh_from_db()
    assert premium_scheme.payee_account == ACCOUNT["payee_account"]
    page = c.get(reverse("coverage:scheme", args=[premium_scheme.code])).content.decode()
    assert (f"{ACCOUNT['payee_name']}，{ACCOUNT['payee_bank']}，账号 "
            f"{ACCOUNT['payee_account']}") in page
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.SCHEME_CHANGED).latest("id")
    assert entry.summary == (f"修改保障项目“{premium_scheme.name}”的收款账户："
                             f"{ACCOUNT['payee_name']}，{ACCOUNT['payee_bank']}，"
                             f"账号 {ACCOUNT['payee_account']}（原为 （空），（空），账号 （空））")
