"""The claims app's signals.

``claim_transitioned`` is sent once per claim and step, inside the step's transaction,
after the claim and its history row are written: by :func:`huzhu.claims.workflow.apply`
and by the set-based payout steps (``batch``, ``pay``, ``fail``). Keyword arguments:
``claim`` (the claim as it now is), ``step`` (the transition's name) and ``user``.
The member's SMS (:mod:`huzhu.claims.notifications`) is its receiver, connected in
``ClaimsConfig.ready()``, so the workflow does not import what reacts to it.
"""

from __future__ import annotations

from django.dispatch import Signal

claim_transitioned = Signal()
