"""The suite runs on the database it was asked for (HUZHU_TEST_DB), not silently on SQLite."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from huzhu.members.models import Member


def test_connection_is_the_requested_database(db, huzhu_db):
    assert connection.vendor == huzhu_db
    if huzhu_db == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT version(), current_database()")
            version, name = cursor.fetchone()
        assert version.startswith("PostgreSQL")
        assert name.startswith("test_")


def test_unique_id_number_is_enforced_by_the_database(make_member):
    first = make_member(name="张三")
    twin = Member(name="李四", unit=first.unit, union=first.union, birth_date=first.birth_date,
                  gender=first.gender)
    twin.set_id_number(first.id_number)
    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save()
    assert Member.objects.get(pk=first.pk).name == "张三"


@pytest.mark.postgres
def test_postgresql_keeps_chinese_text_and_sealed_bytes(make_member):
    member = make_member(name="欧阳娜娜")
    again = Member.objects.get(pk=member.pk)
    assert again.name == "欧阳娜娜"
    assert again.id_number == member.id_number
    assert Member.objects.filter(name__contains="阳娜").count() == 1
