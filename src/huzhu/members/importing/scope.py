"""The part of the registry an import may touch: the importing user's subtree."""

from __future__ import annotations

from dataclasses import dataclass, field

from huzhu.orgs.models import Unit
from huzhu.orgs.scope import scoped, union_path


@dataclass
class ImportScope:
    """Who imports, and the union path prefix they may write under (None: everywhere)."""

    user: object | None
    prefix: str | None

    @classmethod
    def for_user(cls, user) -> ImportScope:
        return cls(user, None if user is None else union_path(user))

    def covers(self, path: str) -> bool:
        return self.prefix is None or path.startswith(self.prefix)

    @property
    def actor(self):
        return self.user if getattr(self.user, "pk", None) else None


@dataclass
class UnitIndex:
    """The units in scope, by USCC and by name, loaded once per import (thousands, not
    millions), so that rows never query for their unit."""

    by_uscc: dict[str, tuple[int, int]] = field(default_factory=dict)
    by_name: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    union_paths: dict[int, str] = field(default_factory=dict)

    @classmethod
    def load(cls, scope: ImportScope) -> UnitIndex:
        index = cls()
        units = Unit.objects.all()
        if scope.user is not None:
            units = scoped(scope.user, units)
        for unit_id, uscc, name, union_id, path in units.values_list(
            "id", "uscc", "name", "union_id", "union__path"
        ).iterator(chunk_size=5000):
            index.by_uscc[uscc] = (unit_id, union_id)
            index.by_name.setdefault(name.strip(), []).append((unit_id, union_id))
            index.union_paths[union_id] = path
        return index
