"""Bulk steps (批量办理): one workflow step for many claims at once.

Each claim still goes through :func:`huzhu.claims.workflow.apply` on its own — its own
lock, the transition table's checks (role, scope, four eyes, state) and the step's own
(materials, deadlines, caps, duplicates) — so a bulk step can do nothing a person could
not do claim by claim; it only saves the clicks. A claim the step refuses is listed with
the reason the claim page would give; one the user may not see is refused as "不存在或不在
您的管辖范围内", saying nothing more about it (an id sent by hand is not a way to learn
what exists).

:func:`apply_many` is the service, for the queue's pages (:mod:`huzhu.claims.views`), the
background task (:mod:`huzhu.claims.bulk_jobs`) and a command alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.claims import flags, queue, workflow
from huzhu.claims.models import Claim
from huzhu.claims.workflow import TRANSITIONS, ClaimRefused, Transition
from huzhu.lib.errors import Refused
from huzhu.orgs.models import User
from huzhu.orgs.scope import sees_everything, union_path
from huzhu.rules.money import yuan
from huzhu.rules.schema import MATERIALS

# The steps offered in bulk: those a reviewer or clerk takes without per-claim input.
# 退回 and 不予给付 take one reason for the whole selection (asked on the confirmation
# page); a lowered amount (核减) is per claim by nature and is never offered in bulk.
STEPS = ("submit", "first_pass", "approve", "return", "reject")
NEEDS_REASON = ("return", "reject")
NOT_VISIBLE = "不存在或不在您的管辖范围内"
MAX_CLAIMS = 100_000  # one selection; a city's whole proactive run is issue 23's way
_LOOKUP = 1000  # claims looked up (scope, number) per query

Progress = Callable[[int, int, int], None]  # (done, moved, total)


class BulkRefused(Refused):
    """The whole bulk step is refused (unknown step, the role, no reason): nothing
    changed. The message is for the user."""


@dataclass(frozen=True)
class Refusal:
    claim_id: int
    number: str  # "" for a claim the user may not see
    reason: str


@dataclass
class BulkResult:
    step: str
    total: int = 0
    moved: int = 0
    refused: list[Refusal] = field(default_factory=list)

    @property
    def label(self) -> str:
        return TRANSITIONS[self.step].label

    def summary(self) -> str:
        text = f"批量{self.label}：共 {self.total:,} 笔，已办理 {self.moved:,} 笔"
        return text + (f"，未办理 {len(self.refused):,} 笔" if self.refused else "")


def offered(user: User) -> list[Transition]:
    """The bulk steps the user's role may take (each claim is checked again)."""
    return [TRANSITIONS[n] for n in STEPS if _role_may(user, TRANSITIONS[n])]


def _role_may(user: User, t: Transition) -> bool:
    return user.is_active and (sees_everything(user) or user.role in t.roles)


def check_step(user: User, step: str) -> Transition:
    """The step, if it is offered in bulk and the user's role may take it."""
    if not step:  # the menu's placeholder: nothing is preselected for the user
        raise BulkRefused("请选择要办理的步骤")
    if step not in STEPS:
        raise BulkRefused("不能批量办理这一步骤")
    t = TRANSITIONS[step]
    if not _role_may(user, t):
        raise BulkRefused(f"您的角色不能{t.label}，须由{workflow.who_may(t)}办理")
    return t


def check(user: User, step: str, data: dict[str, Any]) -> dict[str, Any]:
    """The step and its shared inputs, checked before any claim is touched; the inputs
    as :func:`workflow.apply` takes them."""
    check_step(user, step)
    note = str(data.get("note") or "").strip()[:200]
    clean: dict[str, Any] = {"note": note}
    if step == "reject":
        code = data.get("reject_code") or ""
        if code not in Claim.RejectCode.values:
            raise BulkRefused("请选择不予给付的原因（对所选理赔统一适用）")
        if not note:
            raise BulkRefused("请写明不予给付的具体说明（对所选理赔统一适用）")
        clean["reject_code"] = code
    if step == "return":
        missing = [m for m in data.get("missing") or [] if m in MATERIALS]
        if not missing and not note:
            raise BulkRefused("请选择需要补充的材料或写明退回原因（对所选理赔统一适用）")
        clean["missing"] = missing
    return clean


def unique_ids(ids: Iterable[Any]) -> list[int]:
    """The ids in their first order, each once; what is not a positive number is dropped."""
    seen: dict[int, None] = {}
    for raw in ids:
        try:
            pk = int(raw)
        except (TypeError, ValueError):
            continue  # not an id at all: nothing to refer to in the result
        if pk > 0:
            seen.setdefault(pk, None)
    return list(seen)


