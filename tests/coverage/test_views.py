"""The coverage pages: a scheme set up by an admin, a unit enrolled by its clerk, the
premium registered by finance, the member page showing the coverage; scope and roles."""

from __future__ import annotations

import datetime as dt
import re

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from huzhu.coverage.models import Enrolment, Period, PremiumNotice, Scheme
from tests.fixtures import PASSWORD


def login(client, username):
    client.logout()
    assert client.login(username=username, password=PASSWORD)
    return client


def test_admin_sets_up_a_scheme_and_a_period(client, users, tree):
    c = login(client, "admin_city")
    response = c.post(reverse("coverage:scheme-create"), {
        "policy_name": "changchun-2023", "union": tree["city"].pk, "coverage_start": "on_payment",
        "mid_period": "pro_rata", "share_of": "all"})
    scheme = Scheme.objects.get()
    assert response.status_code == 302 and scheme.code == "changchun-2023"
    assert scheme.kind == "free" and len(scheme.policy_hash) == 64
    page = c.get(reverse("coverage:scheme", args=[scheme.code])).content.decode()
    assert "住院医疗补贴" in page and "超过 300,000.00 元" in page and "10%" in page
    assert "每人每个自然年最多 50,000.00 元" in page and "无需参保" in page
    response = c.post(reverse("coverage:period-create", args=[scheme.code]), {
        "name": "2026年", "start": "2026-01-01", "end": "2026-12-31", "premium": "0",
        "enrol_from": "2026-01-01", "enrol_until": "2026-12-31"})
    assert response.status_code == 302 and Period.objects.count() == 1


def test_an_invalid_uploaded_policy_is_refused_with_its_yaml_path(client, users, tree):
    c = login(client, "admin_city")
    bad = "code: x\nname: 坏政策\nversion: '1'\nbenefits:\n  - code: a\n    name: 甲\n" \
          "    formula: {kind: lump_sum, amount: -5}\n"
    response = c.post(reverse("coverage:scheme-create"), {
        "policy_file": SimpleUploadedFile("bad.yaml", bad.encode()), "union": tree["city"].pk,
        "coverage_start": "on_payment", "mid_period": "pro_rata", "share_of": "all"})
    body = response.content.decode()
    assert response.status_code == 200 and "benefits[0].formula" in body
    assert Scheme.objects.count() == 0


def test_only_admins_set_up_schemes(client, users):
    assert login(client, "clerk_a1").get(reverse("coverage:scheme-create")).status_code == 403


def test_clerk_enrols_finance_pays_and_the_member_page_shows_it(client, users, units, staff,
                                                                 period):
    Period.objects.filter(pk=period.pk).update(enrol_from=dt.date(2020, 1, 1),
                                               enrol_until=timezone.localdate())
    c = login(client, "clerk_a1")
    page = c.get(reverse("coverage:period", args=[period.pk])).content.decode()
    assert units["a1"].name in page and units["b1"].name not in page
    c.post(reverse("coverage:enrol", args=[period.pk, units["a1"].pk]), {"which": "all"})
    assert Enrolment.objects.count() == 4
    unit_page = c.get(reverse("coverage:unit", args=[period.pk, units["a1"].pk])).content.decode()
    assert "600.00 元" in unit_page and "待缴费" in unit_page
    assert 'id="payment-form"' not in unit_page  # a clerk does not register money
    notice = PremiumNotice.objects.get()
    assert c.post(reverse("coverage:pay", args=[notice.pk]), {}).status_code == 403
    f = login(client, "finance_city")
    f.post(reverse("coverage:pay", args=[notice.pk]), {
        "amount": "600.00", "paid_on": timezone.localdate().isoformat(),
        "bank_reference": "ICBC-001"})
    notice.refresh_from_db()
    assert notice.state == "paid"
    member_page = login(client, "clerk_a1").get(
        reverse("members:detail", args=[staff["m1"].pk])).content.decode()
    assert "保障中" in member_page and period.scheme.name in member_page
    assert re.search(r"住院医疗互助金：\d{4}-\d\d-\d\d 后给付", member_page)


def test_another_districts_clerk_sees_neither_the_unit_nor_its_notice(client, users, units,
                                                                      staff, period):
    from huzhu.coverage import enrolment

    enrolment.enrol_unit(users["clerk_a1"], period, units["a1"], on=dt.date(2026, 2, 1))
    notice = PremiumNotice.objects.get()
    c = login(client, "clerk_b1")
    assert c.get(reverse("coverage:unit", args=[period.pk, units["a1"].pk])).status_code == 404
    assert c.get(reverse("coverage:notice-pdf", args=[notice.pk])).status_code == 404
    assert units["a1"].name not in c.get(reverse("coverage:notices")).content.decode()
    e = Enrolment.objects.first()
    assert c.get(reverse("coverage:certificate", args=[e.pk])).status_code == 404
    assert c.post(reverse("coverage:withdraw", args=[e.pk])).status_code == 404


def test_the_fund_page_is_for_finance_admins_and_auditors(client, users, period):
    assert login(client, "clerk_a1").get(reverse("coverage:funds")).status_code == 403
    body = login(client, "auditor_city").get(reverse("coverage:funds")).content.decode()
    assert period.scheme.name in body and "赔付率" in body


def test_a_clerk_posting_a_withdrawal_in_2099_sees_why_and_the_cover_is_unchanged(
        client, users, units, staff, period):
    from huzhu.coverage import enrolment

    enrolment.enrol_unit(users["clerk_a1"], period, units["a1"], on=dt.date(2026, 2, 1))
    e = Enrolment.objects.first()
    before = e.coverage_to
    c = login(client, "clerk_a1")
    page = c.post(reverse("coverage:withdraw", args=[e.pk]), {"on": "2099-12-31"}, follow=True)
    body = page.content.decode()
    assert "退保日期 2099-12-31 不在" in body and "（2026-01-01 至 2026-12-31）" in body
    e.refresh_from_db()
    assert e.state != Enrolment.State.WITHDRAWN and e.coverage_to == before
