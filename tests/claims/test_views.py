"""The claims pages: filing from the member page with a form generated from the policy,
the claim page with its allowed steps, the queue per role, scope."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from huzhu.claims.models import Claim
from huzhu.claims.workflow import apply
from tests.claims.conftest import add_materials
from tests.fixtures import PASSWORD

D = dt.date


def login(client, username):
    client.logout()
    assert client.login(username=username, password=PASSWORD)
    return client


def test_filing_offers_the_covering_benefits_and_asks_what_the_policy_needs(
        client, users, staff, changchun):
    c = login(client, "clerk_a1")
    url = reverse("claims:new", args=[staff["m1"].pk])
    page = c.get(url, {"day": "2026-03-10"}).content.decode()
    assert "住院医疗补贴" in page and "非工伤意外伤害补贴" in page and "家庭财产火灾" in page
    form = c.get(url, {"day": "2026-03-10", "benefit": "changchun-2023:hospital"})
    body = form.content.decode()
    assert "医保报销后个人现金支付" in body and "出院日期" in body and "诊断编码" in body
    assert "火灾事故认定书编号" not in body  # not this benefit's
    fire = c.get(url, {"day": "2026-03-10", "benefit": "changchun-2023:fire"}).content.decode()
    assert "核定损失金额" in fire and "火灾事故认定书编号" in fire and "诊断编码" not in fire
    accident = c.get(url, {"day": "2026-03-10",
                           "benefit": "changchun-2023:accident"}).content.decode()
    assert "伤害结果" in accident and "伤残等级" in accident and "是否工伤" in accident
    response = c.post(url, {"day": "2026-03-10", "benefit": "changchun-2023:hospital",
                            "event_date": "2026-03-10", "admit_date": "2026-03-01",
                            "out_of_pocket": "12000.00", "diagnosis": "i21.9；I10",
                            "invoice_number": "INV-1"})
    claim = Claim.objects.get()
    assert response.url == reverse("claims:detail", args=[claim.pk])
    assert claim.diagnosis == "I21.9;I10" and claim.out_of_pocket == Decimal("12000.00")


def test_bad_facts_are_refused_in_the_form(client, users, staff, changchun):
    c = login(client, "clerk_a1")
    url = reverse("claims:new", args=[staff["m1"].pk])
    body = c.post(url, {"day": "2026-03-10", "benefit": "changchun-2023:hospital",
                        "event_date": "2026-03-10", "admit_date": "2026-03-12",
                        "out_of_pocket": "-1", "diagnosis": "心梗"}).content.decode()
    assert "入院日期不能晚于出院日期" in body and "格式不对" in body
    assert Claim.objects.count() == 0


def test_the_event_date_is_the_day_whose_cover_was_checked(client, users, staff, changchun):
    """A claim dated 2026-11-20 was filed under the cover checked for 2025-06-01."""
    c = login(client, "clerk_a1")
    url = reverse("claims:new", args=[staff["m1"].pk])
    body = c.post(url, {"day": "2026-03-10", "benefit": "changchun-2023:hospital",
                        "event_date": "2026-04-20", "admit_date": "2026-04-01",
                        "out_of_pocket": "12000.00", "diagnosis": "I21.9"}).content.decode()
    assert "事件日期应为查询保障的日期 2026-03-10" in body
    assert Claim.objects.count() == 0


def test_a_premium_scheme_offers_nothing_to_an_unpaid_member(client, users, units, staff,
                                                             period):
    from huzhu.coverage import enrolment

    enrolment.enrol_unit(users["clerk_a1"], period, units["a1"], on=D(2026, 2, 1))
    page = login(client, "clerk_a1").get(reverse("claims:new", args=[staff["m1"].pk]),
                                         {"day": "2026-03-10"}).content.decode()
    # Issue 21: said outright, not left off the list without a word.
    assert 'id="no-offers"' in page and "的全部项目：未缴费：已参保，待单位缴费后生效" in page


def test_the_claim_page_shows_the_computation_and_only_allowed_steps(client, users, staff,
                                                                     file_hospital):
    claim = file_hospital(staff["m1"])
    apply(users["clerk_a1"], claim.pk, "submit")
    clerk_page = login(client, "clerk_a1").get(
        reverse("claims:detail", args=[claim.pk])).content.decode()
    assert "240.00 元" in clerk_page and "超过 10,000.00 元至 20,000.00 元（含）一档" in clerk_page
    assert "按 2% 计" in clerk_page and "(10000,20000]" not in clerk_page
    assert 'id="do-first_pass"' not in clerk_page and 'id="do-withdraw"' in clerk_page
    reviewer = login(client, "reviewer_da")
    page = reviewer.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert 'id="do-first_pass"' in page and 'id="do-reject"' in page
    response = reviewer.post(reverse("claims:step", args=[claim.pk, "first_pass"]),
                             HTTP_HX_REQUEST="true")
    assert "待复审" in response.content.decode()
    assert Claim.objects.get(pk=claim.pk).state == "second_review"


def test_the_claim_page_says_why_each_step_is_refused_and_who_may_take_it(
        client, users, staff, file_hospital):
    """Issue 21: the page said only "您目前不能办理这笔理赔。"; each step someone could take
    now that this user may not is listed with the workflow's reason."""
    claim = file_hospital(staff["m1"])
    apply(users["clerk_a1"], claim.pk, "submit")
    url = reverse("claims:detail", args=[claim.pk])
    clerk = login(client, "clerk_a1").get(url).content.decode()
    assert ('<li id="why-not-first_pass">初审通过：您的角色不能初审通过，'
            '须由审核员或管理员办理</li>') in clerk
    apply(users["admin_city"], claim.pk, "first_pass")
    admin = login(client, "admin_city").get(url).content.decode()
    assert 'id="do-return"' in admin and "其他步骤：" in admin  # may still return it
    assert ('<li id="why-not-approve">复审通过：您已做过初审，'
            '复审须由另一位审核人员办理（双人审核）</li>') in admin
    assert "撤回" not in admin.split('id="step-refusals"')[1].split("</div>")[0]  # not now
    auditor = login(client, "auditor_city").get(url).content.decode()
    assert 'id="no-actions">您目前不能办理这笔理赔：</p>' in auditor
    assert "复审通过：您的角色不能复审通过，须由审核员或管理员办理" in auditor
    apply(users["reviewer_da"], claim.pk, "approve")
    done = login(client, "reviewer_da").get(url).content.decode()
    assert 'id="no-actions">已审批，等待财务人员在“给付批次”页面加入批次。</p>' in done


