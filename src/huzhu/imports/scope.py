"""The part of the registry an import may touch: the importing user's subtree."""

from __future__ import annotations

from dataclasses import dataclass

from huzhu.orgs.scope import union_path


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
