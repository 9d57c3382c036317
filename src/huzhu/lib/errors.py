"""The refusal every service raises when a rule forbids what was asked: its message is
Chinese, says why, and is shown to the user as it is (a view turns it into a message or
a 400/409; an audited service also records it, see :func:`huzhu.audit.log.refusals_audited`)."""

from __future__ import annotations


class Refused(Exception):
    """A rule refused the request; ``str(error)`` is the reason, for the user."""

    # Set once the refusal is in the audit log, so that an outer audited service does
    # not write it again (huzhu.audit.log.refusals_audited).
    audited: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
