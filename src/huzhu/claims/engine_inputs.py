"""The claims history as ``huzhu calc`` inputs (added to ``huzhu export engine``):
``events.parquet`` — every claim's event in the engine's events format, with
``claim_id, state, computed, final`` — and ``prior.parquet`` — the paid ones with
``paid`` (and ``days_paid``), so ``huzhu calc`` and ``huzhu simulate`` run on the real
history."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from huzhu.claims.models import Claim
from huzhu.coverage.models import Scheme
from huzhu.rules.columns import ARROW_MONEY, arrow_schema

# The engine's events and prior payouts as the contract declares them; the events file
# carries the claim's id, state and amounts after them (not engine inputs).
EVENTS = arrow_schema("events", extra=[("claim_id", pa.int64()), ("state", pa.string()),
                                       ("computed", ARROW_MONEY), ("final", ARROW_MONEY)])
PRIOR = arrow_schema("prior")
EVENT_NAMES = [f.name for f in arrow_schema("events")]
# The claim's fields holding the engine's event columns, in EVENT_NAMES' order.
CLAIM_EVENT_FIELDS = ["number", "member_id", "benefit", "event_date", "out_of_pocket",
                      "total_cost", "admit_date", "days", "diagnosis", "outcome",
                      "disability_grade", "fracture_site", "work_related", "loss_amount",
                      "certificate_no", "on_duty", "relation", "relative_key", "co_resident"]
_COLUMNS = [*CLAIM_EVENT_FIELDS, "pk", "state", "computed", "final", "computation"]
# Text facts a claim keeps as "" when not given: the engine reads them as null.
BLANK_IS_NULL = {"diagnosis", "outcome", "fracture_site", "certificate_no", "relation",
                 "relative_id"}


def _rows(scheme: Scheme) -> Iterator[dict]:
    qs = Claim.objects.filter(scheme=scheme).exclude(state=Claim.State.DRAFT).order_by("id")
    for values in qs.values_list(*_COLUMNS).iterator(chunk_size=20_000):
        row = dict(zip([*EVENT_NAMES, "claim_id", "state", "computed", "final", "computation"],
                       values, strict=True))
        row["member_id"] = str(row["member_id"])
        for name in BLANK_IS_NULL:
            if row[name] == "":
                row[name] = None
        yield row


def write(scheme: Scheme, out_dir: Path) -> dict[str, int]:
    events, prior = [], []
    for row in _rows(scheme):
        computation = row.pop("computation") or {}
        events.append(row)
        if row["state"] == Claim.State.PAID and (row["final"] or 0) > 0:
            paid = {k: row[k] for k in EVENT_NAMES}
            paid["paid"] = row["final"] or Decimal("0.00")
            paid["days_paid"] = computation.get("days_paid")
            prior.append(paid)
    pq.write_table(pa.Table.from_pylist(events, schema=EVENTS), out_dir / "events.parquet")
    pq.write_table(pa.Table.from_pylist(prior, schema=PRIOR), out_dir / "prior.parquet")
    return {"events": len(events), "prior": len(prior)}
