"""``{% load computation_words %}``: a claim's 计算过程 in sentences.

``{% computation_steps claim as steps %}`` reads the computation the claim keeps (the
engine's row as it was computed), the claim's facts and the scheme's pinned policy, and
hands them to :func:`huzhu.rules.explain.explain`, which re-derives each step with its
numbers (the money itself is computed only in :mod:`huzhu.rules`). The member pages say
the same words by the same tag.
"""

from __future__ import annotations

from typing import Any

from django import template

from huzhu.claims.computation import EVENT_FIELDS
from huzhu.rules.errors import PolicyError
from huzhu.rules.explain import explain

register = template.Library()


def claim_facts(claim: Any) -> dict[str, object]:
    """The claim's event facts that are filled in, by the engine's names."""
    facts: dict[str, object] = {"event_date": claim.event_date}
    for name in EVENT_FIELDS:
        value = getattr(claim, name, None)
        if value not in (None, ""):
            facts[name] = value
    return facts


@register.simple_tag
def computation_steps(claim: Any) -> list[str]:
    """The sentences of the claim's computation; none before it was computed, and none
    when the scheme's policy is not the one that computed it (its caps could read other
    numbers) or no longer has the claim's benefit: the page then shows the kept reason
    and amounts alone."""
    if not claim.computation:
        return []
    try:
        policy = claim.scheme.policy()
        if claim.policy_hash and claim.policy_hash != policy.content_hash:
            return []
        return explain(policy, claim.benefit, claim.computation, claim_facts(claim))
    except (KeyError, PolicyError):
        return []
