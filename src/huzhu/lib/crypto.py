"""Field encryption and blind indexes for sensitive personal information (PIPL).

Values are sealed with AES-256-GCM and looked up by an HMAC-SHA256 of the normalised value
under a separate index key, so the database holds neither the value nor an unkeyed hash
that a dictionary could reverse. AES-GCM rather than Fernet: a million-row import seals two
fields per row, and AES-GCM is several times faster while giving the same authenticated
encryption.

Keys can be rotated (``huzhu keys rotate``, :mod:`huzhu.lib.keys`). A ciphertext is

* ``01 | nonce | ct`` (before rotation existed): under ``settings.HUZHU_FIELD_KEY``, no
  associated data; still read, until a rotation has re-sealed it and retired that key;
* ``02 | key id (4 bytes) | nonce | ct``: under the key of that id, with the version, the
  key id and the column (``table.column``, e.g. :data:`MEMBER_ID_NUMBER`) as associated
  data, so a ciphertext copied into another column, or another table, does not open.

Blind indexes are made under the keyring's current index key (``HUZHU_INDEX_KEY`` until the
first rotation). While a rotation rebuilds them, :func:`blind_indexes` gives the hash under
the previous key too, so a lookup finds rows rebuilt or not. Keyed hashes whose input is
not kept anywhere (feed tokens, relatives' ID numbers: :data:`UNKEPT_PREFIXES`) cannot be
rebuilt, so they stay under ``HUZHU_INDEX_KEY`` for good: tokens are 256 random bits,
which no key leak makes guessable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from huzhu.lib.errors import Refused
from huzhu.lib.keys import store

_V1 = b"\x01"
_V2 = b"\x02"
_NONCE_BYTES = 12
_HEADER = 1 + 4  # version and key id of a version-2 ciphertext

# The sealed columns, as their associated data (table.column).
MEMBER_ID_NUMBER = "members_member.id_number_sealed"
MEMBER_BANK_ACCOUNT = "members_member.bank_account_sealed"
EXPORT_QUERY = "members_memberexport.query_sealed"
SETTLEMENT_ID_NUMBER = "feeds_settlement.id_number_sealed"

UNKEPT_PREFIXES = ("feed-token:", "relative:")

# How often a process looks at the keyring file for a rotation made by another process
# (the web server learns of new keys within this time; a stat is cheap).
RELOAD_SECONDS = 1.0


class KeysRotating(Refused):
    """A bulk writer of blind indexes asked for the index key while a rotation rebuilds
    the indexes: it would match rows by the new key only and miss the rest. A refusal:
    the message is for the user, and nothing was written yet."""

    def __init__(self) -> None:
        super().__init__("正在轮换加密密钥、重建索引，批量导入暂停：请在轮换完成后（huzhu keys "
                         "status 显示“未在轮换”）重新导入。本次导入未做任何改动。")


class RetiredKey(ValueError):
    """The ciphertext was sealed under a key that a rotation retired."""


def _decode_key(value: str) -> bytes:
    key = base64.urlsafe_b64decode(value)
    if len(key) != 32:
        raise ValueError("field keys must be 32 bytes, urlsafe-base64 encoded")
    return key


@lru_cache(maxsize=16)
def _aead(field_key: str) -> AESGCM:
    return AESGCM(_decode_key(field_key))


@lru_cache(maxsize=16)
def _index_key(index_key: str) -> bytes:
    return _decode_key(index_key)


@lru_cache(maxsize=16)
def _key_id(key: str) -> bytes:
    return bytes.fromhex(store.key_id(key))


@dataclass(frozen=True)
class Keys:
    """The keys in force in this process: the configured ones and the keyring's."""

    field_current: str  # key (urlsafe base64)
    fields: dict[bytes, str]  # key id -> key, every field key that may still open a value
    legacy_field: str | None  # for version-1 values; None once retired
    index_current: str
    index_previous: str | None  # set while a rotation rebuilds the indexes
    unkept_index: str  # HUZHU_INDEX_KEY, for UNKEPT_PREFIXES

    @property
    def rebuilding(self) -> bool:
        return self.index_previous is not None


class _Cache:
    checked = -1e9
    signature: tuple[object, ...] | None = None
    keys: Keys | None = None


def _settings_keys() -> tuple[str, str]:
    from django.conf import settings

    return settings.HUZHU_FIELD_KEY, settings.HUZHU_INDEX_KEY


