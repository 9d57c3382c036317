"""The home page: what is in the user's scope, at a glance."""

from __future__ import annotations

from collections import Counter

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from huzhu.audit.models import AuditEntry
from huzhu.claims import todo
from huzhu.lib.http import AuthenticatedHttpRequest
from huzhu.members.models import Member
from huzhu.orgs.models import Union, Unit


@login_required
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    # One grouped pass over the (union, status) pairs gives both the status counts and
    # the spread over the child unions, instead of one COUNT per figure.
    rows = (
        Member.objects.visible_to(user)
        .values_list("union_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_status: Counter[str] = Counter()
    by_union: Counter[int] = Counter()
    for union_id, status, n in rows:
        by_status[status] += n
        by_union[union_id] += n
    statuses = [(label, by_status.get(value, 0), value) for value, label in Member.Status.choices]
    total = sum(by_status.values())
    spread = _spread(user, by_union)
    return render(request, "web/home.html", {
        "alerts": _security_alerts(user),
        "union_count": Union.objects.visible_to(user).count(),
        "unit_count": Unit.objects.visible_to(user).count(),
        "member_total": total,
        "statuses": statuses,
        "spread": spread,
        "spread_max": max((n for _, n in spread), default=0),
        # Where the user's claim work waits (待办), each linking to its filtered queue.
        "todo": todo.for_user(user),
    })


def _spread(user, by_union: Counter[int]) -> list[tuple[Union, int]]:
    """Members per child of the user's node (or per root), largest first."""
    top = list(Union.objects.filter(parent=user.union) if user.union_id
               else Union.objects.filter(parent=None))
    if user.union_id is None and len(top) == 1:
        top = list(Union.objects.filter(parent=top[0]))
    if not top:
        return []
    paths = {u.id: u.path for u in Union.objects.visible_to(user).only("id", "path")}
    totals = []
    for node in top:
        n = sum(c for uid, c in by_union.items() if paths.get(uid, "").startswith(node.path))
        totals.append((node, n))
    totals.sort(key=lambda t: (-t[1], t[0].path))
    return totals[:20]


def _security_alerts(user) -> int:
    """Today's security alerts in the user's subtree, for the admins who act on them."""
    if not user.has_perm("audit.read_log"):
        return 0
    since = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return AuditEntry.objects.visible_to(user).filter(
        action=AuditEntry.Action.SECURITY_ALERT, at__gte=since).count()
