"""The statistics page, its scope and drill-down, ``huzhu stats --json`` against it, the
xlsx exports and the annual PDF (Chinese text extracted back)."""

from __future__ import annotations

import io
import json
import os
from urllib.parse import unquote

import openpyxl
import pytest
from django.urls import reverse

from huzhu.audit.models import AuditEntry
from huzhu.cli import main
from tests.fixtures import PASSWORD

URL = reverse("reports:statistics")
SCHEME_NAME = "长春市总工会在职职工补贴（住院医疗、非工伤意外伤害、家庭财产火灾损失）"
CITY = "测试市总工会"


def login(client, username):
    assert client.login(username=username, password=PASSWORD)


def page(client, **params):
    return client.get(URL, {"scheme": "changchun-2023", "year": "2026", **params})


def test_page_shows_the_figures_and_definitions(client, history):
    login(client, "admin_city")
    response = page(client)
    assert response.status_code == 200
    html = response.content.decode()
    stats = response.context["stats"]
    assert str(stats.paid_total) == "56240.00"
    assert 'id="figure-paid_total">56,240.00 元' in html
    assert 'id="figure-person_times">5 人次' in html
    assert "按付款日期" in html and "人次" in html and "统计口径" in html
    assert 'id="chart-month"' in html
    # plotly.js is not a blocking script: charts.js (deferred) fetches the basic bundle
    # (bar and scatter) after the first paint; the full 4.8 MB bundle is not on the page.
    assert '<script src="/static/reports/charts.js" defer id="charts-js" ' \
           'data-plotly="/static/reports/vendor/plotly-basic-3.7.0.min.js">' in html
    assert "plotly.min.js" not in html and "<script src=\"/static/plotly" not in html
    assert 'id="table-tier"' in html and "+∞" not in html
    assert '"text-end">超过 300,000.00 元按 10%</td>' in html  # a band in words
    assert 'id="nav-reports"' in html


def test_stats_json_equals_the_page(client, history, capsys):
    login(client, "admin_city")
    for union in (None, "D01"):
        params = {}
        args = ["stats", "--scheme", "changchun-2023", "--year", "2026", "--json"]
        if union:
            from huzhu.orgs.models import Union

            params["union"] = Union.objects.get(code=union).pk
            args += ["--union", union]
        stats = page(client, **params).context["stats"]
        capsys.readouterr()
        assert main(args) == 0
        printed = json.loads(capsys.readouterr().out)
        assert printed == json.loads(json.dumps(stats.to_dict()))
        assert printed["paid_total"] == str(stats.paid_total)
    assert printed["paid_total"] == "54240.00" and printed["person_times"] == 4
    assert printed["by_benefit"]["hospital"] == {"name": "住院医疗补贴", "paid_total": "54240.00",
                                                 "person_times": 4, "members": 3}
    for key in ("paid_total", "person_times", "members_paid", "over_10000_count",
                "over_10000_total", "max_single", "max_member_total"):
        assert key in printed