def keyring_file() -> Path:
    from django.conf import settings

    return store.keyring_path(settings.VAR_DIR, os.environ)


def keys(refresh: bool = False) -> Keys:
    """The keys in force, the keyring file looked at again at most once a second."""
    now = time.monotonic()
    if not refresh and _Cache.keys is not None and now - _Cache.checked < RELOAD_SECONDS:
        return _Cache.keys
    field_key, index_key = _settings_keys()
    path = keyring_file()
    try:
        st = path.stat()
        stamp: tuple[object, ...] = (st.st_mtime_ns, st.st_size, st.st_ino)
    except FileNotFoundError:
        stamp = ()
    signature = (field_key, index_key, str(path), *stamp)
    if refresh or signature != _Cache.signature or _Cache.keys is None:
        _Cache.keys = _build(store.load(path) if stamp else store.Keyring(),
                             field_key, index_key)
        _Cache.signature = signature
    _Cache.checked = now
    return _Cache.keys


def refresh_keys() -> Keys:
    """Read the keyring again now (after this process changed it)."""
    return keys(refresh=True)


def _build(ring: store.Keyring, field_key: str, index_key: str) -> Keys:
    retired = set(ring.retired)
    legacy_id = store.key_id(field_key)
    fields = {bytes.fromhex(kid): key for kid, key in ring.field.items() if kid not in retired}
    if legacy_id not in retired:
        fields.setdefault(bytes.fromhex(legacy_id), field_key)
    indexes = {**ring.index, store.key_id(index_key): index_key}
    previous = indexes.get(ring.index_previous or "") if ring.index_previous else None
    return Keys(field_current=ring.field.get(ring.field_current or "", field_key),
                fields=fields,
                legacy_field=None if legacy_id in retired else field_key,
                index_current=ring.index.get(ring.index_current or "", index_key),
                index_previous=previous, unkept_index=index_key)


def _aad(header: bytes, column: str | None) -> bytes:
    return header + (column or "").encode()


def _sealer_for(key: str, column: str | None) -> Callable[[str], bytes]:
    aead = _aead(key)
    header = _V2 + _key_id(key)
    aad = _aad(header, column)
    encrypt = aead.encrypt
    urandom = os.urandom

    def seal_one(plaintext: str) -> bytes:
        nonce = urandom(_NONCE_BYTES)
        return header + nonce + encrypt(nonce, plaintext.encode(), aad)

    return seal_one


def seal(plaintext: str, field_key: str | None = None, *, column: str | None = None) -> bytes:
    """Encrypt ``plaintext`` for ``column`` (table.column, e.g. :data:`MEMBER_ID_NUMBER`)
    under the current field key; each call uses a fresh random nonce."""
    return _sealer_for(field_key or keys().field_current, column)(plaintext)


def sealer(field_key: str | None = None, *, column: str | None = None
           ) -> Callable[[str], bytes]:
    """:func:`seal` with the key bound once, for bulk work (a million-row feed seals
    every row; looking the key up each time cost more than the encryption)."""
    return _sealer_for(field_key or keys().field_current, column)


def key_id_of(token: bytes | memoryview) -> str | None:
    """The id of the key ``token`` was sealed under (None: a version-1 value, under the
    configured ``HUZHU_FIELD_KEY``)."""
    raw = bytes(token[:_HEADER])
    if raw[:1] == _V2:
        return raw[1:_HEADER].hex()
    if raw[:1] == _V1:
        return None
    raise ValueError("unknown ciphertext version")


def unsealer(*, column: str | None = None, ring: Keys | None = None
             ) -> Callable[[bytes | memoryview], str]:
    """:func:`unseal` with the keys bound once, for bulk work (a rotation opens every
    value)."""
    bound = ring or keys()
    aeads = {kid: _aead(key) for kid, key in bound.fields.items()}
    legacy = _aead(bound.legacy_field) if bound.legacy_field else None
    column_aad = (column or "").encode()

    def unseal_one(token: bytes | memoryview) -> str:
        raw = bytes(token)
        version = raw[:1]
        if version == _V2:
            aead = aeads.get(raw[1:_HEADER])
            if aead is None:
                raise RetiredKey(f"密文所用的密钥 {raw[1:_HEADER].hex()} 不在密钥环中（已退役或"
                                 "密钥文件不全）")
            nonce = raw[_HEADER:_HEADER + _NONCE_BYTES]
            return aead.decrypt(nonce, raw[_HEADER + _NONCE_BYTES:],
                                raw[:_HEADER] + column_aad).decode()
        if version == _V1:
            if legacy is None:
                raise RetiredKey("旧格式密文所用的密钥已退役")
            return legacy.decrypt(raw[1:1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES:],
                                  None).decode()
        raise ValueError("unknown ciphertext version")

    return unseal_one


