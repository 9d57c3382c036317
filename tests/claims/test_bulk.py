"""Bulk steps in the queue (issue 21): each claim of a selection passes its own checks
through workflow.apply; the result counts what moved and lists each refused claim with
why; a claim outside the user's scope reveals nothing; the same form sent twice applies
nothing twice; a large selection runs in the background with progress."""

from __future__ import annotations

import pytest
from django.urls import reverse

from huzhu.claims import bulk, bulk_jobs
from huzhu.claims.bulk import BulkRefused, apply_many
from huzhu.claims.models import BulkJob, Claim, ClaimEvent
from huzhu.claims.workflow import apply
from tests.fixtures import PASSWORD

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
FILER = "这笔理赔由您登记，不能对自己提交的理赔初审通过，须由另一位审核人员办理（双人审核）"


def login(client, username):
    client.logout()
    assert client.login(username=username, password=PASSWORD)
    return client


@pytest.fixture
def submitted(users, staff, file_hospital):
    """Three claims clerk_a1 filed and submitted (m1, m2: 240.00; m3: 0.00, below the
    起付标准 of 5,000.00)."""

    def make(member, oop="12000.00", user="clerk_a1"):
        claim = file_hospital(member, out_of_pocket=oop, user=user)
        return apply(users[user], claim.pk, "submit")

    return {"m1": make(staff["m1"]), "m2": make(staff["m2"]),
            "m3": make(staff["m3"], oop="3000.00"), "make": make}


@pytest.fixture
def elsewhere(users, make_member, file_hospital, submitted):
    """A submitted claim of another district's member (clerk_b1's)."""
    member = make_member("b1", name="乙会员")
    claim = file_hospital(member, user="clerk_b1")
    return apply(users["clerk_b1"], claim.pk, "submit")


def test_a_mixed_selection_moves_what_passes_and_says_why_for_the_rest(
        users, staff, submitted, elsewhere):
    own = submitted["make"](staff["m4"], user="reviewer_da")  # filed by the reviewer
    m1, m2, m3 = submitted["m1"], submitted["m2"], submitted["m3"]
    reviewer = users["reviewer_da"]
    result = apply_many(reviewer, [m1.pk, m2.pk, own.pk, elsewhere.pk, m3.pk, 999_999, m1.pk],
                        "first_pass", {})
    assert (result.total, result.moved) == (6, 3)  # m1 once: the selection is a set
    assert [(r.claim_id, r.number, r.reason) for r in result.refused] == [
        (own.pk, own.number, FILER),
        (elsewhere.pk, "", "不存在或不在您的管辖范围内"),
        (999_999, "", "不存在或不在您的管辖范围内"),
    ]
    assert result.summary() == "批量初审通过：共 6 笔，已办理 3 笔，未办理 3 笔"
    states = dict(Claim.objects.values_list("pk", "state"))
    assert [states[c.pk] for c in (m1, m2, m3)] == ["second_review"] * 3
    assert states[own.pk] == states[elsewhere.pk] == "submitted"
    # 复审: the one who did 初审 is refused by four eyes, the claim named with why.
    again = apply_many(reviewer, [m1.pk, m2.pk], "approve", {})
    assert again.moved == 0 and {r.reason for r in again.refused} == {
        "您已做过初审，复审须由另一位审核人员办理（双人审核）"}
    done = apply_many(users["admin_city"], [m1.pk, m2.pk, m3.pk], "approve", {})
    # m3 is below the 起付标准: the step's own check (the engine, at approval) refuses it.
    assert done.moved == 2 and [(r.claim_id, r.reason) for r in done.refused] == [
        (m3.pk, "按目前已审批和已给付的情况重新测算，本次可给付 0.00 元（未达到起付标准（起付标准 "
                "5,000.00 元）），请改为不予给付")]
    assert Claim.objects.get(pk=m1.pk).final == m1.computed
    # The same step again: nothing is applied twice, and the result says so.
    twice = apply_many(users["admin_city"], [m1.pk, m2.pk], "approve", {})
    assert twice.moved == 0
    assert [r.reason for r in twice.refused] == ["已是“已审批待给付”状态，未重复办理"] * 2
    assert ClaimEvent.objects.filter(action="approve").count() == 2


