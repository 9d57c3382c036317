"""Issue 21, item 13 ("small but daily") on the statistics pages: no future years in the
year selector."""

from __future__ import annotations

import datetime as dt
from urllib.parse import unquote

from django.utils import timezone

from huzhu.reports.views import year_choices
from tests.coverage.conftest import period, premium_scheme  # noqa: F401  (fixtures)


def test_the_year_selector_offers_no_year_that_has_not_begun(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *a: dt.date(2026, 12, 7))
    assert year_choices(2026) == [2026, 2025, 2024, 2023, 2022, 2021, 2020]
    # A year typed into the address bar still appears when it is older than the list.
    assert year_choices(2015)[0] == 2026 and year_choices(2015)[-1] == 2015
    assert 2027 not in year_choices(2027)


def _pages(story) -> list[str]:
    import io

    import pypdf
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import SimpleDocTemplate

    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4).build(story)
    return [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(buffer.getvalue())).pages]


def test_the_annual_pdf_never_leaves_a_heading_alone_at_a_page_foot():
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table

    from huzhu.coverage import pdf
    from huzhu.reports import annual

    styles = pdf.styles(pdf.font_name())
    room = A4[1] - 2 * 72  # SimpleDocTemplate's default frame, less its padding
    rows = [["单位", "金额"]] + [[f"第{i}行", f"{i}.00"] for i in range(60)]
    # 25 mm left on the first page: the heading and the header row would fit there.
    story = [Spacer(1, room - 12 - 25 * mm), *annual.heading("四、明细表", styles["heading"]),
             Table(rows, repeatRows=1)]
    first, *rest = _pages(story)
    assert "四、明细表" not in first and "四、明细表" in rest[0]
    # A heading with a short paragraph under it goes over with the paragraph.
    story = [Spacer(1, room - 12 - 8 * mm), Paragraph("五、统计口径", styles["heading"]),
             Paragraph("给付按付款日期计入。" * 3, styles["body"])]
    first, second = _pages(story)
    assert "五、统计口径" not in first and "五、统计口径" in second


def test_charts_are_in_wan_and_person_times_tick_in_whole_numbers(client, history):
    from pathlib import Path

    from django.urls import reverse

    from tests.fixtures import PASSWORD

    assert client.login(username="admin_city", password=PASSWORD)
    charts = client.get(reverse("reports:statistics"),
                        {"scheme": "changchun-2023", "year": "2026"}).context["charts"]
    month = charts["month"]
    assert month["name"] == "给付金额（万元）" and month["x"][:4] == [
        "2026-01", "2026-02", "2026-03", "2026-04"]
    # 240.00 元; 1,200 + 40,000 + 12,800 + 2,000 元
    assert month["y"][:4] == [0.024, 0.0, 0.0, 5.6]
    assert month["y2"][:4] == [1, 0, 0, 4] and month["y2_count"] is True
    assert charts["benefit"]["name"] == "给付金额（万元）"
    assert charts["tier"]["y_count"] is True and sum(charts["tier"]["y"]) == 5
    import huzhu.reports

    js = (Path(huzhu.reports.__file__).parent / "static/reports/charts.js").read_text()
    assert 'axis.tickformat = ",d"' in js and "axis.dtick = 1" in js


def test_the_what_if_file_is_named_by_the_day_in_beijing(
        client, users, tmp_path, period):  # noqa: F811  (the fixture)
    from django.urls import reverse

    from huzhu.reports.models import WhatIfRun
    from tests.fixtures import PASSWORD

    admin, scheme = users["admin_city"], period.scheme
    report = tmp_path / "report.xlsx"
    report.write_bytes(b"PK")
    run = WhatIfRun.objects.create(scheme=scheme, union=admin.union, period=period,
                                   created_by=admin, name="方案", reform_text="x",
                                   status=WhatIfRun.Status.DONE, file_path=str(report))
    # 17:00 UTC on 31 January is 01:00 on 1 February in Beijing.
    WhatIfRun.objects.filter(pk=run.pk).update(
        created_at=dt.datetime(2026, 1, 31, 17, 0, tzinfo=dt.UTC))
    assert client.login(username="admin_city", password=PASSWORD)
    response = client.post(reverse("reports:what-if-download", args=[run.pk]))
    assert response.status_code == 200
    assert "20260201.xlsx" in unquote(response["Content-Disposition"])
