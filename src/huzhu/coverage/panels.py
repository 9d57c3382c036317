"""The member page's coverage section (registered with huzhu.lib.panels)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from huzhu.coverage.lookup import member_coverage
from huzhu.members.models import Member


def member_panel(request: HttpRequest, member: Member) -> dict[str, Any]:
    today = timezone.localdate()
    return {"covers": member_coverage(member, today), "today": today}
