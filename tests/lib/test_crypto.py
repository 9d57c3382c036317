"""Sensitive fields are sealed at rest and found by a keyed hash."""

import datetime as dt
import sqlite3

import pytest
from cryptography.exceptions import InvalidTag
from django.db import connection

from huzhu.lib import crypto
from huzhu.members.models import Member


def test_seal_round_trips_and_is_randomised():
    a, b = crypto.seal("11010519491231002X"), crypto.seal("11010519491231002X")
    assert a != b
    assert crypto.unseal(a) == crypto.unseal(b) == "11010519491231002X"


def test_tampered_ciphertext_is_refused():
    token = bytearray(crypto.seal("6222020200112233445"))
    token[-1] ^= 1
    with pytest.raises(InvalidTag):
        crypto.unseal(bytes(token))


def test_blind_index_is_keyed():
    other_key = "A" * 43 + "="
    assert crypto.blind_index("x") == crypto.blind_index("x")
    assert crypto.blind_index("x") != crypto.blind_index("x", index_key=other_key)


def test_masks():
    # Province and the last two: neither the county nor the birth date survives.
    assert crypto.mask_id_number("11010519491231002X") == "11**************2X"
    assert crypto.mask_bank_account("6222020200112233445") == "6222***********3445"


def test_member_lookup_by_id_number(make_member):
    member = make_member(name="李四", birth=dt.date(1990, 3, 7))
    assert Member.find_by_id_number(member.id_number) == member
    assert Member.find_by_id_number("11010519491231002X") is None


@pytest.mark.django_db(transaction=True)
def test_database_holds_no_plaintext_id_or_bank_account(make_member, tmp_path):
    member = make_member(name="王五")
    member.set_bank_account("6222020200112233445")
    member.save()
    number = member.id_number
    if connection.vendor == "sqlite":
        # Copy the whole database (in-memory for tests) to a file and grep its bytes.
        dump = tmp_path / "copy.sqlite3"
        target = sqlite3.connect(dump)
        connection.ensure_connection()
        connection.connection.backup(target)
        target.close()
        raw = dump.read_bytes()
        assert number.encode() not in raw
        assert b"6222020200112233445" not in raw
        assert "王五".encode() in raw  # the copy really holds the member
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM members_member")
            rows = repr(cursor.fetchall())
        assert number not in rows and "6222020200112233445" not in rows
        assert "王五" in rows


def test_last_four_are_stored_as_a_keyed_hash(make_member):
    member = make_member(name="赵六")
    number = member.id_number
    assert member.id_last4_index == crypto.last4_index(number[-4:].lower())
    assert crypto.last4_index(number, index_key="A" * 43 + "=") != member.id_last4_index
