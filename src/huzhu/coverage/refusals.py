"""Refusals of the coverage services, and how they are audited.

A service that may not do what was asked (enrol, renew, withdraw, register a payment,
set up a scheme) raises :class:`CoverageRefused`, a :class:`huzhu.lib.errors.Refused`
whose Chinese message says why. Decorated with :func:`refusals_audited`, the service
writes the refusal to the audit log after its transaction has rolled back, so the entry
stays while everything else the service began is undone; then the refusal goes on to
the view, which shows the message.

The decorator knows nothing of coverage beyond its default action: it audits any
``Refused`` that carries the user it refuses (see :class:`CoverageRefused`), so it can
move down to the audit app once payouts use it too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.lib.errors import Refused
from huzhu.orgs.models import User

P = ParamSpec("P")
T = TypeVar("T")


class CoverageRefused(Refused):
    """An enrolment, withdrawal, payment or scheme change that may not happen.

    ``user`` is who was refused (None: nothing to audit, as for a scheme form's own
    checks); ``obj`` the unit or member it concerned, for the audit entry's object and
    scope; ``action`` and ``changes`` what the entry records.
    """

    def __init__(self, message: str, *, user: User | None = None, obj: Any = None,
                 action: str = "", changes: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.user, self.obj, self.changes = user, obj, changes or {}
        self.action = action or AuditEntry.Action.COVERAGE_REFUSED


def refuse(user: User, message: str, obj: Any = None, *,
           changes: dict[str, Any] | None = None) -> CoverageRefused:
    """The refusal to raise; :func:`refusals_audited` writes it to the audit log."""
    return CoverageRefused(message, user=user, obj=obj, changes=changes)


def refusals_audited(service: Callable[P, T]) -> Callable[P, T]:
    """Decorate a service: a refusal it raises is audited, then raised again.

    The service's own ``transaction.atomic()`` has rolled back by the time the refusal
    reaches this wrapper, so the audit entry is written outside it and stays. Nested
    audited services (``renew`` calls ``enrol_units``) audit a refusal once: the
    innermost marks it as recorded.
    """

    @functools.wraps(service)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return service(*args, **kwargs)
        except Refused as exc:
            _record(exc)
            raise

    return wrapper


def _record(exc: Refused) -> None:
    user = getattr(exc, "user", None)
    if user is None or getattr(exc, "audited", False):
        return
    obj = getattr(exc, "obj", None)
    log.record(user, getattr(exc, "action", "") or AuditEntry.Action.COVERAGE_REFUSED, obj,
               union_path="" if obj is not None else _user_path(user),
               summary=str(exc)[:500], changes=getattr(exc, "changes", None) or {})
    exc.audited = True  # type: ignore[attr-defined]


def _user_path(user: User) -> str:
    return user.union.path if user.union is not None else "/"