def test_a_refused_step_by_htmx_says_why_in_the_answer(client, users, staff, file_hospital):
    """The htmx answer is the claim partial, which has no message area: the refusal must
    be in it, not queued for some later full page."""
    claim = file_hospital(staff["m1"], materials=False)
    clerk = login(client, "clerk_a1")
    answer = clerk.post(reverse("claims:step", args=[claim.pk, "submit"]),
                        HTTP_HX_REQUEST="true").content.decode()
    assert 'id="step-error"' in answer and "缺少申请材料" in answer
    assert Claim.objects.get(pk=claim.pk).state == "draft"
    later = clerk.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert "缺少申请材料" not in later  # not shown again out of context
    add_materials(claim, users["clerk_a1"])
    answer = clerk.post(reverse("claims:step", args=[claim.pk, "submit"]),
                        HTTP_HX_REQUEST="true").content.decode()
    assert 'id="step-notice"' in answer and 'id="step-error"' not in answer


def test_the_queue_opens_on_each_roles_work_and_stays_in_scope(client, users, staff,
                                                               file_hospital, make_member):
    draft = file_hospital(staff["m1"])
    submitted = file_hospital(staff["m2"])
    apply(users["clerk_a1"], submitted.pk, "submit")
    clerk = login(client, "clerk_a1").get(reverse("claims:queue")).content.decode()
    assert draft.number in clerk and submitted.number not in clerk
    reviewer = login(client, "reviewer_da").get(reverse("claims:queue")).content.decode()
    assert submitted.number in reviewer and draft.number not in reviewer
    # The follow-up list is linked only for the roles that may open it.
    assert 'id="follow-up-link"' in reviewer and 'id="follow-up-link"' not in clerk
    other = make_member("b1", name="乙会员")
    add = file_hospital(other, user="clerk_b1")
    mine = login(client, "clerk_a1").get(reverse("claims:queue"), {"state": "all"})
    assert add.number not in mine.content.decode()
    assert login(client, "clerk_a1").get(
        reverse("claims:detail", args=[add.pk])).status_code == 404


