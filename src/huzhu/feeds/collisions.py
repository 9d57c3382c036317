"""Resolving a collision: a feed's row whose settlement ID was stored before with other
facts (:class:`~huzhu.feeds.models.FeedCollision`).

Settlement IDs are one namespace for the whole city, so the first feed to bring an ID
does not own it: a junk stay stored under a future ID must not refuse the genuine one
later, and a genuine stay must not be overwritten by a guess. The import holds the later
row; an admin of its feed's node decides:

- **keep** (保留原记录): the stored stay stays as it is; the row stays unimported;
- **replace** (替换为新记录): the stored stay takes the row's facts, its member matched
  again within the row's feed's node, and the row counts as imported (新增).

Replacing needs the stored stay readable to the one who decides
(:func:`huzhu.feeds.access.stay_readable`: a stay of a member in their scope, or of no
member and brought by a feed at or below their node) — otherwise a stranger's genuine
stay could be overwritten unseen; the union above both decides then. A stay a claim or a
免申即享 run already used is never replaced. Both decisions are audited
(``FEED_COLLISION_RESOLVED``).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from huzhu.audit.log import record
from huzhu.audit.models import AuditEntry
from huzhu.feeds.access import stay_readable
from huzhu.feeds.models import Feed, FeedCollision, FeedRow, Settlement
from huzhu.lib.errors import Refused
from huzhu.members.models import Member
from huzhu.orgs import roles
from huzhu.orgs.models import User

FACTS = ("name", "hospital", "admit_date", "discharge_date", "total_cost", "fund_paid",
         "account_paid", "out_of_pocket", "self_pay", "self_expense", "diagnosis")
KEEP, REPLACE = "keep", "replace"
NOT_READABLE = "已有的结算记录不在您的管辖范围内，不能替换；可保留原记录，或请上级工会核对"
USED = "已有的结算记录已用于理赔或免申即享测算，不能替换；请联系医保部门核实后处理"
DONE = "该冲突已处理"


def differing(collision: FeedCollision) -> list[str]:
    """The facts in which the row differs from the stored stay, by field name
    (``id_number`` for the ID number): only for a page that may show both sides."""
    stay = collision.stay
    found = ["id_number"] if collision.id_number_hash != stay.id_number_hash else []
    return found + [f for f in FACTS if getattr(collision, f) != getattr(stay, f)]


def can_replace(user: User, collision: FeedCollision) -> str:
    """Why ``user`` may not replace the stored stay with the row ("" if they may)."""
    stay = collision.stay
    if not stay_readable(user, stay):
        return NOT_READABLE
    if stay.claims.exists() or stay.outcomes.exists():
        return USED
    return ""


def resolve(collision: FeedCollision, decision: str, *, by: User) -> FeedCollision:
    """Keep the stored stay or replace it with the row; raises :class:`Refused` when the
    collision is resolved already or the stay may not be replaced."""
    roles.require(by, "feeds.import")
    if decision not in (KEEP, REPLACE):
        raise Refused("请选择保留原记录或替换为新记录")
    with transaction.atomic():
        locked: FeedCollision = (FeedCollision.objects.select_for_update(of=("self",))
                  .select_related("feed__union", "stay").get(pk=collision.pk))
        if locked.status != FeedCollision.Status.OPEN:
            raise Refused(DONE)
        if decision == REPLACE:
            why = can_replace(by, locked)
            if why:
                raise Refused(why)
            _replace(locked)
        status = FeedCollision.Status.REPLACED if decision == REPLACE else \
            FeedCollision.Status.KEPT
        now = timezone.now()
        FeedCollision.objects.filter(pk=locked.pk).update(status=status, resolved_by=by,
                                                          resolved_at=now)
        locked.status, locked.resolved_by, locked.resolved_at = status, by, now
        label = FeedCollision.Status(status).label
        record(by, AuditEntry.Action.FEED_COLLISION_RESOLVED, locked,
               union_path=getattr(locked.feed.union, "path", "") or "",
               summary=f"处理结算ID冲突：{locked.feed.file_name} 第{locked.row}行"
                       f"（结算ID {locked.settlement_id}），{label}",
               changes={"feed": locked.feed_id, "row": locked.row, "state": label})
    return locked


def _member_in(feed: Feed, id_hash: str) -> tuple[int | None, FeedRow.Match]:
    """The row's member within its feed's node, and the row's match."""
    members = Member.objects.filter(id_number_hash=id_hash)
    if feed.union is not None:
        inside = members.filter(union__path__startswith=feed.union.path).first()
    else:
        inside = members.first()
    if inside is not None:
        return inside.pk, FeedRow.Match.MATCHED
    if members.exists():
        return None, FeedRow.Match.OUTSIDE_SCOPE
    return None, FeedRow.Match.NOT_MEMBER


def _replace(collision: FeedCollision) -> None:
    """The stored stay takes the row's facts; the row and its feed's counts follow."""
    feed = collision.feed
    member_id, match = _member_in(feed, collision.id_number_hash)
    Settlement.objects.filter(pk=collision.stay_id).update(
        id_number_sealed=collision.id_number_sealed, id_number_hash=collision.id_number_hash,
        member_id=member_id, feed=feed,
        **{f: getattr(collision, f) for f in FACTS})
    FeedRow.objects.filter(feed=feed, row=collision.row).update(
        outcome=FeedRow.Outcome.NEW, match=match, member_id=member_id,
        stay_id=collision.stay_id, message="")
    counter: dict[str, str] = {
        FeedRow.Match.MATCHED: "matched", FeedRow.Match.NOT_MEMBER: "unmatched_not_member",
        FeedRow.Match.OUTSIDE_SCOPE: "unmatched_outside_scope"}
    Feed.objects.filter(pk=feed.pk).update(collisions=F("collisions") - 1, new=F("new") + 1,
                                           **{counter[match]: F(counter[match]) + 1})
