"""The engine's amount for one claim, from the registry and the claims history.

Only :mod:`huzhu.rules` computes money. This module turns a claim into the engine's
inputs — the member, the event, the member's enrolments in the scheme, their and their
family's claims that count against caps (approved, in a batch, paid) as prior payouts,
and the submitted claims that prove a required event as payouts of nothing — and
keeps the output row as the claim's 计算过程.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from django.db.models import Q

from huzhu.claims.models import Claim
from huzhu.coverage.models import Enrolment
from huzhu.members.models import Member

# The engine module itself (the package re-exports it lazily, untyped): importing
# the name from either loads huzhu.rules.engine.
from huzhu.rules.engine import evaluate_claim

# The claim's facts the engine reads (its event columns), when filled in.
EVENT_FIELDS = ("admit_date", "days", "out_of_pocket", "total_cost", "diagnosis", "outcome",
                "disability_grade", "fracture_site", "work_related", "loss_amount",
                "certificate_no", "on_duty", "relation", "co_resident")


def member_row(member: Member) -> dict[str, Any]:
    return {"member_id": str(member.pk), "birth_date": member.birth_date,
            "gender": member.gender, "status": member.status,
            "occupation": member.occupation,
            "family_id": str(member.family_head_id or member.pk)}


def event_row(claim: Claim) -> dict[str, Any]:
    row = {"event_id": claim.number or f"draft-{claim.pk}", "member_id": str(claim.member_id),
           "benefit": claim.benefit, "event_date": claim.event_date}
    for name in EVENT_FIELDS:
        value = getattr(claim, name)
        if value not in (None, ""):
            row[name] = value
    if claim.relative_key:
        row["relative_id"] = claim.relative_key
    return row


def enrolment_rows(claim: Claim) -> list[dict[str, Any]]:
    rows = Enrolment.objects.filter(member_id=claim.member_id, period__scheme=claim.scheme,
                                    coverage_from__isnull=False)
    return [{"member_id": str(claim.member_id), "period_start": e.coverage_from,
             "period_end": e.coverage_to, "first_enrolled": e.first_enrolled} for e in rows]


def family_key(member: Member) -> int:
    """The family a member's caps are shared with: its head's id (the head's own)."""
    return member.family_head_id or member.pk


def family_members(member: Member) -> list[Member]:
    """The other members of ``member``'s family (the head and those linked to it)."""
    key = family_key(member)
    return list(Member.objects.filter(Q(pk=key) | Q(family_head_id=key))
                .exclude(pk=member.pk).order_by("pk"))


def prior_rows(claim: Claim, family: list[Member] | None = None) -> list[dict[str, Any]]:
    """The given claims in the scheme that count against the claim's caps, as paid: the
    member's own and (for ``per: family`` caps) those of the rest of its family."""
    members = [claim.member_id, *(m.pk for m in family or [])]
    earlier = (Claim.objects.filter(member_id__in=members, scheme=claim.scheme,
                                    state__in=Claim.GIVEN).exclude(pk=claim.pk))
    rows = []
    for other in earlier:
        row = event_row(other)
        row["paid"] = other.amount or Decimal("0.00")
        days = (other.computation or {}).get("days_paid")
        if days is not None:
            row["days_paid"] = days
        rows.append(row)
    return rows


# A claim rejected for 材料不实 does not prove its event happened; any other claim that
# was submitted does (see proof_rows).
_NO_PROOF = (Claim.State.DRAFT, Claim.State.WITHDRAWN, *Claim.GIVEN)


def proof_rows(claim: Claim, family: list[Member] | None = None) -> list[dict[str, Any]]:
    """The claims that show the event a benefit of ``claim`` requires (a relative's relief
    requires the staff member's own confirmed infection), given nothing: rows that prove
    the prerequisite and use no cap (every cap counts money, days or times paid, and
    these are paid 0.00).

    In a batch every event is an input, so the staff member's event proves the relative's
    whether or not it pays and whatever its id: here every claim of the required benefit
    that was submitted counts, in review, returned or rejected (a staff member infected
    off duty is rejected, yet infected), except one rejected as 材料不实 (the infection
    itself is in doubt). A draft was never submitted and a withdrawn claim was taken
    back: neither proves anything. The given ones are in :func:`prior_rows` already."""
    need = claim.scheme.policy().benefit(claim.benefit).eligibility.requires
    if need is None:
        return []
    members = [claim.member_id, *(m.pk for m in family or [])]
    shown = (Claim.objects.filter(member_id__in=members, scheme=claim.scheme,
                                  benefit=need.benefit)
             .exclude(state__in=_NO_PROOF).exclude(pk=claim.pk)
             .exclude(state=Claim.State.REJECTED,
                      reject_code=Claim.RejectCode.FALSE_MATERIAL))
    return [{**event_row(other), "paid": Decimal("0.00")} for other in shown]


def compute(claim: Claim) -> dict[str, Any]:
    """The engine's output row for ``claim`` now (money as Decimal): prior are the other
    given claims of the member and its family, as paid, and the submitted claims that
    prove what the claim's benefit requires, as paid nothing (:func:`proof_rows`)."""
    policy = claim.scheme.policy()
    family = family_members(claim.member)
    return evaluate_claim(policy, member_row(claim.member), event_row(claim),
                          enrolment_rows(claim),
                          [*prior_rows(claim, family), *proof_rows(claim, family)],
                          family=[member_row(m) for m in family])


def record(claim: Claim, row: dict[str, Any]) -> None:
    """Keep the computation on the claim (JSON-safe: money and dates as text), with the
    content hash of the policy that computed it."""
    claim.computed = row["payable"]
    claim.policy_hash = claim.scheme.policy().content_hash
    claim.computation = json_safe(row)


def json_safe(row: dict[str, Any]) -> dict[str, Any]:
    """One engine row as the claim keeps it: money and dates as text, the rest as is."""
    return {k: (str(v) if v is not None and not isinstance(v, int | bool) else v)
            for k, v in row.items()}


# Engine columns written as they are; every other type is written as str() would.
_KEPT = (pa.types.is_integer, pa.types.is_boolean, pa.types.is_string,
         pa.types.is_large_string, pa.types.is_null)
_AS_TEXT = (pa.types.is_decimal, pa.types.is_date)


def supports(out: pa.Schema) -> bool:
    """Whether every engine column is one whose text this module writes as ``str`` does
    (a float or a timestamp would not be: those chunks take the per-row path)."""
    return all(any(k(f.type) for k in _KEPT + _AS_TEXT) for f in out)


def computation_json(out: pa.Table) -> pa.ChunkedArray[Any]:
    """Each engine row of ``out`` as the JSON :func:`record` keeps for one claim: keys and
    values as the per-row path writes them (Decimals and dates as their strings, integers
    and booleans as they are), made by DuckDB's ``to_json`` over the row cast to text
    where :func:`json_safe` calls ``str``. PostgreSQL keeps it as jsonb, so spacing and
    key order do not matter."""
    columns = [pc.cast(col, pa.string()) if any(k(col.type) for k in _AS_TEXT) else col
               for col in out.columns]
    rows = pa.table(columns, names=out.column_names)  # noqa: F841  (DuckDB reads it by name)
    with duckdb.connect() as con:
        con.execute("SET preserve_insertion_order = true")
        # DuckDB's stubs leave the Arrow table untyped; naming it lets pyarrow's stubs
        # type the column.
        table: pa.Table = con.sql("SELECT to_json(r) AS j FROM rows r").to_arrow_table()
        return table["j"]