def test_the_member_page_lists_claims_and_what_was_paid_this_year(client, users, staff,
                                                                  file_hospital, today):
    claim = file_hospital(staff["m1"], day=D(2026, 4, 10))
    apply(users["clerk_a1"], claim.pk, "submit")
    apply(users["reviewer_da"], claim.pk, "first_pass")
    apply(users["admin_city"], claim.pk, "approve")
    page = login(client, "clerk_a1").get(
        reverse("members:detail", args=[staff["m1"].pk])).content.decode()
    assert claim.number in page and "2026 年已核定给付：住院医疗补贴 240.00 元" in page


def test_materials_missing_are_listed_on_the_page(client, users, staff, file_hospital):
    claim = file_hospital(staff["m1"], materials=False)
    c = login(client, "clerk_a1")
    response = c.post(reverse("claims:step", args=[claim.pk, "submit"]), follow=True)
    assert "缺少申请材料" in response.content.decode()
    add_materials(claim, users["clerk_a1"])
    c.post(reverse("claims:step", args=[claim.pk, "submit"]))
    assert Claim.objects.get(pk=claim.pk).state == "submitted"


def test_the_open_claims_index_covers_the_queues_open_states():
    """The partial index of the open claims (migration 0003) must name the same states
    as the queue, or a queue of a new open state would fall back to a full scan."""
    import importlib

    from huzhu.claims import queue

    migration = importlib.import_module("huzhu.claims.migrations.0003_bench_indexes")
    assert set(migration.OPEN_STATES) == {str(s) for s in queue.OPEN}


def test_the_queue_counts_open_states_and_links_closed_ones(client, users, staff,
                                                             file_hospital):
    submitted = file_hospital(staff["m1"])
    apply(users["clerk_a1"], submitted.pk, "submit")
    page = login(client, "reviewer_da").get(reverse("claims:queue")).content.decode()
    assert 'id="state-submitted"' in page and "待初审 <span" in page
    assert 'id="state-paid"' in page and "已给付 <span" not in page  # a link, no count
    assert 'id="state-draft"' not in page  # an open state with nothing in it


def test_the_queue_total_is_the_sum_of_its_states_counts_when_only_states_filter(
        users, staff, file_hospital):
    from huzhu.claims import queue

    for m in ("m1", "m2"):
        apply(users["clerk_a1"], file_hospital(staff[m]).pk, "submit")
    reviewer = users["reviewer_da"]
    f = queue.QueueFilter.from_params(reviewer, {})
    counts = queue.state_counts(reviewer)
    assert queue.total_from_counts(f, counts) == queue.filtered(reviewer, f).count() == 2
    narrowed = queue.QueueFilter.from_params(reviewer, {"benefit": "hospital"})
    assert queue.total_from_counts(narrowed, counts) is None  # counted by the page then
    every = queue.QueueFilter.from_params(reviewer, {"state": "all"})
    assert queue.total_from_counts(every, counts) is None  # closed states are not counted


def test_the_follow_up_link_is_shown_only_to_those_who_may_open_it(client, users):
    clerk = login(client, "clerk_a1").get(reverse("claims:queue")).content.decode()
    assert 'id="follow-up-link"' not in clerk  # the list answers 403 to a clerk
    reviewer = login(client, "reviewer_da").get(reverse("claims:queue")).content.decode()
    assert 'id="follow-up-link"' in reviewer


