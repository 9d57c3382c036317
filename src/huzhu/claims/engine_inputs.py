"""The claims history as ``huzhu calc`` inputs (added to ``huzhu export engine``):
``events.parquet`` — every claim's event in the engine's events format, with
``claim_id, state, computed, final`` — and ``prior.parquet`` — the paid ones with
``paid`` (and ``days_paid``), so ``huzhu calc`` and ``huzhu simulate`` run on the real
history."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from huzhu.claims.models import Claim
from huzhu.coverage.models import Scheme

MONEY = pa.decimal128(18, 2)
EVENT_FIELDS = [
    ("event_id", pa.string()), ("member_id", pa.string()), ("benefit", pa.string()),
    ("event_date", pa.date32()), ("out_of_pocket", MONEY), ("total_cost", MONEY),
    ("admit_date", pa.date32()), ("days", pa.int32()), ("diagnosis", pa.string()),
    ("outcome", pa.string()), ("disability_grade", pa.int32()), ("fracture_site", pa.string()),
    ("work_related", pa.bool_()), ("loss_amount", MONEY), ("certificate_no", pa.string()),
    ("on_duty", pa.bool_()), ("relation", pa.string()), ("relative_id", pa.string()),
    ("co_resident", pa.bool_()),
]
EVENTS = pa.schema([*EVENT_FIELDS, ("claim_id", pa.int64()), ("state", pa.string()),
                    ("computed", MONEY), ("final", MONEY)])
PRIOR = pa.schema([*EVENT_FIELDS, ("paid", MONEY), ("days_paid", pa.int32())])
_COLUMNS = ["number", "member_id", "benefit", "event_date", "out_of_pocket", "total_cost",
            "admit_date", "days", "diagnosis", "outcome", "disability_grade", "fracture_site",
            "work_related", "loss_amount", "certificate_no", "on_duty", "relation",
            "relative_key", "co_resident", "pk", "state", "computed", "final", "computation"]
_BLANK_IS_NULL = {"diagnosis", "outcome", "fracture_site", "certificate_no", "relation",
                  "relative_id"}


def _rows(scheme: Scheme):
    qs = Claim.objects.filter(scheme=scheme).exclude(state=Claim.State.DRAFT).order_by("id")
    for values in qs.values_list(*_COLUMNS).iterator(chunk_size=20_000):
        row = dict(zip([n for n, _ in EVENT_FIELDS] + ["claim_id", "state", "computed",
                                                        "final", "computation"],
                       values, strict=True))
        row["member_id"] = str(row["member_id"])
        for name in _BLANK_IS_NULL:
            if row[name] == "":
                row[name] = None
        yield row


def write(scheme: Scheme, out_dir: Path) -> dict[str, int]:
    events, prior = [], []
    for row in _rows(scheme):
        computation = row.pop("computation") or {}
        events.append(row)
        if row["state"] == Claim.State.PAID and (row["final"] or 0) > 0:
            paid = {k: row[k] for k, _ in EVENT_FIELDS}
            paid["paid"] = row["final"] or Decimal("0.00")
            paid["days_paid"] = computation.get("days_paid")
            prior.append(paid)
    pq.write_table(pa.Table.from_pylist(events, schema=EVENTS), out_dir / "events.parquet")
    pq.write_table(pa.Table.from_pylist(prior, schema=PRIOR), out_dir / "prior.parquet")
    return {"events": len(events), "prior": len(prior)}
