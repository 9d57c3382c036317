"""The member page's coverage section (registered with huzhu.lib.panels)."""

from __future__ import annotations

from django.utils import timezone

from huzhu.coverage.lookup import member_coverage


def member_panel(request, member) -> dict:
    today = timezone.localdate()
    return {"covers": member_coverage(member, today), "today": today}
