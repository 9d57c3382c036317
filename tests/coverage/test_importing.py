"""An enrolment list for a period: the member import's validation and all-or-nothing."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from huzhu.coverage.models import Enrolment, Period
from huzhu.imports.models import ImportJob
from huzhu.imports.service import import_file
from tests.fixtures import PASSWORD


def write(path, rows):
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["身份证号", "姓名"], *rows])
    return path


@pytest.fixture
def open_now(period):
    Period.objects.filter(pk=period.pk).update(enrol_from=dt.date(2020, 1, 1),
                                               enrol_until=timezone.localdate())
    period.refresh_from_db()
    return period


def test_a_clean_list_enrols_every_row(users, staff, open_now, tmp_path):
    path = write(tmp_path / "e.csv", [[staff["m1"].id_number, "赵一"],
                                      [staff["a2x"].id_number, ""]])
    outcome = import_file("enrolments", path, user=users["reviewer_da"],
                          options={"period": open_now.pk})
    assert outcome.imported and outcome.created == 2
    assert set(Enrolment.objects.values_list("member__name", flat=True)) == {"赵一", "郑甲"}


def test_one_bad_row_enrols_nobody_and_names_each_problem(users, staff, open_now, tmp_path,
                                                         make_member):
    outsider = make_member("b1", name="乙外人")
    rows = [[staff["m1"].id_number, "赵一"], [staff["m2"].id_number, "错名"],
            [staff["left"].id_number, ""], [outsider.id_number, ""],
            [staff["m1"].id_number, ""], ["110101199001011234", ""]]
    outcome = import_file("enrolments", write(tmp_path / "e.csv", rows),
                          user=users["clerk_a1"], options={"period": open_now.pk})
    assert not outcome.imported and Enrolment.objects.count() == 0
    messages = {e.row: e.message for e in outcome.errors}
    assert "姓名与会员登记的姓名不一致" in messages[3]
    assert "离会" in messages[4]
    assert "未在您管辖的范围内" in messages[5] and "乙" not in messages[5]
    assert "与第2行重复" in messages[6]
    assert "校验位" in messages[7]


def test_upload_from_the_period_page_runs_as_a_job(client, users, staff, open_now, tmp_path,
                                                   settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.UPLOAD_ROOT = tmp_path / "uploads"
    assert client.login(username="clerk_a1", password=PASSWORD)
    path = write(tmp_path / "名单.csv", [[staff["m1"].id_number, "赵一"]])
    with path.open("rb") as fh:
        response = client.post(reverse("coverage:period-upload", args=[open_now.pk]),
                               {"file": fh})
    job = ImportJob.objects.get()
    assert response.url == reverse("imports:detail", args=[job.pk])
    assert job.kind == "enrolments" and job.status == "done" and job.options == {
        "period": open_now.pk}
    assert Enrolment.objects.count() == 1
    # the general upload page does not offer this kind (it needs a period)
    page = client.get(reverse("imports:new")).content.decode()
    assert 'value="enrolments"' not in page