def test_the_role_decides_which_bulk_steps_exist_at_all(users, submitted):
    ids = [submitted["m1"].pk, submitted["m2"].pk]
    for name in ("clerk_a1", "auditor_city", "finance_city"):
        with pytest.raises(BulkRefused, match="您的角色不能复审通过，须由审核员或管理员办理"):
            apply_many(users[name], ids, "approve", {})
    with pytest.raises(BulkRefused, match="不能批量办理这一步骤"):
        apply_many(users["admin_city"], ids, "pay", {})
    assert [t.name for t in bulk.offered(users["clerk_a1"])] == ["submit"]
    assert bulk.offered(users["auditor_city"]) == []
    assert [t.name for t in bulk.offered(users["reviewer_da"])] == [
        "submit", "first_pass", "approve", "return", "reject"]
    # One reason for all, asked before any claim is touched.
    with pytest.raises(BulkRefused, match="请写明不予给付的具体说明"):
        apply_many(users["reviewer_da"], ids, "reject", {"reject_code": "other"})
    assert set(Claim.objects.values_list("state", flat=True)) == {"submitted"}


def test_a_bulk_rejection_applies_one_reason_to_each_claim(users, submitted):
    code = Claim.RejectCode.values[0]
    result = apply_many(users["reviewer_da"], [submitted["m1"].pk], "reject",
                        {"reject_code": code, "note": "重复申请"})
    assert result.moved == 1
    claim = Claim.objects.get(pk=submitted["m1"].pk)
    assert (claim.state, claim.reject_code, claim.reject_text) == ("rejected", code, "重复申请")


def test_the_queue_offers_checkboxes_and_asks_to_confirm(client, users, submitted, settings):
    settings.TASKS = IMMEDIATE
    page = login(client, "reviewer_da").get(reverse("claims:queue")).content.decode()
    for c in (submitted["m1"], submitted["m2"], submitted["m3"]):
        assert f'<input type="checkbox" name="ids" value="{c.pk}"' in page
    assert "全选本页" in page and "选择全部 3 笔符合筛选条件的理赔" in page
    assert '<option value="first_pass">初审通过</option>' in page
    # No step is chosen for the user (提交审核 came first and was preselected): the menu
    # opens on a placeholder, and a form sent without a step changes nothing.
    assert ('id="bulk-step" required><option value="" selected disabled>请选择要办理的步骤'
            '</option><option value=' in page)
    empty = login(client, "reviewer_da").post(
        reverse("claims:bulk"), {"ids": [submitted["m1"].pk], "step": ""}, follow=True)
    assert "请选择要办理的步骤" in empty.content.decode() and not BulkJob.objects.exists()
    auditor = login(client, "auditor_city").get(reverse("claims:queue")).content.decode()
    assert 'id="bulk-form"' not in auditor and 'name="ids"' not in auditor
    # Ticked: the confirmation names the count and the step; nothing has changed yet.
    c = login(client, "reviewer_da")
    ids = [submitted["m1"].pk, submitted["m2"].pk]
    answer = c.post(reverse("claims:bulk"), {"ids": ids, "step": "first_pass"})
    job = BulkJob.objects.get()
    assert answer.status_code == 302 and answer.url == reverse("claims:bulk-job", args=[job.pk])
    confirm = c.get(answer.url).content.decode()
    assert "确认对 2 笔理赔执行“初审通过”？" in confirm and 'id="bulk-run"' in confirm
    assert set(Claim.objects.values_list("state", flat=True)) == {"submitted"}
    result = c.post(reverse("claims:bulk-run", args=[job.pk]))
    assert result.url == reverse("claims:bulk-job", args=[job.pk])
    shown = c.get(result.url).content.decode()
    assert "办理完成。</strong>共 2 笔，已办理 <span id=\"bulk-moved\">2</span> 笔。" in shown
    # The same confirmation sent again runs nothing: the job was taken.
    c.post(reverse("claims:bulk-run", args=[job.pk]))
    assert ClaimEvent.objects.filter(action="first_pass").count() == 2
    # Another user cannot open the job.
    assert login(client, "admin_city").get(result.url).status_code == 404


