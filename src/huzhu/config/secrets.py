"""Keys for Django and for field encryption, kept out of ``var/``.

A backup of ``var/`` (database, uploads) must not carry the key that decrypts it. Each key
comes, in this order, from:

1. the environment: ``DJANGO_SECRET_KEY``, ``HUZHU_FIELD_KEY``, ``HUZHU_INDEX_KEY``;
2. the JSON file named by ``HUZHU_KEYS_FILE`` (production, e.g. ``/etc/huzhu/keys.json``);
3. otherwise a development key file in the user's configuration directory,
   ``$XDG_CONFIG_HOME/huzhu/keys-<hash of the var path>.json`` (``~/.config`` by default):
   one file per data directory, so two checkouts, or the temporary data directories of
   tests, never share or overwrite each other's keys.

Missing keys are generated only on request: ``HUZHU_DEBUG=1`` or ``HUZHU_GENERATE_KEYS=1``
(``make demo`` and ``huzhu demo`` do). A production start whose environment lost its keys
refuses to run instead of encrypting new records under a fresh key that nobody backs up.
``huzhu keys rotate`` adds keys to a keyring next to the key file (see
:mod:`huzhu.lib.keys.store`); once a rotation has retired ``HUZHU_FIELD_KEY`` it may be
removed from the environment or the key file, and the keyring's current field key stands
in for it. Key files are written with a 077 umask (0600 in a 0700 directory). A ``var/secrets.json``
left by an older install is moved to where the key file belongs, keys unchanged, so the
data already encrypted under them stays readable.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import secrets
import stat
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from huzhu.lib.filemodes import tighten
from huzhu.lib.keys import store as keyring
from huzhu.lib.keys.store import dev_keys_path as dev_keys_path  # tests and tools use it from here
from huzhu.lib.keys.store import keyring_path, keys_path

KEY_NAMES = ("DJANGO_SECRET_KEY", "HUZHU_FIELD_KEY", "HUZHU_INDEX_KEY")
FIELD_KEYS = ("HUZHU_FIELD_KEY", "HUZHU_INDEX_KEY")  # 32 bytes, urlsafe base64
OLD_FILE = "secrets.json"
_TRUE = {"1", "true", "yes", "on"}

Warn = Callable[[str], None]


class KeysError(ImproperlyConfigured):
    """The keys cannot be had safely; the message (Chinese) says what to do."""


def _warn(message: str) -> None:
    print(f"huzhu：{message}", file=sys.stderr, flush=True)


def _flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() in _TRUE


def may_generate(environ: Mapping[str, str]) -> bool:
    return _flag(environ, "HUZHU_DEBUG") or _flag(environ, "HUZHU_GENERATE_KEYS")


def new_keys(names: list[str] | tuple[str, ...] = KEY_NAMES) -> dict[str, str]:
    made = {}
    for name in names:
        if name == "DJANGO_SECRET_KEY":
            made[name] = secrets.token_urlsafe(64)  # check --deploy wants 50+ characters
        else:
            made[name] = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    return made


def load_secrets(var_dir: Path, environ: Mapping[str, str] | None = None,
                 warn: Warn = _warn) -> dict[str, str]:
    """The three keys, by name. Raises :class:`KeysError` rather than guess."""
    env = os.environ if environ is None else environ
    var_dir = Path(var_dir).resolve()
    path = keys_path(var_dir, env)
    if path == var_dir or var_dir in path.parents:
        raise KeysError(f"密钥文件 {path} 位于数据目录 {var_dir} 之内：数据的备份会连同密钥一起"
                        "泄露。请把 HUZHU_KEYS_FILE 指向数据目录以外的位置。")
    _move_old_file(var_dir, path, warn)

    keys = {name: env[name].strip() for name in KEY_NAMES if env.get(name, "").strip()}
    sources = dict.fromkeys(keys, "环境变量")
    missing = [name for name in KEY_NAMES if name not in keys]
    if missing:
        stored = _read(path, warn) if path.exists() else {}
        # After a rotation retired it, HUZHU_FIELD_KEY may be removed from the
        # configuration: the keyring's current field key stands in (and a new key is not
        # generated over a keyring that would no longer open anything).
        rotated = (_rotated_field_key(var_dir, env) if "HUZHU_FIELD_KEY" in missing
                   and not stored.get("HUZHU_FIELD_KEY") else {})
        absent = [name for name in missing if not stored.get(name) and name not in rotated]
        if absent:
            if not may_generate(env):
                raise KeysError(_missing_message(absent, path, named="HUZHU_KEYS_FILE" in env))
            stored = _store(path, {**stored, **new_keys(absent)}, var_dir,
                            replace=path.exists())
            warn(f"已生成密钥 {'、'.join(absent)}，保存在 {path}（数据目录以外，权限 0600）。"
                 "备份数据时请另行妥善备份这个文件：没有它，已加密的身份证号和银行账号无法解密。")
        for name in missing:
            if stored.get(name):
                keys[name], sources[name] = stored[name], str(path)
            else:
                keys[name] = rotated[name]
                sources[name] = f"密钥环 {keyring_path(var_dir, env)}"
    _validate(keys, sources)
    return {name: keys[name] for name in KEY_NAMES}


def _rotated_field_key(var_dir: Path, env: Mapping[str, str]) -> dict[str, str]:
    try:
        ring = keyring.load(keyring_path(var_dir, env))
    except keyring.KeyringError as exc:
        raise KeysError(str(exc)) from None
    if ring.field_current and ring.field_current in ring.field:
        return {"HUZHU_FIELD_KEY": ring.field[ring.field_current]}
    return {}


def _missing_message(absent: list[str], path: Path, named: bool) -> str:
    where = f"密钥文件 {path} " + ("中没有它们" if path.exists() else "不存在")
    hint = ("" if named else
            "开发机上可设置 HUZHU_DEBUG=1（make demo 即如此）或 HUZHU_GENERATE_KEYS=1 自动生成。")
    return (f"缺少密钥 {'、'.join(absent)}：环境变量中没有，{where}。生产环境请在环境变量中设置 "
            "DJANGO_SECRET_KEY、HUZHU_FIELD_KEY、HUZHU_INDEX_KEY，或用 HUZHU_KEYS_FILE 指定"
            "密钥文件（首次部署时加 HUZHU_GENERATE_KEYS=1 生成）。" + hint +
            "详见 README 的“生产环境运行”一节。")


def _move_old_file(var_dir: Path, target: Path, warn: Warn) -> None:
    """An older install kept its keys in var/secrets.json: take them out of var/."""
    old = var_dir / OLD_FILE
    if not old.exists():
        return
    old_keys = _read(old, warn=None)
    if target.exists():
        current = _read(target, warn=None)
        if any(current.get(name) != value for name, value in old_keys.items()
               if name in KEY_NAMES):
            raise KeysError(f"{old}（旧版本的密钥文件）与 {target} 中的密钥不一致。请确认现有数据"
                            "是用哪一份密钥加密的，保留那一份（放在数据目录以外），删除另一份后"
                            "重新启动。")
        old.unlink()
        warn(f"已删除 {old}：其中的密钥与 {target} 相同，数据目录中不再存放密钥。")
        return
    _store(target, old_keys, var_dir, replace=False)
    old.unlink()
    warn(f"已把旧版本的密钥文件 {old} 移到 {target}（数据目录以外，权限 0600），密钥未改变。"
         "备份数据时请另行妥善备份这个文件。")


def _read(path: Path, warn: Warn | None) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KeysError(f"无法读取密钥文件 {path}：{exc.__class__.__name__}") from None
    if not isinstance(data, dict):
        raise KeysError(f"密钥文件 {path} 的内容应为 JSON 对象")
    mode = stat.S_IMODE(path.stat().st_mode)
    if warn and mode & 0o077:
        warn(f"密钥文件 {path} 的权限为 {mode:04o}，其他用户可以读取；请执行 chmod 600 {path}")
    return {str(k): str(v) for k, v in data.items()}


def _validate(keys: dict[str, str], sources: dict[str, str]) -> None:
    for name in FIELD_KEYS:
        try:
            ok = len(base64.urlsafe_b64decode(keys[name])) == 32
        except (binascii.Error, ValueError):
            ok = False
        if not ok:
            raise KeysError(f"{name}（来自{sources[name]}）不是 32 字节、urlsafe base64 编码的密钥")


@contextlib.contextmanager
def _private_umask() -> Iterator[None]:
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def _store(path: Path, keys: dict[str, str], var_dir: Path, replace: bool) -> dict[str, str]:
    """Write a key file 0600; a new file is created only if absent (a concurrent start that
    won the race keeps its keys, and we return those)."""
    data = {**keys, "var_dir": str(var_dir)}
    with _private_umask():
        fresh = not path.parent.exists()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not fresh and path.parent.name == "huzhu":
            tighten(path.parent, 0o700)  # our own config directory, not e.g. /etc
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(tmp, path)
            return keys
        try:
            os.link(tmp, path)
        except FileExistsError:
            return _read(path, warn=None)
        finally:
            tmp.unlink()
    return keys