def apply_many(user: User, claim_ids: Iterable[Any], step: str, data: dict[str, Any],
               *, progress: Progress | None = None) -> BulkResult:
    """Take ``step`` on each of ``claim_ids`` as ``user``; the claims that moved are
    counted, the others listed with why. Raises :class:`BulkRefused` (nothing changed)
    when the step itself may not be taken in bulk by this user."""
    inputs = check(user, step, data)
    ids = unique_ids(claim_ids)
    if len(ids) > MAX_CLAIMS:
        raise BulkRefused(f"一次最多批量办理 {MAX_CLAIMS:,} 笔理赔，请缩小筛选范围")
    result = BulkResult(step, total=len(ids))
    for start in range(0, len(ids), _LOOKUP):
        part = ids[start:start + _LOOKUP]
        numbers = dict(Claim.objects.visible_to(user).filter(pk__in=part)
                       .values_list("pk", "number"))
        for offset, pk in enumerate(part, start + 1):
            if pk not in numbers:
                result.refused.append(Refusal(pk, "", NOT_VISIBLE))
            else:
                try:
                    workflow.apply(user, pk, step, **inputs)
                except ClaimRefused as exc:
                    result.refused.append(Refusal(pk, numbers[pk], str(exc)))
                except Claim.DoesNotExist:  # deleted since it was looked up
                    result.refused.append(Refusal(pk, "", NOT_VISIBLE))
                else:
                    result.moved += 1
            if progress is not None:
                progress(offset, result.moved, result.total)
    _audit(user, result)
    return result


def _audit(user: User, result: BulkResult) -> None:
    """One entry for the whole step, beside each claim's own."""
    log.record(user, AuditEntry.Action.CLAIM_CHANGED, None,
               union_path=union_path(user) or "/",
               summary=result.summary(),
               changes={"批量办理": result.label, "所选理赔": result.total,
                        "已办理": result.moved, "未办理": len(result.refused)})


# ---------------------------------------------------------------- the selection


# The queue's filter as query parameters; "s" is the token of the search text kept in
# the session (the text itself never travels in an address).
FILTER_PARAMS = ("state", "benefit", "union", "from", "to", "min", "max", "flag", "s",
                 "source", "sample")


def matching_ids(user: User, params: QueryDict, q: str = "") -> list[int]:
    """Every claim the queue shows ``user`` under the filter in ``params`` and the search
    text ``q`` (the queue's own filter, so "全部符合筛选条件" is exactly what the pages
    listed), oldest first."""
    f = queue.QueueFilter.from_params(user, params, q=q)
    return list(queue.filtered(user, f).order_by("pk").values_list("pk", flat=True)
                [:MAX_CLAIMS + 1])


def described(user: User, params: QueryDict, q: str = "") -> str:
    """The filter in words, for the confirmation and the result (a number searched for
    is described by its kind, never written out)."""
    f = queue.QueueFilter.from_params(user, params, q=q)
    labels = dict(Claim.State.choices)
    parts = ["状态：" + "、".join(labels[s] for s in f.states)]
    if f.q:
        member_query = f.member_query
        parts.append(f"搜索：{member_query.describe()}" if member_query is not None
                     else f"搜索：理赔编号以“{f.q.replace(' ', '').upper()}”开头")
    if f.benefit:
        names = dict(queue.benefit_choices(user))
        parts.append(f"保障项目：{names.get(f.benefit, '（不在您的范围内的项目）')}")
    if f.date_from or f.date_to:
        parts.append(f"事件日期：{f.date_from or ''}至{f.date_to or ''}")
    if f.amount_min is not None or f.amount_max is not None:
        low = "" if f.amount_min is None else f"{yuan(f.amount_min)} 元"
        high = "" if f.amount_max is None else f"{yuan(f.amount_max)} 元"
        parts.append(f"金额：{low}至{high}")
    if f.union_id:
        parts.append("所选工会")
    if f.flag in flags.FLAG_LABELS:
        parts.append(f"提示：{flags.FLAG_LABELS[f.flag]}")
    if f.source:
        parts.append(f"来源：{Claim.Source(f.source).label}")
    if f.sample:
        parts.append(f"第 {f.sample} 号抽样复核的样本")
    return "全部符合筛选条件的理赔（" + "；".join(parts) + "）"
