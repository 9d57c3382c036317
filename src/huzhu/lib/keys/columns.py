"""Every sealed column and every blind index made from it, for the rotation.

The models are named, not imported: ``huzhu.lib`` sits below the apps that own them, and
the rotation reaches them through Django's app registry. A test compares this list with the
models (every ``BinaryField`` named ``*_sealed`` is here), so a new sealed column cannot be
left out of a rotation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from huzhu.lib import crypto


def _same(value: str) -> str:
    return value


def _last4(value: str) -> str:
    return "last4:" + value.strip().upper()[-4:]  # as crypto.last4_index


def _bank(value: str) -> str:
    return "bank:" + value  # as Member.set_bank_account


@dataclass(frozen=True)
class Index:
    """A blind-index column: the keyed hash of ``derive(plaintext)``."""

    column: str
    derive: Callable[[str], str]


@dataclass(frozen=True)
class Sealed:
    """A sealed column, the associated data it is sealed with, and its blind indexes."""

    column: str
    aad: str
    indexes: tuple[Index, ...] = ()


@dataclass(frozen=True)
class Table:
    model: str  # app_label.ModelName
    sealed: tuple[Sealed, ...]
    # A model of work in progress elsewhere that may be absent from an install.
    optional: bool = False


@dataclass(frozen=True)
class Copied:
    """A blind index copied from another row at some moment: a payout keeps the index of
    the account it was paid to, and a returned payout is paid again only once the
    member's account differs from it. Its value is not kept in the row, so it is rebuilt
    from the source's current value where it still equals the previous key's hash of it
    (the same account); one that differs named an account no longer there, and stays
    different from the new index as well."""

    model: str
    column: str
    source: str  # ORM path to the sealed value the index was copied from
    aad: str
    derive: Callable[[str], str]


COPIED: tuple[Copied, ...] = (
    Copied("claims.Payout", "account_hash", "claim__member__bank_account_sealed",
           crypto.MEMBER_BANK_ACCOUNT, _bank),
)

TABLES: tuple[Table, ...] = (
    Table("members.Member", (
        Sealed("id_number_sealed", crypto.MEMBER_ID_NUMBER,
               (Index("id_number_hash", _same), Index("id_last4_index", _last4))),
        Sealed("bank_account_sealed", crypto.MEMBER_BANK_ACCOUNT,
               (Index("bank_account_hash", _bank),)),
    )),
    Table("members.MemberExport", (Sealed("query_sealed", crypto.EXPORT_QUERY),)),
    Table("feeds.Settlement", (
        Sealed("id_number_sealed", crypto.SETTLEMENT_ID_NUMBER,
               (Index("id_number_hash", _same),)),
    )),
    # A colliding feed row holds a stay's facts until it replaces the stored stay: its ID
    # number is sealed for the stay's column, where it may end up.
    Table("feeds.FeedCollision", (
        Sealed("id_number_sealed", crypto.SETTLEMENT_ID_NUMBER,
               (Index("id_number_hash", _same),)),
    ), optional=True),
    # A bank account waiting for its SMS code (member self-service), sealed under the
    # associated data its owner chose.
    Table("portal.OneTimeCode", (Sealed("pending_sealed", "portal.pending_bank_account"),),
          optional=True),
)
