"""Correcting a draft or returned claim's facts (修改事件信息).

The form is the filing form of the claim's benefit (:func:`huzhu.claims.intake.claim_form`),
so an edit is checked exactly as filing is: the days no more than the stay, amounts that
are amounts, dates not in the future, and an event date whose day covers the member
under the claim's scheme and benefit (an edit may move the date: the cover is looked up
again for the new day, as filing looks it up, and the claim takes that day's period).

Only the clerk who filed the claim may edit it, and only while it is a draft or returned
for materials: the four-eyes rule bars the filer from reviewing, so the filer must stay
the only person who wrote the facts a reviewer checks; once submitted, a reviewer returns
the claim for the filer to correct. Each changed fact is written to the claim's history
and to the audit log as old → new; an unchanged submit records nothing. The engine's
amount no longer describes corrected facts, so it is cleared and computed again on
submit (``step_effects.submit``).

Two edits at once: the claim row is locked for the write, and the page's version (a
hash of the facts it showed) must still match, so an edit made from a page opened
before another edit was saved is refused instead of silently undoing it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from decimal import Decimal
from typing import Any, cast

from django.db import models, transaction

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.claims import intake
from huzhu.claims.access import in_scope
from huzhu.claims.models import Claim, ClaimEvent
from huzhu.claims.workflow import FILE, ClaimRefused
from huzhu.lib import crypto
from huzhu.orgs import roles
from huzhu.orgs.models import User
from huzhu.orgs.scope import sees_everything
from huzhu.rules.money import yuan
from huzhu.rules.schema import Benefit

EDITABLE = (Claim.State.DRAFT, Claim.State.RETURNED)
# The form's relative ID number is kept only as its keyed hash (intake.file_claim).
RELATIVE = "relative_id_number"
STALE = "这笔理赔在您打开修改页之后已被修改，请重新打开修改页，核对后再改"


def why_not(user: User, claim: Claim) -> str | None:
    """Why ``user`` may not edit ``claim``'s facts now (None: they may)."""
    if claim.state not in EDITABLE:
        return (f"理赔当前为“{claim.get_state_display()}”，不能修改事件信息：只有草稿和"
                "退回补充材料的理赔可以修改，已提交审核的须由审核员退回后再改")
    if not (sees_everything(user) or user.role in roles.roles_with(FILE)):
        return "您的角色不能修改理赔"
    if not in_scope(user, claim):
        return "该理赔不在您的管辖范围内"
    if claim.filed_by_id != user.pk:
        return (f"只有经办人本人（{claim.filed_by}）可以修改事件信息：改过事实的人不能"
                "再审核它（双人审核）")
    return None


def benefit_of(claim: Claim) -> Benefit:
    return claim.scheme.policy().benefit(claim.benefit)


def form_for(claim: Claim, data: Any = None) -> intake.ClaimForm:
    """The claim's filing form, filled with its facts. The relative's ID number is not
    kept, so it is asked again only to change the relative (blank keeps it)."""
    benefit = benefit_of(claim)
    form = intake.claim_form(benefit, data, initial=_initial(claim, benefit))
    if RELATIVE in form.fields:
        field = form.fields[RELATIVE]
        field.required = False
        field.help_text = "不改亲属请留空（号码不保存，无法显示）；改为另一位亲属时填写其身份证号"
    return form


def _initial(claim: Claim, benefit: Benefit) -> dict[str, Any]:
    initial: dict[str, Any] = {"event_date": claim.event_date}
    for name in _form_names(benefit)[1:]:
        if name == RELATIVE:
            continue
        value = getattr(claim, name)
        if isinstance(value, bool):
            value = "yes" if value else "no"
        initial[name] = value
    return initial


def _form_names(benefit: Benefit) -> list[str]:
    """The facts the filing form of ``benefit`` takes, the event date first."""
    return ["event_date", *(n for n in intake.needed_fields(benefit) if n in intake.FIELDS)]


def _names(claim: Claim) -> list[str]:
    """The claim's facts an edit may change, as model fields (the relative as its key)."""
    return ["relative_key" if n == RELATIVE else n for n in _form_names(benefit_of(claim))]


def version(claim: Claim) -> str:
    """A hash of the facts the edit page shows: the page sends it back, and an edit is
    refused if the facts have changed since (another tab, another click)."""
    facts = {name: _plain(getattr(claim, name)) for name in _names(claim)}
    facts["state"] = claim.state
    text = json.dumps(facts, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | Decimal):
        return str(value)
    return value