def unseal(token: bytes | memoryview, field_key: str | None = None, *,
           column: str | None = None) -> str:
    """Decrypt a value made by :func:`seal` for the same ``column``; raises ``InvalidTag``
    if it was tampered with or belongs to another column."""
    if field_key is None:
        return unsealer(column=column)(token)
    raw = bytes(token)
    if raw[:1] == _V1:
        return _aead(field_key).decrypt(raw[1:1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES:],
                                        None).decode()
    if raw[:1] != _V2:
        raise ValueError("unknown ciphertext version")
    return _aead(field_key).decrypt(raw[_HEADER:_HEADER + _NONCE_BYTES],
                                    raw[_HEADER + _NONCE_BYTES:],
                                    _aad(raw[:_HEADER], column)).decode()


def _index_key_for(value: str, bound: Keys) -> str:
    return bound.unkept_index if value.startswith(UNKEPT_PREFIXES) else bound.index_current


def blind_indexer(index_key: str | None = None) -> Callable[[str], str]:
    """:func:`blind_index` with the key bound once: the keyed HMAC state is made once and
    copied per value, which halves the cost of a million lookups.

    Without ``index_key`` (bulk imports), raises :class:`KeysRotating` while a rotation
    rebuilds the indexes: an import matches existing rows by one key only."""
    if index_key is None:
        bound = keys()
        if bound.rebuilding:
            raise KeysRotating()
        index_key = bound.index_current
    base = hmac.new(_index_key(index_key), digestmod=hashlib.sha256)

    def index_one(value: str) -> str:
        h = base.copy()
        h.update(value.encode())
        return h.hexdigest()

    return index_one


def blind_index(value: str, index_key: str | None = None) -> str:
    """Keyed hash of a normalised value, for exact-match lookups and uniqueness."""
    key = index_key or _index_key_for(value, keys())
    return hmac.new(_index_key(key), value.encode(), hashlib.sha256).hexdigest()


def blind_indexes(value: str) -> list[str]:
    """The hashes a lookup of ``value`` must try: the current key's, and while a rotation
    rebuilds the indexes the previous key's too (``column__in=blind_indexes(v)``)."""
    bound = keys()
    found = [blind_index(value, _index_key_for(value, bound))]
    if bound.index_previous and not value.startswith(UNKEPT_PREFIXES):
        found.append(blind_index(value, bound.index_previous))
    return found


def _last4_value(id_number: str) -> str:
    return "last4:" + id_number.strip().upper()[-4:]


def last4_index(id_number: str, index_key: str | None = None) -> str:
    """Keyed hash of an ID number's last four characters, for "search by last four".

    Stored instead of the digits: with the birth date (kept in clear for the engine) and a
    region code, the plain last four would narrow an ID number to a few thousand guesses.
    """
    return blind_index(_last4_value(id_number), index_key)


def last4_indexes(id_number: str) -> list[str]:
    """:func:`last4_index` under every index key a lookup must try (see :func:`blind_indexes`)."""
    return blind_indexes(_last4_value(id_number))


def mask_id_number(id_number: str) -> str:
    """11**************34: the province and the last two characters only.

    The old mask kept the region code and the last four: with the birth date shown next
    to it, that was the whole number. Now the county, the birth date and two of the
    sequence digits are hidden, so even with the age, the unit's city and a last-four
    search, several thousand numbers remain possible (and a search by full number, the
    way to test them, is audited and limited per day).
    """
    if len(id_number) < 6:
        return "*" * len(id_number)
    return id_number[:2] + "*" * (len(id_number) - 4) + id_number[-2:]


def mask_bank_account(account: str) -> str:
    """6222 **** **** 1234 style: first four and last four digits."""
    if len(account) <= 8:
        return "*" * len(account)
    return account[:4] + "*" * (len(account) - 8) + account[-4:]
