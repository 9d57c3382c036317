"""Static files under ``huzhu serve``: hashed names, compressed copies, cached for a year.

``huzhu serve`` runs ``collectstatic`` at every start with this storage (it sets
``HUZHU_STATIC_COLLECTED=1`` for itself and its children; see the settings): each file
is copied under a name that carries a hash of its content (``plotly-basic-3.7.0.min.3f9a….js``) and
gzipped beside it, and pages link the hashed names. WhiteNoise serves a hashed name with
``Cache-Control: max-age=315360000, immutable`` (its content can never change under that
name) and the gzip copy to a browser that accepts it: a second visit loads no script or
stylesheet again, and the first loads the statistics page's chart script in a fifth of its size.

Also in debug mode (``make demo``): Django links plain names then, which WhiteNoise
serves for 0 seconds, so every page revalidated every script; the collect at start makes
the hashed names current there too. A name the manifest does not hold (a file added
since the last collect) is linked plainly instead of failing the page.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from whitenoise.storage import CompressedManifestStaticFilesStorage


class HashedStaticStorage(CompressedManifestStaticFilesStorage):  # type: ignore[misc]
    # (whitenoise ships no type hints: its base class is Any to mypy)
    manifest_strict = False

    def stored_name(self, name: str) -> str:
        clean = urlsplit(unquote(name)).path.strip()
        if self.hashed_files.get(self.hash_key(clean)) is None:
            return name  # not collected: the plain name, found by WhiteNoise or a finder
        return str(super().stored_name(name))

    def url(self, name: str | None, force: bool = False) -> str:
        return str(self._url(self.stored_name, name, force=True))