BAD_AMOUNTS = {
    "abc": "核定金额应为数字",
    "1,000": "核定金额应为数字",
    "NaN": "核定金额应为数字",
    "sNaN": "核定金额应为数字",
    "Infinity": "核定金额应为数字",
    "1e30": "核定金额过大",
    "-1": "核定金额不能小于零",
    "0.001": "核定金额最多两位小数",
}


@pytest.mark.parametrize("typed", list(BAD_AMOUNTS))
def test_a_mistyped_amount_is_refused_with_a_message_and_changes_nothing(
        typed, client, users, staff, file_hospital):
    """What a reviewer types as 核定金额 is parsed by the step's form: a word, a grouped
    number, NaN, an infinity or a number too large once raised decimal.InvalidOperation
    (a 500); each is now a message on the page, and the claim stays as it was."""
    claim = file_hospital(staff["m1"])
    apply(users["clerk_a1"], claim.pk, "submit")
    events = claim.history.count()
    reviewer = login(client, "reviewer_da")
    url = reverse("claims:step", args=[claim.pk, "first_pass"])
    answer = reviewer.post(url, {"amount": typed, "note": "核减"}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200
    body = answer.content.decode()
    assert 'id="step-error"' in body and BAD_AMOUNTS[typed] in body
    response = reviewer.post(url, {"amount": typed, "note": "核减"}, follow=True)
    assert BAD_AMOUNTS[typed] in response.content.decode()
    after = Claim.objects.get(pk=claim.pk)
    assert (after.state, after.final, after.first_reviewed_by_id) == ("submitted", None, None)
    assert after.history.count() == events


def test_the_late_exception_form_goes_through_the_workflow(client, users, staff, file_hospital,
                                                           monkeypatch):
    """The form at claims:late-exception takes the table's late_exception step: refused for
    the filer, recorded (history and audit) for a reviewer, and the clerk may submit."""
    from django.utils import timezone

    from huzhu.audit.models import AuditEntry

    claim = file_hospital(staff["m1"], day=D(2026, 1, 5))
    monkeypatch.setattr(timezone, "localdate", lambda: D(2026, 3, 10))  # past 60 days
    url = reverse("claims:late-exception", args=[claim.pk])
    page = login(client, "clerk_a1").post(url, {"reason": "住院期间无法申请"}, follow=True)
    assert "只有审核员可以批准逾期申请" in page.content.decode()
    page = login(client, "reviewer_da").post(url, {"reason": ""}, follow=True)
    assert "请写明允许逾期申请的理由" in page.content.decode()
    page = client.post(url, {"reason": "住院期间无法申请"}, follow=True)
    assert "已记录逾期例外" in page.content.decode()
    claim = Claim.objects.get(pk=claim.pk)
    assert claim.late_exception_by == users["reviewer_da"] and claim.state == "draft"
    assert claim.history.filter(action="late_exception").count() == 1
    assert AuditEntry.objects.filter(summary__contains="批准逾期申请").count() == 1
    assert apply(users["clerk_a1"], claim.pk, "submit").state == "submitted"


def test_the_return_step_offers_this_benefits_materials_not_every_kind(client, users, staff,
                                                                       file_hospital):
    """退回补充材料 lists what the benefit asks for (a hospital claim: not the fire
    report or the death certificate), so a reviewer cannot ask for a paper that does
    not apply."""
    import re

    from huzhu.claims.materials.required import required
    from huzhu.rules.schema import MATERIALS

    claim = file_hospital(staff["m1"])
    apply(users["clerk_a1"], claim.pk, "submit")
    page = login(client, "reviewer_da").get(
        reverse("claims:detail", args=[claim.pk])).content.decode()
    form = page[page.index('id="step-return"'):]
    form = form[:form.index("</form>")]
    offered = re.findall(r'name="missing" value="([a-z_]+)"', form)
    assert offered == required(claim) and 0 < len(offered) < len(MATERIALS)
