"""Write audit entries. Every change of money or status goes through here.

Every way in appends to the hash chain (:mod:`huzhu.audit.chain`): :func:`record` through
``AuditEntry.save``, :func:`record_many` through the queryset's ``bulk_create``, and
:class:`huzhu.audit.bulk.AuditRows` by itself; each takes the chain's lock in the
transaction of its insert.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, ParamSpec, TypeVar

from huzhu.audit.labels import MONEY_KEYS
from huzhu.audit.models import AuditEntry
from huzhu.lib.errors import Refused
from huzhu.orgs.models import union_path
from huzhu.rules.money import yuan

P = ParamSpec("P")
T = TypeVar("T")


def record(
    actor: Any,
    action: str,
    obj: Any = None,
    *,
    union_path: str = "",
    summary: str = "",
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry; ``actor`` may be None for system jobs."""
    if obj is not None and not union_path:
        union_path = _union_path_of(obj)
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        object_type=type(obj).__name__.lower() if obj is not None else "",
        object_id=str(getattr(obj, "pk", "") or ""),
        union_path=union_path,
        summary=amounts_in_text(summary)[:500],
        changes=plain_changes(changes or {}),
    )


# An amount in yuan in a sentence: digits (perhaps grouped) with one or three or more
# places, before 元. Two places are left as written.
_AMOUNT = re.compile(r"(?<![\d.,])(\d{1,3}(?:,\d{3})+|\d+)\.(\d|\d{3,})(?=\s*元)")


def amounts_in_text(text: str) -> str:
    """Every amount before 元 with two places and thousands separators: SQLite's sums
    reached summaries as "808214.280000 元" or "69987.5 元"."""
    def fix(match: re.Match[str]) -> str:
        return yuan(Decimal(f"{match.group(1).replace(',', '')}.{match.group(2)}"))
    return _AMOUNT.sub(fix, text)


def plain_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` as JSON keeps it: a Decimal, or the text of an amount under an amount's
    key, as text of two places ("880.00", never "880.000000")."""
    out: dict[str, Any] = {}
    for key, raw in changes.items():
        if isinstance(raw, Decimal):
            out[key] = yuan(raw, grouped=False)
        elif key in MONEY_KEYS and isinstance(raw, str) and raw:
            try:
                out[key] = yuan(raw, grouped=False)
            except (TypeError, ValueError, InvalidOperation):
                out[key] = raw
        else:
            out[key] = raw
    return out


def record_many(entries: Iterable[AuditEntry], batch_size: int = 5000) -> None:
    """Bulk append of a few thousand entries (a million: :class:`huzhu.audit.bulk.AuditRows`),
    linked into the chain in the order given."""
    AuditEntry.objects.bulk_create(entries, batch_size=batch_size)


def _union_path_of(obj: Any) -> str:
    union = getattr(obj, "union", None)
    return getattr(union, "path", "") if union is not None else ""


def refusals_audited(action: str, *, summary: str = "{}"
                     ) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """A decorator for a service: a :class:`~huzhu.lib.errors.Refused` it raises is
    written to the audit log, then raised again — the one way coverage and payouts
    audit their refusals.

    The service's own ``transaction.atomic()`` has rolled back by the time the refusal
    reaches the wrapper, so the entry is written outside it and stays. The entry's actor
    is the refusal's ``user`` when it carries one (None: nothing to audit) or else the
    service's first argument; its object the refusal's ``obj``; its action the
    refusal's ``action`` or ``action``; its summary ``summary`` with the reason; its
    changes the refusal's ``changes`` or the service's name. Nested audited services
    audit one refusal once.
    """

    def decorate(service: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(service)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return service(*args, **kwargs)
            except Refused as exc:
                if not exc.audited:
                    _record_refusal(exc, args[0] if args else None, action, summary,
                                    service.__name__)
                raise

        return wrapper

    return decorate


def _record_refusal(exc: Refused, first_arg: Any, action: str, summary: str,
                    service: str) -> None:
    user = exc.user if hasattr(exc, "user") else first_arg
    if user is None:
        return
    obj = getattr(exc, "obj", None)
    changes = exc.changes if hasattr(exc, "changes") else {"refused": service}
    record(user, getattr(exc, "action", "") or action, obj,
           union_path="" if obj is not None else (union_path(user) or ""),
           summary=summary.format(exc), changes=changes or {})
    exc.audited = True
