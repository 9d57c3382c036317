"""Review by exception (抽样复核) of a proactive run: which claims go straight through, the
sample drawn from a recorded seed, and the one decision on all the others — refused while
the sample is open, refused (the run to full review) over the threshold, four eyes, a
family whose caps moved since the run left out, and a second approve changing nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from huzhu.audit.models import AuditEntry
from huzhu.claims.models import Claim, ClaimEvent
from huzhu.claims.workflow import apply
from huzhu.feeds.models.proactive import ProactiveSample, ProactiveSampleClaim
from huzhu.feeds.proactive import review
from huzhu.members.models import Member
from huzhu.notify.models import OutboxMessage
from huzhu.orgs.models import User
from tests.claims.conftest import add_materials
from tests.coverage.conftest import admin, free_scheme  # noqa: F401
from tests.feeds.batch_helpers import feed_file, member_stay, run_feed
from tests.fixtures import PASSWORD

pytestmark = pytest.mark.django_db
S = Claim.State
D = dt.date
N = 30  # straight-through claims of the run


@pytest.fixture
def people(users, tree):
    """Two reviewers who see the whole city besides the admin; a grassroots clerk."""
    made = dict(users)
    for name in ("reviewer_city", "reviewer_city2"):
        made[name] = User.objects.create_user(username=name, password=PASSWORD,
                                              role=User.Role.REVIEWER, union=tree["city"])
    return made


@pytest.fixture
def city_run(feed_dir, make_member, free_scheme, people):  # noqa: F811
    """A run of 30 straight-through claims (7,000.00 to 9,900.00 out of pocket), one over
    the ceiling (12,160.00) and a member's two stays four days apart with one diagnosis
    (a readmission signal on both)."""
    members = [make_member("a1", name=f"会员{i:02d}", birth=D(1970, 1, 1) + dt.timedelta(days=i),
                           phone=f"1380013{i:04d}") for i in range(N)]
    big = make_member("a1", name="高额", birth=D(1975, 1, 1))
    twice = make_member("a2", name="再入", birth=D(1976, 1, 1))
    rows = [member_stay(m, f"{7000 + 100 * i}.00") for i, m in enumerate(members)]
    rows.append(member_stay(big, "152000.00"))
    rows.append(member_stay(twice, "8000.00", admit_date="2026-03-01",
                            discharge_date="2026-03-10"))
    rows.append(member_stay(twice, "8000.00", admit_date="2026-03-14",
                            discharge_date="2026-03-20"))
    run = run_feed(feed_file(feed_dir, rows), free_scheme, user=people["admin_city"]).run
    run.members, run.big, run.twice = members, big, twice
    return run


def _review(claim_id: int, first: User, second: User, **first_data) -> Claim:
    """An ordinary two-level review: submitted (materials added), 初审, 复审."""
    claim = Claim.objects.get(pk=claim_id)
    add_materials(claim, first)
    apply(first, claim_id, "submit")
    apply(first, claim_id, "first_pass", **first_data)
    return apply(second, claim_id, "approve")


def _review_sample(sample: ProactiveSample, people) -> None:
    for pk in ProactiveSampleClaim.objects.filter(sample=sample).values_list("claim_id",
                                                                              flat=True):
        _review(pk, people["reviewer_city2"], people["admin_city"])


def test_over_the_ceiling_and_flagged_claims_do_not_go_straight_through(city_run):
    rows = review.straight_through_rows(city_run, Decimal("10000.00"))
    ids = {pk for pk, _ in rows}
    assert len(rows) == N
    big = Claim.objects.get(member=city_run.big)
    assert big.computed == Decimal("12160.00") and big.pk not in ids
    twice = list(Claim.objects.filter(member=city_run.twice))
    assert len(twice) == 2 and not ids & {c.pk for c in twice}
    # The amounts add up to the fen: 1.5% of 7,000.00 … 9,900.00 out of pocket.
    shown = review.straight_through(city_run)
    assert shown.count == N
    assert shown.amount == sum((c.computed for c in Claim.objects.filter(pk__in=ids)),
                               Decimal("0"))
    # A raised ceiling lets the large one through; a claim a person moved never is.
    assert big.pk in {pk for pk, _ in review.straight_through_rows(city_run,
                                                                   Decimal("20000.00"))}
    first = min(ids)
    Claim.objects.filter(pk=first).update(state=S.SUBMITTED)
    assert first not in {pk for pk, _ in review.straight_through_rows(city_run,
                                                                      Decimal("10000.00"))}


def test_the_sample_size_and_its_seed(city_run, people):
    ids = sorted(pk for pk, _ in review.straight_through_rows(city_run, Decimal("10000.00")))
    assert review.sample_size(N, Decimal("10")) == 3
    assert review.sample_size(N, Decimal("5")) == 2  # 1.5 rounded up
    assert review.sample_size(150, Decimal("1")) == 2
    # Deterministic by seed: the same seed draws the same claims.
    assert review.draw_ids(ids, Decimal("10"), 42) == review.draw_ids(ids, Decimal("10"), 42)
    assert len({tuple(review.draw_ids(ids, Decimal("10"), s)) for s in range(20)}) > 1
    big = Claim.objects.get(member=city_run.big)
    sample = review.draw(people["reviewer_city"], city_run, percent="10", seed=42,
                         add=[big.pk])
    picked = review.draw_ids(ids, Decimal("10"), 42)
    rows = ProactiveSampleClaim.objects.filter(sample=sample)
    assert sorted(rows.filter(added=False).values_list("claim_id", flat=True)) == picked
    assert list(rows.filter(added=True).values_list("claim_id", "amount")) == [
        (big.pk, Decimal("12160.00"))]
    assert (sample.seed, sample.percent, sample.size, sample.drawn, sample.added,
            sample.straight_through) == (42, Decimal("10.00"), 4, 3, 1, N)
    assert (sample.ceiling, sample.threshold) == (Decimal("10000.00"), Decimal("2.00"))
    entry = AuditEntry.objects.get(action=AuditEntry.Action.PROACTIVE_SAMPLED)
    assert entry.actor == people["reviewer_city"]
    assert entry.changes["seed"] == 42 and entry.changes["percent"] == "10"
    assert entry.changes["sample_size"] == 4
    assert f"抽取复核样本 4 笔（直通理赔 30 笔中按 10% 随机抽取 3 笔，另加入 1 笔，随机种子 42）" \
        f"，第 {sample.pk} 号抽样复核决定" in entry.summary
    # One sample per run.
    with pytest.raises(review.ReviewRefused, match="不能重复抽样"):
        review.draw(people["admin_city"], city_run, percent="1")


def test_a_draw_refused_changes_nothing(city_run, people):
    other = Claim.objects.exclude(member__in=city_run.members).exclude(
        member=city_run.big).first()
    Claim.objects.filter(pk=other.pk).update(state=S.REJECTED)
    with pytest.raises(review.ReviewRefused, match=f"理赔 {other.number} 当前为“不予给付”"):
        review.draw(people["reviewer_city"], city_run, percent="10", add=[other.pk])
    with pytest.raises(review.ReviewRefused, match="不是本次测算生成的理赔"):
        review.draw(people["reviewer_city"], city_run, percent="10", add=[999999])
    with pytest.raises(review.ReviewRefused, match="抽样比例应大于 0、不超过 100"):
        review.draw(people["reviewer_city"], city_run, percent="0")
    with pytest.raises(review.ReviewRefused, match="抽样比例“abc”不是数字"):
        review.draw(people["reviewer_city"], city_run, percent="abc")
    with pytest.raises(review.ReviewRefused, match="您的角色不能抽取复核样本"):
        review.draw(people["clerk_a1"], city_run, percent="10")
    with pytest.raises(review.ReviewRefused, match="不全在您的管辖范围内"):
        review.draw(people["reviewer_da"], city_run, percent="10")
    assert not ProactiveSample.objects.exists()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.PROACTIVE_SAMPLED).exists()


def test_four_eyes_on_the_decision(city_run, people):
    sample = review.draw(people["reviewer_city"], city_run, percent="10", seed=1)
    _review_sample(sample, people)
    with pytest.raises(review.ReviewRefused,
                       match="您抽取了这份样本，批量核准须由另一位审核人员办理（双人审核）"):
        review.approve(people["reviewer_city"], city_run)
    with pytest.raises(review.ReviewRefused, match="您的角色不能批量核准"):
        review.approve(people["clerk_a1"], city_run)
    assert Claim.objects.filter(state=S.APPROVED).count() == 3  # the sample only


def test_refused_while_a_sampled_claim_is_open(city_run, people):
    sample = review.draw(people["reviewer_city"], city_run, percent="10", seed=3)
    first = ProactiveSampleClaim.objects.filter(sample=sample).first()
    _review(first.claim_id, people["reviewer_city2"], people["admin_city"])
    with pytest.raises(review.ReviewRefused,
                       match="样本中还有 2 笔理赔未审完（共 3 笔），全部审完"):
        review.approve(people["reviewer_city2"], city_run)
    sample.refresh_from_db()
    assert sample.status == ProactiveSample.Status.OPEN
    assert Claim.objects.filter(state=S.APPROVED).count() == 1


def test_the_rest_approved_in_one_decision_and_a_rerun_changes_nothing(city_run, people):
    sample = review.draw(people["reviewer_city"], city_run, percent="10", seed=5)
    _review_sample(sample, people)
    approver = people["reviewer_city2"]
    decision = review.approve(approver, city_run)
    rest = Claim.objects.filter(proactive_decision=sample.pk)
    assert decision.approved == rest.count() == N - 3
    total = sum((c.computed for c in rest), Decimal("0"))
    assert decision.amount == total
    sample.refresh_from_db()
    assert (sample.status, sample.decided_by, sample.approved, sample.approved_amount,
            sample.dropped) == (ProactiveSample.Status.APPROVED, approver, N - 3, total, 0)
    for claim in rest:
        assert claim.state == S.APPROVED and claim.final == claim.computed
        assert claim.second_reviewed_by == approver and claim.approved_at is not None
        last = claim.history.order_by("id").last()
        assert (last.action, last.from_state, last.to_state, last.actor) == (
            "approve", S.PROACTIVE, S.APPROVED, approver)
        assert last.note == f"批量核准：第 {sample.pk} 号抽样复核决定；核定 {claim.final:,.2f} 元"
    # The members' SMS, as a claim approved on its own sends it.
    one = rest.select_related("member").first()
    sms = OutboxMessage.objects.get(kind="claims.approved", member=one.member)
    assert sms.text == (f"【测试市总工会】{one.member.name}您好，您的{one.benefit_name}申请"
                        f"（{one.number}）已审批，核定给付 {one.final:,.2f} 元，"
                        "将尽快转入您的银行账户。")
    assert OutboxMessage.objects.filter(kind="claims.approved").count() == N
    # Over the ceiling and flagged: still awaiting ordinary review.
    assert Claim.objects.get(member=city_run.big).state == S.PROACTIVE
    assert set(Claim.objects.filter(member=city_run.twice).values_list("state", flat=True)) \
        == {S.PROACTIVE}
    entry = AuditEntry.objects.get(action=AuditEntry.Action.PROACTIVE_APPROVED)
    assert entry.changes["claims"] == N - 3 and entry.changes["sample_size"] == 3
    assert entry.changes["seed"] == 5 and entry.changes["rejected"] == 0
    assert f"第 {sample.pk} 号抽样复核决定：批量核准 27 笔" in entry.summary
    # The readmitted member's two claims carry a signal: named, left to ordinary review.
    assert "，2 笔有审核提示，按普通两级审核办理；样本 3 笔中不予给付 0 笔" in decision.message
    assert entry.changes["flagged"] == 2
    # Again: nothing changes.
    events, messages = ClaimEvent.objects.count(), OutboxMessage.objects.count()
    again = review.approve(people["admin_city"], city_run)
    assert again.approved == 0 and again.already
    assert again.message.startswith(f"第 {sample.pk} 号抽样复核决定已于 ")
    assert again.message.endswith("批量核准 27 笔，本次核准 0 笔")
    assert (ClaimEvent.objects.count(), OutboxMessage.objects.count()) == (events, messages)
    assert AuditEntry.objects.filter(action=AuditEntry.Action.PROACTIVE_APPROVED).count() == 1


def test_over_the_threshold_the_run_goes_to_full_review(city_run, people):
    sample = review.draw(people["reviewer_city"], city_run, percent="10", seed=8)
    ids = list(ProactiveSampleClaim.objects.filter(sample=sample).order_by("claim_id")
               .values_list("claim_id", flat=True))
    lowered = Claim.objects.get(pk=ids[0])
    _review(ids[0], people["reviewer_city2"], people["admin_city"],
            amount=lowered.computed - Decimal("10.00"), note="发票金额有误")
    for pk in ids[1:]:
        _review(pk, people["reviewer_city2"], people["admin_city"])
    decision = review.approve(people["reviewer_city2"], city_run)
    assert decision.approved == 0
    assert decision.refusal == ("样本 3 笔中不予给付 0 笔、核减 1 笔，占 33.33%，超过保障项目的"
                                "阈值 2%：不予批量核准，该次测算的 30 笔直通理赔转为逐笔审核"
                                "（初审、复审）")
    sample.refresh_from_db()
    assert sample.status == ProactiveSample.Status.FULL_REVIEW and sample.lowered == 1
    assert Claim.objects.filter(state=S.PROACTIVE).count() == N - 3 + 3  # + big, twice×2
    entry = AuditEntry.objects.get(action=AuditEntry.Action.PROACTIVE_REFUSED)
    assert entry.changes["lowered"] == 1 and entry.changes["share"] == "33.33"
    again = review.approve(people["admin_city"], city_run)
    assert again.approved == 0 and "转为逐笔审核" in again.message
    assert not Claim.objects.filter(proactive_decision__isnull=False).exists()


def test_a_rejected_sample_claim_counts_and_a_lenient_threshold_passes(city_run, people,
                                                                       free_scheme):  # noqa: F811
    free_scheme.sample_threshold = Decimal("50.00")
    free_scheme.save()
    sample = review.draw(people["reviewer_city"], city_run, percent="10", seed=9)
    ids = list(ProactiveSampleClaim.objects.filter(sample=sample).values_list("claim_id",
                                                                               flat=True))
    apply(people["reviewer_city2"], ids[0], "reject", reject_code="not_eligible",
          note="已另行领取")
    for pk in ids[1:]:
        _review(pk, people["reviewer_city2"], people["admin_city"])
    decision = review.approve(people["reviewer_city2"], city_run)
    assert decision.approved == N - 3
    assert "样本 3 笔中不予给付 1 笔、核减 0 笔，占 33.33%，未超过阈值 50%" in decision.message


def test_a_family_approved_since_the_run_drops_out(city_run, people):
    sample = review.draw(people["reviewer_city"], city_run, percent="10", seed=11)
    sampled = set(ProactiveSampleClaim.objects.filter(sample=sample)
                  .values_list("claim_id", flat=True))
    relative = next(m for m in city_run.members
                    if Claim.objects.get(member=m).pk not in sampled)
    # The relative's family head had a claim approved since the run: the engine's amount
    # for the relative no longer reflects the family's history.
    Member.objects.filter(pk=relative.pk).update(family_head=city_run.big)
    _review(Claim.objects.get(member=city_run.big).pk, people["reviewer_city2"],
            people["admin_city"])
    _review_sample(sample, people)
    decision = review.approve(people["reviewer_city2"], city_run)
    assert decision.dropped == 1 and decision.approved == N - 3 - 1
    assert "1 笔因同一家庭在测算后已有理赔获批（上限须重新测算）转为逐笔审核" in decision.message
    assert Claim.objects.get(member=relative).state == S.PROACTIVE
    sample.refresh_from_db()
    assert sample.dropped == 1


def test_the_run_page_draws_lists_and_approves(client, city_run, people):
    page = f"/feeds/runs/{city_run.pk}/"
    assert client.login(username="reviewer_city", password=PASSWORD)
    html = client.get(page).content.decode()
    shown = review.straight_through(city_run)
    assert f"测算编号 {city_run.pk}" in html
    assert f"直通理赔 <strong>30</strong> 笔，合计 <strong>{shown.amount:,.2f}</strong> 元" in html
    assert "不超过 2%" in html and "金额不超过 10,000.00 元" in html
    big = Claim.objects.get(member=city_run.big)
    answer = client.post(f"{page}sample/", {"percent": "10", "seed": "42",
                                            "add": f"{big.number.lower()}"}, follow=True)
    sample = ProactiveSample.objects.get()
    assert "已抽取复核样本 4 笔" in answer.content.decode()
    assert sample.added == 1 and sample.seed == 42
    html = client.get(page).content.decode()
    assert "<td>4</td><td>0</td><td>0</td><td>0</td><td>0.00%（阈值 2%）</td>" in html
    # The queue lists the sample, and only it.
    queue = client.get(f"/claims/?state=all&sample={sample.pk}").content.decode()
    for claim in Claim.objects.all():
        in_sample = ProactiveSampleClaim.objects.filter(sample=sample, claim=claim).exists()
        assert (claim.number in queue) == in_sample
    # The sampler is told why not; the other reviewer too, while the sample is open.
    assert "您抽取了这份样本，批量核准须由另一位审核人员办理（双人审核）" in html
    _review_sample(sample, people)
    answer = client.post(f"{page}approve/", follow=True).content.decode()
    assert "不予批量核准：您抽取了这份样本" in answer
    client.logout()
    assert client.login(username="reviewer_city2", password=PASSWORD)
    assert 'id="approve-rest"' in client.get(page).content.decode()
    answer = client.post(f"{page}approve/", follow=True).content.decode()
    assert f"第 {sample.pk} 号抽样复核决定：批量核准 27 笔" in answer
    assert "reviewer_city2" in client.get(page).content.decode()
    assert Claim.objects.filter(proactive_decision=sample.pk).count() == N - 3


def test_a_page_draw_with_a_wrong_number_changes_nothing(client, city_run, people):
    assert client.login(username="reviewer_city", password=PASSWORD)
    answer = client.post(f"/feeds/runs/{city_run.pk}/sample/",
                         {"percent": "10", "add": "LP20269999999"}, follow=True)
    assert "未抽样：理赔编号 LP20269999999 不是本次测算生成的理赔" in answer.content.decode()
    answer = client.post(f"/feeds/runs/{city_run.pk}/sample/",
                         {"percent": "10", "seed": "-3"}, follow=True)
    assert "随机种子“-3”应为不小于零的整数" in answer.content.decode()
    assert not ProactiveSample.objects.exists()


def test_the_schemes_settings_are_shown_in_words_and_edited_by_an_admin(client, people,
                                                                         free_scheme):  # noqa: F811
    page = f"/coverage/{free_scheme.code}/"
    assert client.login(username="admin_city", password=PASSWORD)
    html = client.get(page).content.decode()
    assert ("金额不超过 10,000.00 元、无审核提示的免申即享理赔可抽样复核后批量核准；样本中不予给付"
            "或核减的比例超过 2% 时，该次测算全部转为逐笔审核") in html
    answer = client.post(f"{page}straight-through/", {"straight_through_upto": "abc",
                                                      "sample_threshold": "120"})
    assert answer.status_code == 200 and "请修改标红的项目" in answer.content.decode()
    answer = client.post(f"{page}straight-through/", {"straight_through_upto": "5000",
                                                      "sample_threshold": "0.5"})
    assert answer.status_code == 302
    free_scheme.refresh_from_db()
    assert (free_scheme.straight_through_upto, free_scheme.sample_threshold) == (
        Decimal("5000.00"), Decimal("0.50"))
    assert "金额不超过 5,000.00 元" in client.get(page).content.decode()
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.SCHEME_CHANGED).latest("pk")
    assert "超过 0.5% 时" in entry.summary and "（原为：金额不超过 10,000.00 元" in entry.summary
    client.logout()
    assert client.login(username="reviewer_city", password=PASSWORD)
    assert client.get(f"{page}straight-through/").status_code == 403


def test_a_new_scheme_takes_the_defaults_or_the_values_given(client, people, tree):
    from huzhu.coverage.models import Scheme

    assert client.login(username="admin_city", password=PASSWORD)
    form = {"policy_name": "changchun-2023", "union": tree["city"].pk,
            "coverage_start": "on_payment", "mid_period": "pro_rata", "share_of": "all"}
    assert client.post("/coverage/new/", form).status_code == 302
    made = Scheme.objects.get()
    assert (made.straight_through_upto, made.sample_threshold) == (Decimal("10000.00"),
                                                                   Decimal("2.00"))
    assert client.post("/coverage/new/", {**form, "code": "cc-2", "straight_through_upto":
                                         "8000.00", "sample_threshold": "1"}).status_code == 302
    other = Scheme.objects.get(code="cc-2")
    assert (other.straight_through_upto, other.sample_threshold) == (Decimal("8000.00"),
                                                                     Decimal("1.00"))


def test_a_run_the_system_started_is_sampled_by_those_who_see_the_schemes_union(
        feed_dir, make_member, free_scheme, people):  # noqa: F811
    members = [make_member("a1", name=f"系统{i}", birth=D(1980, 1, 1) + dt.timedelta(days=i))
               for i in range(3)]
    run = run_feed(feed_file(feed_dir, [member_stay(m, "7000.00") for m in members]),
                   free_scheme).run
    assert run.union is None
    with pytest.raises(review.ReviewRefused, match="不全在您的管辖范围内"):
        review.draw(people["reviewer_da"], run, percent="50")
    sample = review.draw(people["reviewer_city"], run, percent="50", seed=2)
    assert (sample.straight_through, sample.size) == (3, 2)


def test_the_panel_tells_a_role_that_may_not_draw_why_and_counts_nothing(client, city_run,
                                                                          people):
    assert client.login(username="auditor_city", password=PASSWORD)
    html = client.get(f"/feeds/runs/{city_run.pk}/").content.decode()
    assert "您的角色不能抽取复核样本，须由审核员或管理员办理" in html
    assert 'id="straight-through"' not in html and 'id="sample-form"' not in html
    answer = client.post(f"/feeds/runs/{city_run.pk}/sample/", {"percent": "10"}, follow=True)
    assert "未抽样：您的角色不能抽取复核样本" in answer.content.decode()
    assert not ProactiveSample.objects.exists()


def test_select_all_under_the_sample_filter_takes_only_the_sample(city_run, people):
    """The run page links to its sample in the queue (?sample=N): 选择全部 there, and the
    bulk step it starts, must stay within the sample, not sweep the run's other claims."""
    from django.http import QueryDict

    from huzhu.claims import bulk

    sample = review.draw(people["reviewer_city"], city_run, percent="10", seed=5)
    sampled = sorted(ProactiveSampleClaim.objects.filter(sample=sample)
                     .values_list("claim_id", flat=True))
    params = QueryDict(f"sample={sample.pk}&state=proactive")
    assert "sample" in bulk.FILTER_PARAMS
    assert bulk.matching_ids(people["reviewer_city2"], params) == sampled
    assert bulk.described(people["reviewer_city2"], params).endswith(
        f"第 {sample.pk} 号抽样复核的样本）")
