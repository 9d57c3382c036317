"""Sections that other apps add to a page they do not own (the member page shows its
coverage, later its claims), without the owning app importing them.

An app registers ``(name, template, context_function)`` in its ``AppConfig.ready``; the
page renders each in order. Mirrors how Django's admin lets apps add inlines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class Panel:
    name: str
    template: str
    # Called with the page's object (a member, a claim …): each panel knows its page's type.
    context: Callable[[HttpRequest, Any], dict[str, Any] | None]  # None: nothing to show
    order: int = 100


_PANELS: dict[str, list[Panel]] = {}


def register(page: str, panel: Panel) -> None:
    panels = [p for p in _PANELS.get(page, []) if p.name != panel.name]
    _PANELS[page] = sorted([*panels, panel], key=lambda p: p.order)


def render(page: str, request: HttpRequest, obj: object) -> list[SafeString]:
    out: list[SafeString] = []
    for panel in _PANELS.get(page, []):
        context = panel.context(request, obj)
        if context is not None:
            out.append(mark_safe(render_to_string(panel.template, context, request)))
    return out