def test_a_tampered_id_is_refused_without_a_word_about_it(client, users, submitted, elsewhere,
                                                         settings):
    settings.TASKS = IMMEDIATE
    c = login(client, "reviewer_da")
    c.post(reverse("claims:bulk"), {"ids": [submitted["m1"].pk, elsewhere.pk],
                                    "step": "first_pass"})
    job = BulkJob.objects.get()
    c.post(reverse("claims:bulk-run", args=[job.pk]))
    page = c.get(reverse("claims:bulk-job", args=[job.pk])).content.decode()
    assert "已办理 <span id=\"bulk-moved\">1</span> 笔，未办理" in page
    row = page.split(f'id="bulk-refused-{elsewhere.pk}">')[1].split("</tr>")[0]
    assert row == ('<td class="text-end">1</td><td class="masked">—</td>'
                   '<td>不存在或不在您的管辖范围内</td>')
    assert elsewhere.number not in page and elsewhere.member.name not in page
    assert Claim.objects.get(pk=elsewhere.pk).state == "submitted"


def test_an_auditor_or_clerk_cannot_bulk_approve_from_the_page(client, users, submitted):
    for name in ("auditor_city", "clerk_a1"):
        answer = login(client, name).post(reverse("claims:bulk"),
                                          {"ids": [submitted["m1"].pk], "step": "approve"})
        assert answer.status_code == 302 and answer.url == reverse("claims:queue")
        page = client.get(answer.url).content.decode()
        assert "您的角色不能复审通过，须由审核员或管理员办理" in page
    assert not BulkJob.objects.exists()
    assert set(Claim.objects.values_list("state", flat=True)) == {"submitted"}


def test_select_all_matching_keeps_the_filter(client, users, submitted, settings):
    settings.TASKS = IMMEDIATE
    m1, m2, m3 = submitted["m1"], submitted["m2"], submitted["m3"]
    assert m3.computed < m1.computed == m2.computed
    c = login(client, "reviewer_da")
    listed = c.get(reverse("claims:queue"), {"state": "submitted", "min": str(m1.computed)})
    page = listed.content.decode()
    assert "选择全部 2 笔符合筛选条件的理赔" in page
    assert '<input type="hidden" name="min" value="240.00">' in page
    answer = c.post(reverse("claims:bulk"), {"all_matching": "1", "state": "submitted",
                                             "min": "240.00", "step": "first_pass",
                                             "ids": [m3.pk]})  # ticks are not the choice
    job = BulkJob.objects.get()
    assert job.claim_ids == [m1.pk, m2.pk]
    assert job.described == "全部符合筛选条件的理赔（状态：待初审；金额：240.00 元至）"
    assert answer.url == reverse("claims:bulk-job", args=[job.pk]) + "?state=submitted&min=240.00"
    confirm = c.get(answer.url).content.decode()
    assert "确认对 2 笔理赔执行“初审通过”？" in confirm
    assert 'href="/claims/?state=submitted&amp;min=240.00" id="bulk-cancel"' in confirm
    c.post(reverse("claims:bulk-run", args=[job.pk]))
    states = dict(Claim.objects.values_list("pk", "state"))
    assert (states[m1.pk], states[m2.pk], states[m3.pk]) == ("second_review", "second_review",
                                                             "submitted")


