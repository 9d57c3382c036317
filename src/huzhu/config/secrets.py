"""Keys for Django and for field encryption.

Production sets them in the environment. A development machine gets random keys
written once to ``var/secrets.json`` (never committed), so a fresh clone works with
one command and no key ever lives in the repository.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

KEY_NAMES = ("DJANGO_SECRET_KEY", "HUZHU_FIELD_KEY", "HUZHU_INDEX_KEY")


def _new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def load_secrets(var_dir: Path) -> dict[str, str]:
    """Environment first; otherwise the machine-local file, created on first use."""
    found = {name: os.environ[name] for name in KEY_NAMES if os.environ.get(name)}
    if len(found) == len(KEY_NAMES):
        return found
    path = var_dir / "secrets.json"
    stored: dict[str, str] = {}
    if path.exists():
        stored = json.loads(path.read_text())
    missing = [name for name in KEY_NAMES if name not in stored]
    if missing:
        stored.update({name: _new_key() for name in missing})
        var_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(stored, indent=2))
        tmp.chmod(0o600)
        tmp.replace(path)
    return {**stored, **found}
