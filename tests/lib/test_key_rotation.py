"""``huzhu keys rotate``: every sealed value re-sealed under a new key and every blind index
rebuilt, lookups working meanwhile, a killed rotation continued, the old keys retired."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.apps import apps
from django.conf import settings
from django.db import models
from django.utils import timezone

from huzhu.audit.models import AuditEntry
from huzhu.claims.models import Claim, Payout, PayoutBatch
from huzhu.cli import main
from huzhu.config import secrets
from huzhu.coverage import schemes
from huzhu.coverage.models import Scheme
from huzhu.feeds.importing import import_feed
from huzhu.feeds.models import Settlement
from huzhu.lib import crypto
from huzhu.lib.keys import columns, rotation, store
from huzhu.members.models import Member, MemberExport
from huzhu.portal.bank import PENDING_COLUMN
from huzhu.portal.models import OneTimeCode
from tests.feeds.conftest import TODAY, feed_dir, stay, write_csv  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

ACCOUNT = "6222020200112233445"


@pytest.fixture
def keyring(tmp_path):
    """A keyring of the test's own (the tests' keys live in the environment, and a
    rotation must not leave a keyring behind for the other tests)."""
    path = tmp_path / "keys" / "test.keyring.json"
    old = os.environ.get(store.KEYRING_ENV)
    os.environ[store.KEYRING_ENV] = str(path)
    crypto.refresh_keys()
    yield path
    if old is None:
        del os.environ[store.KEYRING_ENV]
    else:
        os.environ[store.KEYRING_ENV] = old
    crypto.refresh_keys()


def legacy_seal(plaintext: str) -> bytes:
    """A value as crypto.seal made it before rotation existed: version 1, no key id, no
    associated data, under HUZHU_FIELD_KEY."""
    nonce = os.urandom(12)
    aead = AESGCM(crypto._decode_key(settings.HUZHU_FIELD_KEY))
    return b"\x01" + nonce + aead.encrypt(nonce, plaintext.encode(), None)


@pytest.fixture
def dataset(make_member, feed_dir, users, tree):  # noqa: F811 (fixture)
    """Five members (one with a bank account, one sealed in the old format), a stay of
    one of them from a feed, an export job with a sealed search text and a scheme with
    the union's payee account (in clear: the union's own account, printed on notices)."""
    made = [make_member("a1", name=f"会员{i}") for i in range(5)]
    made[1].set_bank_account(ACCOUNT)
    made[1].save()
    old_number = made[4].id_number
    Member.objects.filter(pk=made[4].pk).update(id_number_sealed=legacy_seal(old_number))
    outcome = import_feed(write_csv(feed_dir / "f.csv", [stay(made[0].id_number,
                                                              name="会员0")]), today=TODAY)
    assert outcome.imported, outcome.errors
    export = MemberExport.objects.create(user=users["admin_city"],
                                         query_sealed=crypto.seal(
                                             made[2].id_number, column=crypto.EXPORT_QUERY))
    scheme = schemes.create_scheme(users["admin_city"], union=tree["city"],
                                   policy_name="ningshan-2024", code="rotate-test")
    Scheme.objects.filter(pk=scheme.pk).update(payee_account="4200 2210 0902 4530 718")
    payouts = _payouts(made[1], scheme, users["admin_city"], tree["city"])
    code = OneTimeCode.objects.create(  # a bank change waiting for its SMS code
        purpose=OneTimeCode.Purpose.BANK, phone_index="x", member=made[1], nonce="n",
        code_hash="h", expires_at=timezone.now() + dt.timedelta(minutes=5),
        pending_sealed=crypto.seal(CLOSED, column=PENDING_COLUMN))
    numbers = {m.pk: Member.objects.get(pk=m.pk).id_number for m in made}
    assert numbers[made[4].pk] == old_number  # the old format reads
    return {"members": made, "numbers": numbers, "export": export, "scheme": scheme,
            "payouts": payouts, "code": code}


CLOSED = "6222999900001111"
# Sealed under another column's associated data: a colliding feed row's ID number is a
# stay's (it may replace the stored one); the portal names its own.
OWN_AAD = {"feeds.FeedCollision": crypto.SETTLEMENT_ID_NUMBER,
           "portal.OneTimeCode": PENDING_COLUMN}


def _payouts(member, scheme, user, city) -> tuple[int, int]:
    """Two paid payouts of one claim of ``member``: one to the account the member still
    has (its copied index must follow the rotation), one to an account closed since
    (its index must go on differing from the member's)."""
    period = schemes.create_period(user, scheme, name="2026年度", start=dt.date(2026, 1, 1),
                                   end=dt.date(2026, 12, 31), premium=Decimal("150.00"),
                                   enrol_from=dt.date(2026, 1, 1),
                                   enrol_until=dt.date(2026, 3, 31))
    claim = Claim.objects.create(member=member, scheme=scheme, period=period,
                                 benefit="hospital", benefit_name="住院", filed_by=user,
                                 number="2026-R-000001", event_date=dt.date(2026, 3, 1))
    made = []
    for n, account_hash in enumerate((member.bank_account_hash,
                                      crypto.blind_index("bank:" + CLOSED))):
        batch = PayoutBatch.objects.create(number=f"PB-R-{n}", scheme=scheme, union=city,
                                           created_by=user)
        made.append(Payout.objects.create(batch=batch, claim=claim, amount=Decimal("100.00"),
                                          state=Payout.State.PAID,
                                          account_hash=account_hash).pk)
    return made[0], made[1]


def sealed_values() -> list[bytes]:
    found = []
    for table in columns.TABLES:
        try:
            model = apps.get_model(table.model)
        except LookupError:
            continue
        for sealed in table.sealed:
            found += [bytes(v) for v in model.objects.exclude(**{f"{sealed.column}__isnull": True})
                      .values_list(sealed.column, flat=True)]
    return found


def assert_everything_reads(data, midway: bool = False) -> None:
    for pk, number in data["numbers"].items():
        member = Member.objects.get(pk=pk)
        assert member.id_number == number
        assert Member.find_by_id_number(number) == member
        assert set(Member.objects.filter(id_last4_index__in=crypto.last4_indexes(number))
                   .values_list("pk", flat=True)) >= {pk}
    banked = Member.objects.get(pk=data["members"][1].pk)
    assert banked.bank_account == ACCOUNT
    assert banked.bank_account_hash in crypto.blind_indexes("bank:" + ACCOUNT)
    first = Member.objects.get(pk=data["members"][0].pk)
    stay_ = Settlement.objects.get()
    assert stay_.id_number == first.id_number
    if midway:  # the member is rewritten, the stay not yet: found under either key
        assert stay_.id_number_hash in crypto.blind_indexes(first.id_number)
    else:
        assert stay_.id_number_hash == first.id_number_hash
    same, closed = (Payout.objects.get(pk=pk).account_hash for pk in data["payouts"])
    if not midway:
        assert same == banked.bank_account_hash  # paid to the account the member has
    assert closed != banked.bank_account_hash  # paid to another account: still differs
    pending = OneTimeCode.objects.get(pk=data["code"].pk).pending_sealed
    assert crypto.unseal(pending, column=PENDING_COLUMN) == CLOSED
    export = MemberExport.objects.get(pk=data["export"].pk)
    assert crypto.unseal(export.query_sealed, column=crypto.EXPORT_QUERY) == \
        data["numbers"][data["members"][2].pk]


def test_rotation_reseals_every_value_and_lookups_find_the_same_members(keyring, dataset):
    old_field, old_index = settings.HUZHU_FIELD_KEY, settings.HUZHU_INDEX_KEY
    before = {m.pk: m.id_number_hash for m in Member.objects.all()}

    report = rotation.Rotator(chunk=2, sample=10).rotate()
    rotation.audit(report)

    keys = crypto.keys()
    new_id = store.key_id(keys.field_current)
    assert new_id == report.field_key != store.key_id(old_field)
    assert store.key_id(keys.index_current) == report.index_key != store.key_id(old_index)
    # Every sealed value: the new format under the new key.
    values = sealed_values()
    assert len(values) == 5 + 1 + 1 + 1 + 1  # 5 ID numbers, an account, a stay, an export,
    # and an account waiting for its SMS code
    assert {crypto.key_id_of(v) for v in values} == {new_id}
    assert_everything_reads(dataset)
    after = {m.pk: m.id_number_hash for m in Member.objects.all()}
    assert after.keys() == before.keys() and not set(after.values()) & set(before.values())
    rows = {t.label: t.rows for t in report.tables}
    assert {k: rows[k] for k in ("会员", "会员导出", "医保结算记录")} == {
        "会员": 5, "会员导出": 1, "医保结算记录": 1}
    assert report.lookups == 5 and report.copies == 1
    # The old field key opens nothing any more; the old index key finds no one.
    assert store.key_id(old_field) not in {k.hex() for k in keys.fields}
    assert crypto.blind_indexes(dataset["numbers"][dataset["members"][0].pk]) == [
        crypto.blind_index(dataset["numbers"][dataset["members"][0].pk])]
    assert Member.objects.filter(
        id_number_hash=crypto.blind_index(dataset["numbers"][dataset["members"][0].pk],
                                          old_index)).count() == 0
    with pytest.raises(crypto.RetiredKey):
        crypto.unseal(legacy_seal("220102198506010011"))
    # The keyring and the retired keys: 0600, next to each other, the old keys kept
    # only in the retired file; no state file left.
    assert stat.S_IMODE(keyring.stat().st_mode) == 0o600
    retired = report.retired_file
    assert retired is not None and retired.parent == keyring.parent
    assert stat.S_IMODE(retired.stat().st_mode) == 0o600
    kept = json.loads(retired.read_text())
    assert kept["field"] == {store.key_id(old_field): old_field}
    assert kept["index"] == {store.key_id(old_index): old_index}
    ring = json.loads(keyring.read_text())
    assert old_field not in keyring.read_text()
    assert ring["rotating"] is None and ring["index"]["previous"] is None
    assert not store.sibling(keyring, "rotation.json").exists()
    # The payee account of a scheme is the union's, in clear, and untouched.
    assert Scheme.objects.get(pk=dataset["scheme"].pk).payee_account == "4200 2210 0902 4530 718"
    # Feed tokens and relatives' keys cannot be rebuilt: still under HUZHU_INDEX_KEY.
    assert crypto.blind_index("feed-token:hzf_x") == crypto.blind_index("feed-token:hzf_x",
                                                                         old_index)
    # Audited, without key material.
    entry = AuditEntry.objects.get(action=AuditEntry.Action.KEYS_ROTATED)
    text = entry.summary + json.dumps(entry.changes)
    for key in (old_field, old_index, keys.field_current, keys.index_current):
        assert key not in text
    assert entry.changes["rows"] == 8 and entry.changes["field_key"] == new_id
    assert entry.changes["lookups"] == 5 and entry.changes["file"] == retired.name
    assert "轮换加密密钥" in entry.summary and "均找到本人" in entry.summary


def test_rotating_twice_retires_the_first_rotations_keys(keyring, dataset):
    first = rotation.Rotator(chunk=3, sample=5).rotate()
    second = rotation.Rotator(chunk=3, sample=5).rotate()
    assert first.field_key != second.field_key and first.index_key != second.index_key
    ring = store.load(keyring)
    assert list(ring.field) == [second.field_key] and list(ring.index) == [second.index_key]
    assert json.loads(second.retired_file.read_text())["field"].keys() == {first.field_key}
    assert {crypto.key_id_of(v) for v in sealed_values()} == {second.field_key}
    assert_everything_reads(dataset)


class Killed(Exception):
    pass


def test_a_killed_rotation_continues_and_lookups_work_meanwhile(keyring, dataset, make_member):
    members = dataset["members"]
    numbers = dataset["numbers"]

    def kill(label: str, last_pk: int) -> None:
        raise Killed(label)

    with pytest.raises(Killed):
        rotation.Rotator(chunk=2, after_chunk=kill).rotate()
    state = json.loads(store.sibling(keyring, "rotation.json").read_text())
    assert state["done"] == {"members_member": members[1].pk}  # the first chunk: two members
    assert rotation.status()["state"]["done"] == {"会员": members[1].pk}  # as status shows it
    # Half rewritten: two members under the new keys, three under the old ones ...
    ring = crypto.keys()
    new_id = bytes.fromhex(store.key_id(ring.field_current))
    heads = [bytes(Member.objects.get(pk=m.pk).id_number_sealed)[1:5] for m in members]
    assert [h == new_id for h in heads] == [True, True, False, False, False]
    # ... and every one still opens and is found by ID number, by last four and by account.
    assert_everything_reads(dataset, midway=True)
    # A member registered meanwhile gets the new keys and is found; bulk imports wait.
    newcomer = make_member("a2", name="轮换中登记")
    assert crypto.key_id_of(newcomer.id_number_sealed) == store.key_id(ring.field_current)
    assert Member.find_by_id_number(newcomer.id_number) == newcomer
    with pytest.raises(crypto.KeysRotating, match="正在轮换加密密钥"):
        crypto.blind_indexer()
    # Running it again continues from the state file and finishes.
    seen: list[tuple[str, int]] = []
    report = rotation.Rotator(chunk=2, after_chunk=lambda label, pk: seen.append((label, pk))
                              ).rotate()
    assert report.resumed
    assert seen[0] == ("会员", members[3].pk)  # not from the start
    assert report.tables[0].rewritten == 3  # the newcomer was under the new keys already
    assert Member.objects.get(pk=newcomer.pk).id_number == newcomer.id_number
    assert {crypto.key_id_of(v) for v in sealed_values()} == {report.field_key}
    assert_everything_reads(dataset)
    assert numbers[members[4].pk] == Member.objects.get(pk=members[4].pk).id_number
    crypto.blind_indexer()  # bulk imports go again


def test_a_row_written_by_a_process_with_the_old_keys_is_caught_by_verification(
        keyring, dataset):
    members = dataset["members"]
    number = dataset["numbers"][members[0].pk]
    old_field, old_index = settings.HUZHU_FIELD_KEY, settings.HUZHU_INDEX_KEY

    def stale_write(label: str, last_pk: int) -> None:
        # A web worker that has not seen the new keyring yet rewrites member 0 under the
        # old keys, after its chunk was done.
        if label == "会员" and last_pk == members[1].pk:
            Member.objects.filter(pk=members[0].pk).update(
                id_number_sealed=crypto.seal(number, old_field, column=crypto.MEMBER_ID_NUMBER),
                id_number_hash=crypto.blind_index(number, old_index),
                id_last4_index=crypto.last4_index(number, old_index))

    report = rotation.Rotator(chunk=2, after_chunk=stale_write).rotate()
    assert report.tables[0].fixed == 1
    assert {crypto.key_id_of(v) for v in sealed_values()} == {report.field_key}
    assert_everything_reads(dataset)


def test_a_ciphertext_moved_to_another_column_does_not_open(keyring, dataset):
    banked = Member.objects.get(pk=dataset["members"][1].pk)
    # A bank account sealed for its column does not open as an ID number ...
    token = crypto.seal(ACCOUNT, column=crypto.MEMBER_BANK_ACCOUNT)
    assert crypto.unseal(token, column=crypto.MEMBER_BANK_ACCOUNT) == ACCOUNT
    for other in (crypto.MEMBER_ID_NUMBER, crypto.SETTLEMENT_ID_NUMBER, None):
        with pytest.raises(InvalidTag):
            crypto.unseal(token, column=other)
    # ... and copied in the database from one column (or table) to another, it is refused.
    Member.objects.filter(pk=banked.pk).update(bank_account_sealed=banked.id_number_sealed)
    with pytest.raises(InvalidTag):
        Member.objects.get(pk=banked.pk).bank_account  # noqa: B018
    Settlement.objects.update(id_number_sealed=banked.id_number_sealed)
    with pytest.raises(InvalidTag):
        Settlement.objects.get().id_number  # noqa: B018
    # The key id is bound too: a ciphertext relabelled with another key's id fails.
    forged = bytearray(token)
    forged[1:5] = bytes.fromhex(store.key_id(store.new_key()))
    with pytest.raises(crypto.RetiredKey):
        crypto.unseal(bytes(forged), column=crypto.MEMBER_BANK_ACCOUNT)


def test_old_format_values_still_read_and_new_ones_carry_their_key(keyring, make_member):
    token = legacy_seal("11010519491231002X")
    assert crypto.key_id_of(token) is None
    assert crypto.unseal(token) == "11010519491231002X"
    assert crypto.unseal(token, column=crypto.MEMBER_ID_NUMBER) == "11010519491231002X"
    member = make_member(name="旧格式")
    fresh = bytes(member.id_number_sealed)
    assert fresh[:1] == b"\x02"
    assert crypto.key_id_of(fresh) == store.key_id(settings.HUZHU_FIELD_KEY)


def test_every_sealed_column_is_rotated():
    """A BinaryField named *_sealed on any model must be listed for the rotation."""
    listed = {(t.model.lower(), s.column) for t in columns.TABLES for s in t.sealed}
    for model in apps.get_models():
        for f in model._meta.get_fields():
            if isinstance(f, models.BinaryField) and f.name.endswith("_sealed"):
                assert (model._meta.label_lower, f.column) in listed, (model, f.name)
    for table in columns.TABLES:
        try:
            model = apps.get_model(table.model)
        except LookupError:
            assert table.optional
            continue
        for sealed in table.sealed:
            assert sealed.aad == OWN_AAD.get(table.model,
                                             f"{model._meta.db_table}.{sealed.column}")


def test_rotate_and_status_commands(keyring, dataset, capsys):
    assert main(["keys", "status"]) == 0
    out = capsys.readouterr().err
    assert "未在轮换" in out and "旧格式" in out and "身份证号（密文）" in out
    assert main(["keys", "rotate", "--chunk", "2", "--sample", "3"]) == 0
    out = capsys.readouterr().err.replace("\n", "")  # rich wraps long lines
    assert "密钥轮换完成" in out and "重新加密并核验 8 行" in out
    assert "请把这个文件离线保存" in out and "抽查按身份证号查找 3 人均找到本人" in out
    assert "HUZHU_FIELD_KEY（轮换之前的字段密钥）已退役" in out
    assert "HUZHU_INDEX_KEY 仍在使用" in out
    assert main(["keys", "status"]) == 0
    out = capsys.readouterr().err
    assert "旧格式" not in out and crypto.keys() and store.key_id(
        crypto.keys().field_current) in out


def test_a_second_rotation_at_once_is_refused(keyring, dataset):
    lock = store.sibling(keyring, "rotation.lock")
    keyring.parent.mkdir(parents=True, exist_ok=True)
    import fcntl

    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(rotation.RotationError, match="正在运行"):
            rotation.Rotator().rotate()
    assert not Path(keyring).exists()


def test_the_retired_field_key_may_leave_the_configuration(tmp_path):
    """After a rotation, HUZHU_FIELD_KEY may be deleted from the key file: the keyring's
    current field key stands in, and no new key is generated over it."""
    var = tmp_path / "var"
    var.mkdir()
    keyfile, ringfile = tmp_path / "etc" / "keys.json", tmp_path / "etc" / "keys.keyring.json"
    keys = secrets.new_keys()
    store.write_json(keyfile, {k: v for k, v in keys.items() if k != "HUZHU_FIELD_KEY"})
    environ = {"HUZHU_KEYS_FILE": str(keyfile), "HUZHU_KEYRING_FILE": str(ringfile)}
    with pytest.raises(secrets.KeysError, match="HUZHU_FIELD_KEY"):
        secrets.load_secrets(var, environ)  # no keyring: a missing key, not a fresh one
    current = store.new_key()
    store.save(ringfile, store.Keyring(field={store.key_id(current): current},
                                       field_current=store.key_id(current)))
    loaded = secrets.load_secrets(var, environ)
    assert loaded["HUZHU_FIELD_KEY"] == current
    assert loaded["HUZHU_INDEX_KEY"] == keys["HUZHU_INDEX_KEY"]
    assert "HUZHU_FIELD_KEY" not in json.loads(keyfile.read_text())


def test_keys_commands_wait_for_the_migrations(keyring, monkeypatch, capsys):
    from huzhu.lib import keys_command

    monkeypatch.setattr(keys_command, "_unmigrated", lambda: True)
    assert main(["keys", "rotate"]) == 2
    assert "请先运行 huzhu manage migrate" in capsys.readouterr().err.replace("\n", "")
    assert not keyring.exists()