def test_a_large_selection_runs_in_the_background_with_progress(client, users, submitted,
                                                                settings, monkeypatch):
    settings.TASKS = DUMMY  # the worker takes the task later
    monkeypatch.setattr(bulk_jobs, "BACKGROUND_OVER", 2)
    ids = [submitted[k].pk for k in ("m1", "m2", "m3")]
    c = login(client, "reviewer_da")
    c.post(reverse("claims:bulk"), {"ids": ids, "step": "first_pass"})
    job = BulkJob.objects.get()
    confirm = c.get(reverse("claims:bulk-job", args=[job.pk])).content.decode()
    assert "所选超过 2 笔，将在后台办理，本页显示进度。" in confirm
    c.post(reverse("claims:bulk-run", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "pending"
    waiting = c.get(reverse("claims:bulk-job", args=[job.pk])).content.decode()
    assert "排队等待后台处理" in waiting and 'hx-trigger="every 1s"' in waiting
    # The worker writes its progress to the job's row as it goes.
    seen = []
    real = bulk_jobs._Reporter.__call__

    def spy(self, done, moved, total):
        real(self, done, moved, total)
        row = BulkJob.objects.get(pk=job.pk)
        seen.append((row.status, row.done, row.moved, row.total))
        if done == 1:
            partial = c.get(reverse("claims:bulk-progress", args=[job.pk])).content.decode()
            assert "正在办理：已处理 1 笔，共 3 笔；已办理 1 笔" in partial
            assert 'aria-valuenow="33"' in partial

    monkeypatch.setattr(bulk_jobs._Reporter, "__call__", spy)
    assert bulk_jobs.run_bulk_job.func(job.pk) == {"job": job.pk, "moved": 3, "refused": 0}
    assert seen[0] == ("running", 1, 1, 3) and seen[-1] == ("running", 3, 3, 3)
    done = c.get(reverse("claims:bulk-progress", args=[job.pk]))
    assert done["HX-Redirect"] == reverse("claims:bulk-job", args=[job.pk])
    page = c.get(reverse("claims:bulk-job", args=[job.pk])).content.decode()
    assert "共 3 笔，已办理 <span id=\"bulk-moved\">3</span> 笔。" in page
    assert set(Claim.objects.values_list("state", flat=True)) == {"second_review"}


def test_many_refusals_are_paged(client, users, submitted, settings, monkeypatch):
    settings.TASKS = IMMEDIATE
    from huzhu.claims import views

    monkeypatch.setattr(views, "REFUSED_PAGE", 2)
    ids = [submitted[k].pk for k in ("m1", "m2", "m3")]
    c = login(client, "reviewer_da")
    c.post(reverse("claims:bulk"), {"ids": ids, "step": "approve"})  # none is in 复审
    job = BulkJob.objects.get()
    c.post(reverse("claims:bulk-run", args=[job.pk]))
    url = reverse("claims:bulk-job", args=[job.pk])
    first = c.get(url).content.decode()
    assert "未办理 <span id=\"bulk-refused-count\">3</span> 笔" in first
    assert first.count('<tr id="bulk-refused-') == 2 and "第 1 页，共 2 页" in first
    assert "理赔当前为“待初审”，不能复审通过" in first
    second = c.get(url, {"page": "2"}).content.decode()
    assert second.count('<tr id="bulk-refused-') == 1
    assert f'id="bulk-refused-{ids[2]}"><td class="text-end">3</td>' in second


def test_a_step_without_a_note_is_named_once_in_the_log(client, users, submitted):
    """Bulk 初审 and 复审 with no note: the audit entry and 办理记录 say the step once
    (the step's default note is its own name, and the log wrote both)."""
    from huzhu.audit.models import AuditEntry

    m1 = submitted["m1"]
    assert apply_many(users["reviewer_da"], [m1.pk], "first_pass", {}).moved == 1
    assert apply_many(users["admin_city"], [m1.pk], "approve", {}).moved == 1
    prefix = f"理赔 {m1.number}（{m1.member.name} {m1.benefit_name}）："
    summaries = list(AuditEntry.objects.filter(summary__startswith=prefix)
                     .order_by("id").values_list("summary", flat=True))
    assert summaries[-2:] == [prefix + "初审通过", prefix + "复审通过，核定 240.00 元"]
    page = login(client, "reviewer_da").get(reverse("claims:detail", args=[m1.pk])).content.decode()
    assert "初审通过，初审通过" not in page and "：初审通过</li>" in page
    assert "：复审通过；核定 240.00 元</li>" in page


def test_an_unconfirmed_bulk_step_is_swept_after_a_day(users, staff, submitted):
    """A selection shown for confirmation and left keeps claim ids in its row: the
    housekeeping sweep deletes it after a day, and leaves a confirmed one and a fresh one."""
    import datetime as dt

    from django.utils import timezone

    from huzhu.claims import housekeeping

    claim = submitted["m1"]
    old = bulk_jobs.prepare(users["reviewer_da"], [claim.pk], "first_pass", "勾选 1 笔")
    fresh = bulk_jobs.prepare(users["reviewer_da"], [claim.pk], "first_pass", "勾选 1 笔")
    done = bulk_jobs.prepare(users["reviewer_da"], [claim.pk], "first_pass", "勾选 1 笔")
    BulkJob.objects.filter(pk__in=[old.pk, done.pk]).update(
        created_at=timezone.now() - dt.timedelta(days=1, minutes=1))
    BulkJob.objects.filter(pk=done.pk).update(status=BulkJob.Status.DONE)
    assert housekeeping.sweep()["删除的未确认批量办理"] == 1
    assert set(BulkJob.objects.values_list("pk", flat=True)) == {fresh.pk, done.pk}
