"""Where work waits (待办): for the home page, each kind of claim work the user's role
does, how many claims in their scope wait for it, and the filtered queue that lists them.

One grouped count over the open states gives the queue's own numbers
(:func:`huzhu.claims.queue.state_counts`); the follow-up count is the follow-up list's.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from huzhu.claims import queue
from huzhu.claims.followup import service as followup
from huzhu.claims.models import Claim
from huzhu.orgs.models import User

S = Claim.State


@dataclass(frozen=True)
class Todo:
    key: str
    label: str
    count: int
    url: str
    hint: str


# (key, label, the capability whose holders do the work, the state it waits in, hint)
_BY_STATE = (
    ("returned", "退回待补", "claims.file", S.RETURNED, "审核退回、等待经办补充材料后再提交"),
    ("submitted", "待初审", "claims.review", S.SUBMITTED, "经办已提交，等待初审"),
    ("second_review", "待复审", "claims.review", S.SECOND_REVIEW, "已初审，等待另一位审核人员复审"),
    ("approved", "待给付", "claims.pay", S.APPROVED, "已审批，尚未加入给付批次"),
)


def for_user(user: User) -> list[Todo]:
    """The user's 待办, in the order work flows; empty for a role that does none."""
    mine = [row for row in _BY_STATE if user.has_perm(row[2])]
    items: list[Todo] = []
    if mine:
        counts = queue.state_counts(user)
        items = [Todo(key, label, counts.get(state, 0),
                      f"{reverse('claims:queue')}?state={state.value}", hint)
                 for key, label, _, state, hint in mine]
    # Calls to units are recorded by those who may record them; the list is theirs.
    if user.has_perm(followup.CALL) and user.has_perm(followup.READ):
        items.append(Todo("follow_up", "待跟进", followup.follow_up(user).order_by().count(),
                          reverse("claims:follow-up"), "超过 1 万元的给付，等待电话回访单位"))
    return items
