"""The what-if screen end to end on the tiny history: a parameter changed in the form,
an overlay uploaded, the run in the background (immediate backend here), the report
shown and downloaded (audited); roles and scope."""

from __future__ import annotations

import io
from decimal import Decimal
from urllib.parse import unquote

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from huzhu.audit.models import AuditEntry
from huzhu.coverage.models import Period
from huzhu.reports import whatif
from huzhu.reports.models import WhatIfRun
from tests.fixtures import PASSWORD

NEW = reverse("reports:what-if-new")
CAP = "benefits[hospital].caps[0].amount"
TOP_BAND = "benefits[hospital].formula.bands[6].rate"


@pytest.fixture(autouse=True)
def immediate(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def login(client, username):
    assert client.login(username=username, password=PASSWORD)


def period_2026():
    return Period.objects.get(name="2026年")


def test_parameters_come_from_the_policy(history):
    params = {p.path: p for p in whatif.parameters(history["c1"].scheme.policy())}
    assert params[CAP].value == "50000.00"
    assert params[TOP_BAND].value == "10%"
    assert "benefits[hospital].formula.threshold" in params
    assert "benefits[fire].formula.rate" in params


def test_form_reform_runs_and_reports(client, history):
    login(client, "admin_city")
    form = client.get(NEW, {"scheme": "changchun-2023"})
    assert form.status_code == 200 and CAP in form.content.decode()
    response = client.post(NEW, {"scheme": "changchun-2023", "period": period_2026().pk,
                                 TOP_BAND: "12%"})
    assert response.status_code == 302, response.content.decode()[:2000]
    run = WhatIfRun.objects.get()
    assert run.status == WhatIfRun.Status.DONE, run.message
    started = AuditEntry.objects.get(action=AuditEntry.Action.WHAT_IF_STARTED)
    assert started.actor.username == "admin_city" and started.object_id == str(run.pk)
    assert started.changes["what_if"] == run.pk and len(started.changes["content_hash"]) == 64
    report = run.report
    # 2026 events: c2 1,200, c3 40,000 (→ 48,000 at 12%), c4 12,800, c5 2,000, c6 1,500.
    assert report["events"] == 5
    assert report["base_total"] == "57500.00"
    assert report["reform_total"] == "65500.00"
    assert report["difference"] == "8000.00"
    assert (report["members_paid_more"], report["members_paid_less"]) == (1, 0)
    assert report["largest"][0]["event_id"] == history["c3"].number
    # People's words: the member by name, the benefit by the policy's name, no codes.
    hospital = history["c3"].scheme.policy().benefit("hospital").name
    assert report["largest"][0]["member_id"] == history["c3"].member.name
    assert report["largest"][0]["benefit"] == hospital
    assert report["by_benefit"][0]["label"] == hospital
    assert not any("（hospital）" in r["label"] for r in report["by_benefit"])
    assert [c["text"] for c in report["changes"]] == [
        f"{hospital} · 公式 · 档次表 · 第 7 档（超过 300,000.00 元） · 比例：10% → 12%"]
    assert started.summary == (f"开始改革测算“{run.name}”"
                               f"（{run.scheme.name} {period_2026().name}）")
    assert {r["key"] for r in report["by_union"]} == {"甲区总工会", "乙区总工会"}
    polled = client.get(reverse("reports:what-if", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert polled.status_code == 204 and polled["HX-Refresh"] == "true"  # done: reload
    page = client.get(reverse("reports:what-if", args=[run.pk])).content.decode()
    assert 'id="wi-difference">8,000.00 元' in page and "12%" in page
    assert f"<td>{history['c3'].member.name}</td><td>{hospital}</td>" in page
    assert f"<h1 class=\"h4 mb-1\">改革测算：{run.name}</h1>" in page
    download = client.post(reverse("reports:what-if-download", args=[run.pk]))
    assert download.status_code == 200
    assert "changchun" not in unquote(download["Content-Disposition"])
    book = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    assert len(book.sheetnames) >= 3
    largest = next(book[n] for n in book.sheetnames if n.startswith("变化最大的"))
    first = next(largest.iter_rows(min_row=2, values_only=True))
    assert first[:3] == (history["c3"].number, history["c3"].member.name, hospital)
    assert next(book["按项目"].iter_rows(min_row=2, values_only=True))[0] == hospital
    # A file download, not a member export.
    downloaded = AuditEntry.objects.get(action=AuditEntry.Action.FILE_DOWNLOADED)
    assert downloaded.summary == (f"下载改革测算报告“{run.name}”"
                                  f"（{run.scheme.name} {period_2026().name}）")
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.MEMBER_EXPORTED).exists()


def test_uploaded_overlay_and_prior_payouts(client, history):
    login(client, "admin_city")
    overlay = ("reform_of: changchun-2023\nname: 住院补贴封顶3万\nchanges:\n"
               f"  - set: {CAP}\n    to: 30000\n")
    response = client.post(NEW, {"scheme": "changchun-2023", "period": period_2026().pk,
                                 "reform_file": SimpleUploadedFile("r.yaml", overlay.encode())})
    assert response.status_code == 302
    run = WhatIfRun.objects.get()
    assert run.status == WhatIfRun.Status.DONE, run.message
    assert run.name == "住院补贴封顶3万"
    assert Decimal(run.report["difference"]) == Decimal("-10000.00")  # c3 40,000 → 30,000
    # The cap by what it limits, not by its code.
    hospital = history["c3"].scheme.policy().benefit("hospital").name
    assert [c["label"] for c in run.report["changes"]] == [f"{hospital} · 上限（每人每年） · 金额"]


def test_the_form_explains_the_reform_file_in_the_page(client, history):
    """No "格式见 README": the format in Chinese, an example, and each parameter's path
    — and the example, with a new value, is a reform the page accepts."""
    import html
    import re

    login(client, "admin_city")
    page = client.get(NEW, {"scheme": "changchun-2023"}).content.decode()
    assert "README" not in page and "改革文件怎么写" in page
    example = html.unescape(re.search(r'<pre[^>]*id="w-example"><code>(.*?)</code>', page,
                                      re.S).group(1))
    first = whatif.parameters(history["c1"].scheme.policy())[0]
    assert example.startswith("reform_of: changchun-2023\n") and f"set: {first.path}" in example
    assert f"<td><code>{CAP}</code></td><td>50000.00</td>" in page
    text = example.replace(f"to: {first.value}", "to: 2000")
    response = client.post(NEW, {"scheme": "changchun-2023", "period": period_2026().pk,
                                 "reform_file": SimpleUploadedFile("r.yaml", text.encode())})
    assert response.status_code == 302
    assert WhatIfRun.objects.get().name == "调整后的方案"


def test_a_queued_run_shows_its_progress(client, history, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    login(client, "admin_city")
    client.post(NEW, {"scheme": "changchun-2023", "period": period_2026().pk, TOP_BAND: "11%"})
    run = WhatIfRun.objects.get()
    assert run.status == WhatIfRun.Status.PENDING
    polled = client.get(reverse("reports:what-if", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert polled.status_code == 200 and "排队等待" in polled.content.decode()
    WhatIfRun.objects.filter(pk=run.pk).update(status="running", step=2)
    polled = client.get(reverse("reports:what-if", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert 'aria-valuenow="50"' in polled.content.decode()
    assert whatif.run_what_if.call(run.pk) == {"what_if": run.pk, "skipped": True}  # taken
    WhatIfRun.objects.filter(pk=run.pk).update(status="pending", step=0)
    whatif.run_what_if.call(run.pk)  # what the worker does
    run.refresh_from_db()
    assert run.status == WhatIfRun.Status.DONE and run.step == 4 and run.file_path


def test_bad_input_is_refused_and_names_it(client, history):
    login(client, "admin_city")
    nothing = client.post(NEW, {"scheme": "changchun-2023", "period": period_2026().pk})
    assert nothing.status_code == 400 and "没有改动任何参数" in nothing.content.decode()
    bad = client.post(NEW, {"scheme": "changchun-2023", "period": period_2026().pk,
                            TOP_BAND: "abc"})
    assert "应为数字" in bad.content.decode()
    broken = client.post(NEW, {"scheme": "changchun-2023", "period": period_2026().pk,
                               "reform_file": SimpleUploadedFile("r.yaml", b"a: [")})
    assert "YAML" in broken.content.decode()
    assert not WhatIfRun.objects.exists()


def test_only_admins_and_only_their_subtree(client, history, users):
    login(client, "reviewer_da")
    assert client.get(NEW).status_code == 403
    client.logout()
    login(client, "admin_city")
    client.post(NEW, {"scheme": "changchun-2023", "period": period_2026().pk, TOP_BAND: "11%"})
    run = WhatIfRun.objects.get()
    from huzhu.orgs.models import User

    User.objects.create_user(username="admin_db", password=PASSWORD, role="admin",
                             union=users["reviewer_db"].union)
    client.logout()
    login(client, "admin_db")
    assert client.get(reverse("reports:what-if", args=[run.pk])).status_code == 404


def test_a_district_leader_simulates_the_district_only(client, history, users):
    from huzhu.orgs.models import User

    User.objects.create_user(username="admin_da", password=PASSWORD, role="admin",
                             union=users["reviewer_da"].union)
    login(client, "admin_da")
    client.post(NEW, {"scheme": "changchun-2023", "period": period_2026().pk, TOP_BAND: "12%"})
    run = WhatIfRun.objects.get()
    assert run.status == WhatIfRun.Status.DONE, run.message
    # 甲区's 2026 events: c2, c3, c4, c6 (乙区's accident c5 is not the district's).
    assert run.report["events"] == 4
    assert run.report["base_total"] == "55500.00"
    assert {r["key"] for r in run.report["by_union"]} == {"甲区总工会"}


def test_an_admin_without_a_visible_scheme_gets_a_clear_page(client, users):
    # No scheme in the user's subtree: a scheme code in the address is no scheme for them
    # (404, like a code they may not see), and the bare form says there is none.
    login(client, "admin_city")
    response = client.get(NEW, {"scheme": "x"})
    assert response.status_code == 404
    assert 'id="error-404"' in response.content.decode()
    empty = client.get(NEW)
    assert empty.status_code == 200 and 'id="empty-what-if"' in empty.content.decode()