def test_stats_from_to_and_errors(history, capsys):
    assert main(["stats", "--scheme", "changchun-2023", "--from", "2025-07-01",
                 "--to", "2026-01-31", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["paid_total"], printed["person_times"]) == ("640.00", 2)
    assert main(["stats", "--scheme", "nope", "--json"]) == 2
    assert main(["stats", "--scheme", "changchun-2023", "--from", "2026-01-01"]) == 2
    assert main(["stats", "--scheme", "changchun-2023", "--union", "ZZZ"]) == 2
    assert main(["stats", "--scheme", "changchun-2023", "--year", "2026"]) == 0
    assert "给付金额" in capsys.readouterr().out


def test_a_district_sees_only_its_subtree(client, history, tree):
    login(client, "reviewer_da")
    response = page(client)
    stats = response.context["stats"]
    assert stats.selection.union == tree["da"]
    assert str(stats.paid_total) == "54240.00"
    assert {u.code for u in stats.by_union} == {"G011", "G012"}
    assert page(client, union=tree["db"].pk).status_code == 404
    assert page(client, union=tree["city"].pk).status_code == 404
    drilled = page(client, union=tree["a2"].pk).context["stats"]
    assert (str(drilled.paid_total), drilled.person_times) == ("12800.00", 1)


def test_drill_down_links_from_city_to_district(client, history, tree):
    login(client, "admin_city")
    html = page(client).content.decode()
    assert f"union={tree['da'].pk}" in html and 'data-code="D01"' in html
    district = page(client, union=tree["da"].pk)
    assert district.status_code == 200
    crumbs = [u.code for u in district.context["breadcrumbs"]]
    assert crumbs == ["C01", "D01"]


def test_clerks_are_refused_and_bad_params_are_400(client, history):
    login(client, "clerk_a1")
    assert page(client).status_code == 403
    client.logout()
    login(client, "auditor_city")
    assert page(client).status_code == 200
    assert page(client, year="abc").status_code == 400
    assert client.get(URL, {"from": "2026-02-01", "to": "2026-01-01"}).status_code == 400
    assert page(client, scheme="nope").status_code == 404


def test_xlsx_exports_every_table(client, history):
    login(client, "finance_city")
    response = client.get(reverse("reports:xlsx"), {"scheme": "changchun-2023", "year": "2026"})
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["主要指标", "按月给付", "分项目给付", "下级工会给付", "按政策档次",
                               "统计口径"]
    benefit = book["分项目给付"]
    rows = list(benefit.iter_rows(min_row=3, values_only=True))
    assert rows[0][:4] == ("住院医疗补贴", 54240, 4, 3)
    tiers = [r[1] for r in book["按政策档次"].iter_rows(min_row=3, values_only=True)]
    assert "超过 20,000.00 元至 50,000.00 元（含）按 3%" in tiers
    assert not [t for t in tiers if t and "]" in str(t)]
    one = client.get(reverse("reports:xlsx"), {"scheme": "changchun-2023", "year": "2026",
                                               "table": "month"})
    assert openpyxl.load_workbook(io.BytesIO(one.content)).sheetnames == ["按月给付", "统计口径"]
    assert "按月给付.xlsx" in unquote(one["Content-Disposition"])
    assert "changchun" not in unquote(one["Content-Disposition"])
    assert client.get(reverse("reports:xlsx"), {"table": "x"}).status_code == 400
    # Each download is on the record, in words: who took which figures.
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.FILE_DOWNLOADED) \
        .order_by("id")
    sel = f"（{SCHEME_NAME} · {CITY} · 2026年）"
    assert [e.summary for e in entries] == [f"下载统计表“全部统计表”{sel}",
                                            f"下载统计表“按月给付”{sel}"]
    assert entries[0].actor.username == "finance_city"


def test_annual_pdf_has_chinese_text_and_charts(client, history):
    pypdf = pytest.importorskip("pypdf")
    login(client, "admin_city")
    response = client.get(reverse("reports:annual-pdf"), {"scheme": "changchun-2023",
                                                          "year": "2026"})
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    text = "".join(p.extract_text() for p in reader.pages)
    assert len(reader.pages) >= 2
    assert "2026年度报告" in text
    assert "累计给付互助金" in text and "5人次" in text
    assert "住院医疗补贴" in text and "按月给付金额" in text and "统计口径" in text
    # The tier chart's labels whole, the range and the rate on lines of their own.
    assert "超过 20,000.00 元\n至 50,000.00 元（含）\n按 3%" in text and "(20000,50000]" not in text
    entry = AuditEntry.objects.get(action=AuditEntry.Action.FILE_DOWNLOADED)
    assert entry.summary == f"下载年度报告 PDF（{SCHEME_NAME} · {CITY} · 2026年）"
    assert entry.actor.username == "admin_city"


def test_the_basic_plotly_bundle_is_served_with_its_licence():
    """The partial bundle the page loads: a quarter of the full one, bar and scatter in."""
    from django.contrib.staticfiles import finders

    path = finders.find("reports/vendor/plotly-basic-3.7.0.min.js")
    assert path is not None
    with open(path, encoding="utf-8") as fh:
        head = fh.read(200)
    assert "plotly.js (basic - minified) v3.7.0" in head and "MIT license" in head
    import plotly

    full = os.path.join(os.path.dirname(plotly.__file__), "package_data", "plotly.min.js")
    assert os.path.getsize(path) * 4 < os.path.getsize(full)
    assert finders.find("reports/vendor/plotly-basic-3.7.0.LICENSE.txt") is not None


def test_the_full_plotly_bundle_is_no_static_file():
    """The page loads the basic bundle only: the plotly package's full one (several MB) is
    neither found nor collected."""
    from django.contrib.staticfiles import finders

    assert finders.find("plotly/plotly.min.js") is None