def edit(user: User, claim_id: int, facts: dict[str, Any], seen: str) -> list[str]:
    """Write the edited ``facts`` (the form's cleaned data) to the claim; returns the
    labels of the changed facts (empty: nothing changed, nothing recorded). ``seen`` is
    the version the edit page showed."""
    with transaction.atomic():
        claim = (Claim.objects.select_for_update(of=("self",))
                 .select_related("member__union", "scheme", "filed_by").get(pk=claim_id))
        problem = why_not(user, claim)
        if problem:
            raise ClaimRefused(problem)
        if seen != version(claim):
            raise ClaimRefused(STALE)
        benefit = benefit_of(claim)
        changes = _apply(claim, benefit, facts)
        if not changes:
            return []
        changed = [label for label, _, _ in changes]
        said = [f"{label}：{old} → {new}" for label, old, new in changes]
        notes = [f"修改{text}" for text in said]
        audit_changes = {label: [old, new] for label, old, new in changes}
        if claim.computed is not None:
            # Computed from the facts as they were: the engine computes the corrected
            # ones on submit. Said as what happens, not as an "old → new" pair.
            voided = (f"原测算金额 {yuan(claim.computed)} 元作废，"
                      "提交审核时按修改后的信息重新测算")
            notes.append(voided)
            said.append(voided)
            audit_changes["测算金额"] = [yuan(claim.computed), "作废，提交审核时重新测算"]
            claim.computed = claim.final = None
            claim.computation, claim.policy_hash = {}, ""
        claim.save()
        ClaimEvent.objects.bulk_create(
            ClaimEvent(claim=claim, actor=user, action="edit", from_state=claim.state,
                       to_state=claim.state, note=note[:300])
            for note in notes)
        log.record(user, AuditEntry.Action.CLAIM_CHANGED, claim,
                   union_path=claim.member.union.path,
                   summary=f"理赔 {claim.number}（{claim.member.name} {claim.benefit_name}）："
                           "修改事件信息，" + "；".join(said),
                   changes=audit_changes)
    return changed


def _apply(claim: Claim, benefit: Benefit, facts: dict[str, Any]
           ) -> list[tuple[str, str, str]]:
    """Set the changed facts on ``claim``: (label, old, new) for each, as people read them."""
    changes: list[tuple[str, str, str]] = []
    names = _form_names(benefit)
    moved = facts.get("event_date", claim.event_date) != claim.event_date
    labels = {name: _label(name, benefit) for name in names}
    for name in names:
        if name not in facts:
            continue
        if name == RELATIVE:
            if facts[name]:
                key = crypto.blind_index("relative:" + facts[name])
                if key != claim.relative_key:
                    claim.relative_key = key
                    changes.append((labels[name], "原亲属", "另一位亲属（号码不保存）"))
            continue
        # The form's facts are the claim's own columns (no relation, no generic key).
        field = cast("models.Field[Any, Any]", Claim._meta.get_field(name))
        new = facts[name]
        if new in (None, ""):
            new = None if field.null else ""
        old = getattr(claim, name)
        if old == new:
            continue
        setattr(claim, name, new)
        changes.append((labels[name], _shown(name, old), _shown(name, new)))
    if moved:
        claim.period = _cover(claim, benefit).period
    return changes


def _cover(claim: Claim, benefit: Benefit) -> intake.Offer:
    """The offer of the claim's scheme and benefit on its (new) event date, as filing
    looks it up: the event date is the day whose cover is checked."""
    for offer in intake.offers(claim.member, claim.event_date):
        if offer.scheme.pk == claim.scheme_id and offer.benefit.code == benefit.code:
            return offer
    raise ClaimRefused(f"{claim.event_date:%Y-%m-%d} 该会员没有“{claim.benefit_name}”的保障"
                       f"（{claim.scheme.name}），事件日期不能改为这一天")


_NOTE = re.compile(r"（[^）]*）$")


def _label(name: str, benefit: Benefit) -> str:
    """The fact's name as the form asks it, without the form's aside (元, ICD-10 …)."""
    if name == "event_date":
        return intake.event_date_label(benefit)
    return _NOTE.sub("", str(intake.FIELDS[name]().label))


def _shown(name: str, value: Any) -> str:
    """A fact as people read it: money with two places, dates as 2026-05-01, yes/no in
    words, a chosen word by its label."""
    if value is None or value == "":
        return "空"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return yuan(value)
    if isinstance(value, dt.date):
        return f"{value:%Y-%m-%d}"
    choices = dict(getattr(intake.FIELDS[name](), "choices", None) or ()) \
        if name in intake.FIELDS else {}
    return str(choices.get(str(value), value))
