"""Refusals of the coverage services, and how they are audited.

A service that may not do what was asked (enrol, renew, withdraw, register a payment,
set up a scheme) raises :class:`CoverageRefused`, a :class:`huzhu.lib.errors.Refused`
whose Chinese message says why. Decorated with :func:`refusals_audited`, the service
writes the refusal to the audit log after its transaction has rolled back, so the entry
stays while everything else the service began is undone; then the refusal goes on to
the view, which shows the message.

The decorator is the audit app's (:func:`huzhu.audit.log.refusals_audited`, which the
payouts use too); a refusal that carries no user (a scheme form's own checks) is not
audited.
"""

from __future__ import annotations

from typing import Any

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.lib.errors import Refused
from huzhu.orgs.models import User


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


# Coverage's services audit their refusals the one way (huzhu.audit.log), under
# coverage's action unless the refusal names its own.
refusals_audited = log.refusals_audited(AuditEntry.Action.COVERAGE_REFUSED)
