"""What the claims app says it paid, for ``huzhu ledger check``.

The fund ledger's check compares these totals with the payout entries posted to it
(:func:`huzhu.claims.payouts.settle.mark_paid` posts one per paid payout, under the claim's
period), so the two must be summed the same way: by the claim's period, paid payouts
only (a failed payout never reaches the ledger).
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from huzhu.claims.models import Payout


def paid_totals_by_period() -> dict[int | None, Decimal]:
    """Period id (None for a claim without a period) → total of paid payouts."""
    rows = (Payout.objects.filter(state=Payout.State.PAID)
            .values_list("claim__period_id").annotate(total=Sum("amount")).order_by())
    # SQLite's sums lose their trailing zeros (Decimal("1740")): back to the fen.
    return {period_id: total.quantize(Decimal("0.01")) for period_id, total in rows if total}
