"""What the claims app says it paid, for ``huzhu ledger check``.

The fund ledger's check compares these totals with the payout entries posted to it
(:func:`huzhu.claims.payouts.settle.mark_paid` posts one per paid payout, under the claim's
period), so the two must be summed the same way: by the claim's period, paid payouts
only (a failed payout never reaches the ledger).
"""

from __future__ import annotations

from decimal import Decimal

from huzhu.claims.models import Payout
from huzhu.lib.money import MoneySum


def paid_totals_by_period() -> dict[int | None, Decimal]:
    """Period id (None for a claim without a period) → total of paid payouts."""
    rows = (Payout.objects.filter(state=Payout.State.PAID)
            .values_list("claim__period_id").annotate(total=MoneySum("amount")).order_by())
    return {period_id: total for period_id, total in rows if total}
