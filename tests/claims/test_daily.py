"""Issue 21, item 13 and the leftovers: the small things of a claims office's day —
confirmations, notes kept, lateness judged on the filing day, the filer's part left to
the filer, days from the dates, amounts with two places, creations and downloads logged."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from huzhu.audit.models import AuditEntry
from huzhu.claims.models import Claim
from huzhu.claims.workflow import ClaimRefused, apply
from tests.claims.test_views import login

D = dt.date


def test_filing_a_claim_is_in_the_audit_log(users, staff, file_hospital):
    claim = file_hospital(staff["m1"])
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CLAIM_FILED)
    assert entry.actor == users["clerk_a1"] and entry.object_id == str(claim.pk)
    assert entry.summary == (f"登记理赔 {claim.number}（{staff['m1'].name} 住院医疗补贴，"
                             "事件日期 2026-03-10）")
    assert entry.get_action_display() == "登记理赔申请"


def test_the_follow_up_export_is_logged_as_a_download(client, users):
    login(client, "reviewer_da").post(reverse("claims:follow-up-export"))
    entry = AuditEntry.objects.get()
    assert entry.action == AuditEntry.Action.FILE_DOWNLOADED
    assert entry.summary.startswith("导出大额回访名单 0 条")


def test_the_amount_box_shows_the_computed_amount_with_two_places(client, users, staff,
                                                                  file_hospital, monkeypatch):
    """An amount as a Decimal of six places (as a database or a computation may hand it
    over) reads with two in the 核定金额 box: "880.000000" was shown."""
    from huzhu.claims import views

    claim = file_hospital(staff["m1"])
    apply(users["clerk_a1"], claim.pk, "submit")
    real = views.get_claim_for_user

    def six_places(user, claim_id):
        loaded = real(user, claim_id)
        loaded.computed = Decimal("880.000000")
        return loaded

    monkeypatch.setattr(views, "get_claim_for_user", six_places)
    page = login(client, "reviewer_da").get(
        reverse("claims:detail", args=[claim.pk])).content.decode()
    assert 'name="amount" placeholder="880.00"' in page


def test_reject_and_withdraw_ask_to_confirm(client, users, staff, file_hospital):
    claim = file_hospital(staff["m1"])
    apply(users["clerk_a1"], claim.pk, "submit")
    url = reverse("claims:detail", args=[claim.pk])
    clerk = login(client, "clerk_a1").get(url).content.decode()
    # Asked by site.js from data-confirm (the Content-Security-Policy runs no onclick).
    assert 'id="do-withdraw" data-confirm="确定撤回这笔理赔吗？撤回后不能恢复。"' in clerk
    reviewer = login(client, "reviewer_da").get(url).content.decode()
    assert 'id="do-reject" data-confirm="确定不予给付这笔理赔吗？' in reviewer
    assert 'id="do-first_pass" data-confirm' not in reviewer


def test_the_first_review_note_is_kept_when_the_amount_is_not_lowered(users, staff,
                                                                      file_hospital):
    claim = file_hospital(staff["m1"])
    apply(users["clerk_a1"], claim.pk, "submit")
    apply(users["reviewer_da"], claim.pk, "first_pass", amount=None, note="发票与清单核对无误")
    event = claim.history.get(action="first_pass")
    assert event.note == "初审通过：发票与清单核对无误"
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.CLAIM_CHANGED).latest("id")
    assert entry.summary.endswith("：初审通过，发票与清单核对无误")


def test_a_claim_filed_in_time_is_not_late_later(client, users, staff, file_hospital,
                                                 monkeypatch):
    """Filed (submitted) in time, the page says 已逾期 neither a year on nor once returned,
    and the claim returned for materials after the deadline may be submitted again."""
    from django.utils import timezone

    claim = file_hospital(staff["m1"], day=D(2026, 3, 10))  # deadline 2026-05-09
    apply(users["clerk_a1"], claim.pk, "submit")
    apply(users["reviewer_da"], claim.pk, "return", missing=["invoice"])
    monkeypatch.setattr(timezone, "localdate", lambda *args: D(2026, 7, 1))
    page = login(client, "clerk_a1").get(
        reverse("claims:detail", args=[claim.pk])).content.decode()
    assert "申请期限 2026-05-09" in page and "已逾期" not in page
    from tests.claims.conftest import add_materials

    Claim.objects.get(pk=claim.pk).materials.filter(kind="invoice").delete()
    add_materials(claim, users["clerk_a1"])
    assert apply(users["clerk_a1"], claim.pk, "submit").state == "submitted"


def test_a_draft_past_its_deadline_is_late(client, users, staff, file_hospital, monkeypatch):
    from django.utils import timezone

    claim = file_hospital(staff["m1"], day=D(2026, 3, 10))
    monkeypatch.setattr(timezone, "localdate", lambda *args: D(2026, 7, 1))
    page = login(client, "clerk_a1").get(
        reverse("claims:detail", args=[claim.pk])).content.decode()
    assert "已逾期" in page


def test_a_reviewer_is_not_offered_the_clerks_part_of_a_returned_claim(
        client, users, staff, file_hospital):
    claim = file_hospital(staff["m1"])
    apply(users["clerk_a1"], claim.pk, "submit")
    apply(users["reviewer_da"], claim.pk, "return", missing=["invoice"])
    refusal = "这笔理赔由经办人（clerk_a1）登记，须由经办人补充材料并提交"
    with pytest.raises(ClaimRefused, match=f"^{refusal}$"):
        apply(users["reviewer_da"], claim.pk, "submit")
    page = login(client, "reviewer_da").get(
        reverse("claims:detail", args=[claim.pk])).content.decode()
    assert 'id="do-submit"' not in page and 'id="delete-material-' not in page
    assert "提交审核：这笔理赔由经办人（clerk_a1）登记，须由经办人补充材料并提交" in page
    clerk = login(client, "clerk_a1").get(
        reverse("claims:detail", args=[claim.pk])).content.decode()
    assert 'id="do-submit"' in clerk and 'id="delete-material-' in clerk


def test_a_missing_materials_refusal_goes_once_materials_change(client, users, staff,
                                                                file_hospital):
    claim = file_hospital(staff["m1"], materials=False)
    answer = login(client, "clerk_a1").post(reverse("claims:step", args=[claim.pk, "submit"]),
                                            HTTP_HX_REQUEST="true").content.decode()
    error = answer.split('id="step-error"')[1].split(">")[0]
    assert 'hx-trigger="claim-materials-changed from:body"' in error
    assert 'hx-swap="delete"' in error


def test_days_in_hospital_follow_from_the_dates_on_the_page(client, users, staff,
                                                            file_hospital):
    claim = file_hospital(staff["m1"], day=D(2026, 3, 10))  # admitted 2026-03-05
    page = login(client, "clerk_a1").get(
        reverse("claims:detail", args=[claim.pk])).content.decode()
    assert '<dd class="col-sm-8" id="claim-days">5 天</dd>' in page



def test_the_history_names_each_step_then_what_was_said(users, staff, file_hospital):
    """办理记录 reads 退回补充材料：需补充… and 复审通过：… — a bare list of papers or a
    reviewer's "同意" does not say what happened."""
    claim = file_hospital(staff["m1"])
    apply(users["clerk_a1"], claim.pk, "submit")
    apply(users["reviewer_da"], claim.pk, "return", missing=["invoice"], note="")
    notes = list(claim.history.order_by("id").values_list("note", flat=True))
    assert notes[-2:] == ["提交审核：测算金额 240.00 元", "退回补充材料：需补充医疗费发票"]
