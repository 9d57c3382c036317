"""The kinds of file the import accepts, registered by the domain apps that own them.

``orgs`` registers units and ``members`` registers members (later apps add enrolments,
settlement feeds …); the upload page, the job runner and ``huzhu import`` know a kind only
through this registry, so the import machinery never imports a domain app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from huzhu.imports.columns import ColumnSet

if TYPE_CHECKING:
    from huzhu.imports.service import ImportRun


@dataclass(frozen=True)
class ImportKind:
    code: str  # "members": the job's kind and the command line's argument
    label: str  # "会员"
    columns: ColumnSet
    run: Callable[[ImportRun], None]  # validate every row; load them if allowed
    example: tuple[str, ...]  # one example row for the blank template
    result_url: str  # where "查看结果" leads once the job is done (a URL name)
    order: int = 100  # position on the upload page
    # False: uploaded from its own page (an enrolment list from its period's page), not
    # offered on the general upload page.
    listed: bool = True


_KINDS: dict[str, ImportKind] = {}


def register(kind: ImportKind) -> None:
    _KINDS[kind.code] = kind


def get(code: str) -> ImportKind | None:
    return _KINDS.get(code)


def all_kinds(listed_only: bool = True) -> list[ImportKind]:
    return sorted((k for k in _KINDS.values() if k.listed or not listed_only),
                  key=lambda k: (k.order, k.code))


def label_of(code: str) -> str:
    kind = _KINDS.get(code)
    return kind.label if kind else code
