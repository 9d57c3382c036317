"""The keyring: field keys and index keys by id, one current of each.

The three keys of :mod:`huzhu.config.secrets` (environment or key file) are the first
keys: ``HUZHU_FIELD_KEY`` sealed every value before the first rotation, and
``HUZHU_INDEX_KEY`` made every blind index. A rotation adds keys to the keyring file, which
lives next to the key file (``<key file>.keyring.json``, or ``HUZHU_KEYRING_FILE``), never
in ``var/``: a backup of the data must not carry the keys that open it. The file is
written 0600 by an atomic replace, so a reader sees the old keyring or the new one.

A key's id is the first four bytes of a hash of the key: a ciphertext names the key that
opens it without a table of ids to keep in step, and four bytes of a hash of a random
256-bit key say nothing about the key.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import json
import os
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KEYRING_ENV = "HUZHU_KEYRING_FILE"


class KeyringError(RuntimeError):
    """The keyring cannot be read or written; the message (Chinese) says why."""


def dev_keys_path(var_dir: Path, environ: Mapping[str, str]) -> Path:
    """The development key file of one data directory, outside it."""
    config = environ.get("XDG_CONFIG_HOME", "").strip()
    base = Path(config) if config and Path(config).is_absolute() else (
        Path(environ.get("HOME") or Path.home()) / ".config")
    digest = hashlib.sha256(str(Path(var_dir).resolve()).encode()).hexdigest()[:12]
    return base / "huzhu" / f"keys-{digest}.json"


def keys_path(var_dir: Path, environ: Mapping[str, str]) -> Path:
    """Where the keys that are not in the environment live (or would be generated)."""
    named = environ.get("HUZHU_KEYS_FILE", "").strip()
    return Path(named).expanduser().resolve() if named else dev_keys_path(var_dir, environ)


def keyring_path(var_dir: Path, environ: Mapping[str, str]) -> Path:
    named = environ.get(KEYRING_ENV, "").strip()
    if named:
        return Path(named).expanduser().resolve()
    keys = keys_path(var_dir, environ)
    return keys.with_name(keys.stem + ".keyring.json")


def sibling(ring: Path, suffix: str) -> Path:
    """A file that belongs with the keyring (rotation state, lock, retired keys)."""
    stem = ring.name.removesuffix(".json").removesuffix(".keyring")
    return ring.with_name(f"{stem}.{suffix}")


def key_id(key: str) -> str:
    raw = base64.urlsafe_b64decode(key)
    return hashlib.sha256(b"huzhu-key-id\0" + raw).digest()[:4].hex()


def new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


@dataclass
class Keyring:
    """What the keyring file holds. ``rotating`` is set from the moment a rotation made its
    new keys until its verification retired the old ones: meanwhile ``index_previous``
    (the index key the rotation replaces) still finds the rows not rebuilt yet."""

    field: dict[str, str] = dataclasses.field(default_factory=dict)  # id -> key (urlsafe base64)
    field_current: str | None = None
    index: dict[str, str] = dataclasses.field(default_factory=dict)
    index_current: str | None = None
    index_previous: str | None = None
    retired: list[str] = dataclasses.field(default_factory=list)  # ids never to be used again
    rotating: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"field": {"current": self.field_current, "keys": self.field},
                "index": {"current": self.index_current, "previous": self.index_previous,
                          "keys": self.index},
                "retired": self.retired, "rotating": self.rotating}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Keyring:
        f, i = data.get("field") or {}, data.get("index") or {}
        return cls(field=dict(f.get("keys") or {}), field_current=f.get("current"),
                   index=dict(i.get("keys") or {}), index_current=i.get("current"),
                   index_previous=i.get("previous"), retired=list(data.get("retired") or []),
                   rotating=data.get("rotating"))


def load(path: Path) -> Keyring:
    if not path.exists():
        return Keyring()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KeyringError(f"无法读取密钥环文件 {path}：{exc.__class__.__name__}") from None
    if not isinstance(data, dict):
        raise KeyringError(f"密钥环文件 {path} 的内容应为 JSON 对象")
    ring = Keyring.from_json(data)
    for kind, keys in (("字段", ring.field), ("索引", ring.index)):
        for kid, key in keys.items():
            if key_id(key) != kid:
                raise KeyringError(f"密钥环文件 {path} 中的{kind}密钥 {kid} 与其编号不符，"
                                   "文件可能已损坏：请从离线备份恢复")
    return ring


@contextlib.contextmanager
def _private_umask() -> Iterator[None]:
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` 0600 (directory 0700 if new), atomically and durably."""
    with _private_umask():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2, ensure_ascii=False)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        with contextlib.suppress(OSError):  # the rename itself durable too
            dfd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)


def save(path: Path, ring: Keyring) -> None:
    write_json(path, ring.to_json())
