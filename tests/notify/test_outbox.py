"""Writing to the outbox: one row per dedupe key, mobile numbers only, mistakes refused."""

from __future__ import annotations

import time

import pytest
from django.db import transaction

from huzhu.notify import kinds, outbox
from huzhu.notify.models import OutboxMessage
from tests.notify.conftest import RENEWAL, UNPAID

TEXT = "【测试市总工会】张三您好：您的职工互助保障将于2025年12月31日到期，请及时续保。"


def test_the_same_key_twice_is_one_row(make_member):
    member = make_member("a1", phone="13800138000")
    first = outbox.enqueue(kind=RENEWAL, to=member.phone, text=TEXT, dedupe_key="r:1:1",
                           member=member)
    second = outbox.enqueue(kind=RENEWAL, to=member.phone, text=TEXT + "（再次）",
                            dedupe_key="r:1:1", member=member)
    assert first is not None and second is None
    assert OutboxMessage.objects.count() == 1
    row = OutboxMessage.objects.get()
    assert row.text == TEXT and row.state == OutboxMessage.State.PENDING
    assert row.union_id == member.union_id  # its staff see it, like the member
    assert row.attempts == 0 and row.next_attempt_at is not None


def test_a_refused_duplicate_leaves_the_callers_transaction_usable(make_member):
    member = make_member("a1", phone="13800138000")
    with transaction.atomic():
        outbox.enqueue(kind=RENEWAL, to=member.phone, text=TEXT, dedupe_key="k")
        assert outbox.enqueue(kind=RENEWAL, to=member.phone, text=TEXT, dedupe_key="k") is None
        # On PostgreSQL a failed INSERT outside a savepoint would abort the transaction.
        outbox.enqueue(kind=UNPAID, to=member.phone, text=TEXT, dedupe_key="k2")
    assert set(OutboxMessage.objects.values_list("dedupe_key", flat=True)) == {"k", "k2"}


@pytest.mark.parametrize("phone", ["", "0431-88886666", "12345678901", "1380013800",
                                   "138001380001", "220102198506010011", None])
def test_a_number_that_is_not_a_mobile_is_not_enqueued(db, phone):
    assert outbox.enqueue(kind=RENEWAL, to=phone, text=TEXT, dedupe_key="x") is None
    assert not OutboxMessage.objects.exists()


def test_mobile_numbers_are_stored_as_eleven_digits(db):
    message = outbox.enqueue(kind=RENEWAL, to="+86 138-0013-8000", text=TEXT, dedupe_key="x")
    assert message.to == "13800138000"
    assert OutboxMessage.objects.get().to == "13800138000"


def test_an_unregistered_kind_is_a_programming_error(db):
    with pytest.raises(ValueError, match="未登记的通知类型"):
        outbox.enqueue(kind="coverage.renewl", to="13800138000", text=TEXT, dedupe_key="x")
    assert not OutboxMessage.objects.exists()


def test_text_longer_than_500_characters_is_refused(db):
    with pytest.raises(ValueError, match="500"):
        outbox.enqueue(kind=RENEWAL, to="13800138000", text="字" * 501, dedupe_key="x")
    assert outbox.enqueue(kind=RENEWAL, to="13800138000", text="字" * 500, dedupe_key="x")


def test_kinds_have_chinese_labels_and_refuse_a_second_label():
    assert outbox.kind_label(RENEWAL) == "续保提醒（测试）"
    assert outbox.kind_label("gone.away") == "其他通知"
    outbox.register_kind(RENEWAL, "续保提醒（测试）")  # the same pair again: harmless
    with pytest.raises(ValueError):
        outbox.register_kind(RENEWAL, "别的名字")
    with pytest.raises(ValueError):
        outbox.register_kind("NoDot", "无效编码")
    assert (RENEWAL, "续保提醒（测试）") in kinds.registered()


def _drafts(n: int, *, union_id: int, prefix: str = "r") -> list[outbox.Draft]:
    return [outbox.Draft(kind=RENEWAL, to=f"139{i:08d}", text=f"第{i}号会员：请续保。",
                         dedupe_key=f"{prefix}:{i}", union=union_id) for i in range(n)]


def test_enqueue_many_writes_each_key_once_and_counts_what_it_left_out(tree):
    union = tree["a1"].pk
    drafts = _drafts(10_000, union_id=union)
    drafts += drafts[:2_500]  # duplicates within one call
    drafts += [outbox.Draft(kind=UNPAID, to="", text="无手机号", dedupe_key=f"n:{i}",
                            union=union) for i in range(300)]
    done = outbox.enqueue_many(drafts)
    assert done == 10_000 and done.duplicates == 2_500 and done.no_phone == 300
    assert OutboxMessage.objects.count() == 10_000
    again = outbox.enqueue_many(_drafts(10_500, union_id=union))  # 500 new, 10,000 known
    assert again == 500 and again.duplicates == 10_000 and again.no_phone == 0
    assert OutboxMessage.objects.count() == 10_500
    assert not OutboxMessage.objects.exclude(union_id=union).exists()


def test_enqueue_many_takes_members_as_objects_or_ids(make_member):
    a, b = make_member("a1", phone="13800000001"), make_member("b1", phone="13800000002")
    done = outbox.enqueue_many([
        outbox.Draft(RENEWAL, a.phone, TEXT, "m:a", member=a),
        outbox.Draft(RENEWAL, b.phone, TEXT, "m:b", member=b.pk, union=b.union_id),
    ])
    assert done == 2
    rows = {m.dedupe_key: m for m in OutboxMessage.objects.all()}
    assert (rows["m:a"].member_id, rows["m:a"].union_id) == (a.pk, a.union_id)
    assert (rows["m:b"].member_id, rows["m:b"].union_id) == (b.pk, b.union_id)


def test_enqueue_many_of_100000_takes_seconds(tree):
    drafts = _drafts(100_000, union_id=tree["a1"].pk)
    started = time.perf_counter()
    done = outbox.enqueue_many(drafts)
    elapsed = time.perf_counter() - started
    assert done == 100_000
    assert elapsed < 20, f"enqueue_many of 100,000 took {elapsed:.1f} s"


def test_template_params_are_kept_for_providers_that_send_templates(db):
    params = {"name": "张三", "scheme": "宁陕县职工互助保障", "deadline": "2025年12月31日"}
    one = outbox.enqueue(kind=RENEWAL, to="13800138000", text=TEXT, dedupe_key="p:1",
                         params=params)
    assert one.params == params
    outbox.enqueue_many([outbox.Draft(RENEWAL, "13800138001", TEXT, "p:2", params=params),
                         outbox.Draft(RENEWAL, "13800138002", TEXT, "p:3")])
    stored = dict(OutboxMessage.objects.values_list("dedupe_key", "params"))
    assert stored == {"p:1": params, "p:2": params, "p:3": {}}
    with pytest.raises(ValueError, match="模板参数"):
        outbox.enqueue(kind=RENEWAL, to="13800138000", text=TEXT, dedupe_key="p:4",
                       params=["张三"])


@pytest.mark.postgres
def test_concurrent_callers_of_one_key_write_one_row(transactional_db):
    import threading

    from django.db import connection

    start = threading.Barrier(6)
    results, errors = [], []

    def caller(i: int) -> None:
        try:
            start.wait()
            results.append(outbox.enqueue(kind=RENEWAL, to="13800138000", text=f"{TEXT}{i}",
                                          dedupe_key="same"))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sum(r is not None for r in results) == 1 and len(results) == 6
    assert OutboxMessage.objects.filter(dedupe_key="same").count() == 1
