"""Keys live outside var/: from the environment, a named key file, or a per-user
development key file; written 0600 whatever the umask; never generated unasked; an old
var/secrets.json is moved out with its keys unchanged."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from huzhu.config import secrets
from huzhu.config.secrets import KEY_NAMES, KeysError, load_secrets, new_keys
from huzhu.lib import crypto
from huzhu.lib.filemodes import private_sqlite
from tests.config.procs import child_env, huzhu


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def place(tmp_path):
    """A data directory and a configuration home, side by side in a temp dir."""
    var = tmp_path / "var"
    var.mkdir()
    config = tmp_path / "config"
    return var, config


@pytest.fixture
def loose_umask():
    """A umask that lets everyone read: the key code must not rely on the caller's."""
    old = os.umask(0o000)
    yield
    os.umask(old)


def files_under(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()]


def test_dev_key_file_is_outside_var_and_owner_only(place, loose_umask):
    var, config = place
    warnings: list[str] = []
    keys = load_secrets(var, {"XDG_CONFIG_HOME": str(config), "HUZHU_DEBUG": "1"},
                        warn=warnings.append)
    path = secrets.dev_keys_path(var, {"XDG_CONFIG_HOME": str(config)})
    assert path.parent == config / "huzhu" and path.name.startswith("keys-")
    assert json.loads(path.read_text())["HUZHU_FIELD_KEY"] == keys["HUZHU_FIELD_KEY"]
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert files_under(var) == []
    assert str(path) in warnings[0] and "备份" in warnings[0]
    # A second start reads the same keys and says nothing.
    again = load_secrets(var, {"XDG_CONFIG_HOME": str(config)}, warn=warnings.append)
    assert again == keys and len(warnings) == 1


def test_each_data_directory_has_its_own_dev_keys(tmp_path):
    environ = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "HUZHU_GENERATE_KEYS": "1"}
    first = load_secrets(tmp_path / "a" / "var", environ, warn=lambda _: None)
    second = load_secrets(tmp_path / "b" / "var", environ, warn=lambda _: None)
    assert first["HUZHU_FIELD_KEY"] != second["HUZHU_FIELD_KEY"]
    assert len(list((tmp_path / "config" / "huzhu").glob("keys-*.json"))) == 2


def test_without_keys_production_refuses_and_writes_nothing(place):
    var, config = place
    with pytest.raises(KeysError) as refused:
        load_secrets(var, {"XDG_CONFIG_HOME": str(config)}, warn=pytest.fail)
    message = str(refused.value)
    assert "缺少密钥" in message and "HUZHU_KEYS_FILE" in message and "HUZHU_DEBUG=1" in message
    assert not config.exists() and files_under(var) == []


def test_environment_wins_over_the_key_file(place):
    var, config = place
    keyfile = config / "keys.json"
    config.mkdir()
    in_file = new_keys()
    keyfile.write_text(json.dumps(in_file))
    keyfile.chmod(0o600)
    in_env = new_keys()
    environ = {"HUZHU_KEYS_FILE": str(keyfile), "HUZHU_FIELD_KEY": in_env["HUZHU_FIELD_KEY"]}
    keys = load_secrets(var, environ, warn=pytest.fail)
    assert keys["HUZHU_FIELD_KEY"] == in_env["HUZHU_FIELD_KEY"]
    assert keys["HUZHU_INDEX_KEY"] == in_file["HUZHU_INDEX_KEY"]
    assert keys["DJANGO_SECRET_KEY"] == in_file["DJANGO_SECRET_KEY"]
    everything = {**in_env}
    assert load_secrets(var, everything | {"HUZHU_KEYS_FILE": "/nonexistent/keys.json"},
                        warn=pytest.fail) == everything


def test_a_named_key_file_is_never_generated_unasked(place):
    var, config = place
    environ = {"HUZHU_KEYS_FILE": str(config / "keys.json")}
    with pytest.raises(KeysError, match="不存在"):
        load_secrets(var, environ, warn=pytest.fail)
    made = load_secrets(var, environ | {"HUZHU_GENERATE_KEYS": "1"}, warn=lambda _: None)
    assert mode(config / "keys.json") == 0o600
    assert load_secrets(var, environ, warn=pytest.fail) == made


def test_a_key_file_inside_var_is_refused(place):
    var, _ = place
    with pytest.raises(KeysError, match="数据目录"):
        load_secrets(var, {"HUZHU_KEYS_FILE": str(var / "keys.json"),
                           "HUZHU_GENERATE_KEYS": "1"}, warn=pytest.fail)
    assert files_under(var) == []


def test_a_readable_key_file_is_warned_about(place):
    var, config = place
    config.mkdir()
    keyfile = config / "keys.json"
    keyfile.write_text(json.dumps(new_keys()))
    keyfile.chmod(0o644)
    warnings: list[str] = []
    load_secrets(var, {"HUZHU_KEYS_FILE": str(keyfile)}, warn=warnings.append)
    assert warnings and "chmod 600" in warnings[0]


def test_a_malformed_field_key_is_refused_without_echoing_it(place):
    var, _ = place
    environ = new_keys() | {"HUZHU_INDEX_KEY": "c2hvcnQta2V5"}
    with pytest.raises(KeysError) as refused:
        load_secrets(var, environ, warn=pytest.fail)
    assert "HUZHU_INDEX_KEY" in str(refused.value) and "c2hvcnQta2V5" not in str(refused.value)


def test_old_secrets_json_is_moved_out_of_var_with_its_keys(place, loose_umask):
    var, config = place
    old = new_keys()
    old["DJANGO_SECRET_KEY"] = "x" * 44  # older installs made shorter Django keys
    (var / "secrets.json").write_text(json.dumps(old))
    warnings: list[str] = []
    keys = load_secrets(var, {"XDG_CONFIG_HOME": str(config)}, warn=warnings.append)
    assert keys == old  # moved, not generated: no HUZHU_DEBUG needed
    assert not (var / "secrets.json").exists() and files_under(var) == []
    moved = secrets.dev_keys_path(var, {"XDG_CONFIG_HOME": str(config)})
    assert mode(moved) == 0o600
    assert "secrets.json" in warnings[0] and str(moved) in warnings[0]


def test_old_secrets_json_that_disagrees_with_the_key_file_stops_the_start(place):
    var, config = place
    environ = {"XDG_CONFIG_HOME": str(config), "HUZHU_DEBUG": "1"}
    load_secrets(var, environ, warn=lambda _: None)
    (var / "secrets.json").write_text(json.dumps(new_keys()))
    with pytest.raises(KeysError, match="不一致"):
        load_secrets(var, environ, warn=pytest.fail)
    assert (var / "secrets.json").exists()  # never delete a key that may be the right one


def test_sqlite_files_are_owner_only(tmp_path, loose_umask):
    database = tmp_path / "huzhu.sqlite3"
    private_sqlite(database)
    assert mode(database) == 0o600
    wal = tmp_path / "huzhu.sqlite3-wal"
    wal.write_bytes(b"")
    wal.chmod(0o644)
    private_sqlite(database)
    assert mode(wal) == 0o600


@pytest.mark.slow
def test_a_fresh_start_keeps_keys_out_of_var_and_the_database_private(tmp_path):
    var = tmp_path / "var"
    env = child_env(tmp_path, HUZHU_VAR_DIR=str(var))
    refused = huzhu("manage", "migrate", "--noinput", env=env)
    assert refused.returncode == 2, refused.stderr
    assert "缺少密钥" in refused.stderr and "Traceback" not in refused.stderr

    done = huzhu("manage", "migrate", "--noinput", env={**env, "HUZHU_DEBUG": "1"})
    assert done.returncode == 0, done.stderr
    keyfiles = list((tmp_path / ".config" / "huzhu").glob("keys-*.json"))
    assert len(keyfiles) == 1 and mode(keyfiles[0]) == 0o600
    keys = json.loads(keyfiles[0].read_text())
    assert mode(var) == 0o700
    sqlite = [p for p in files_under(var) if p.name.startswith("huzhu.sqlite3")]
    assert sqlite and all(mode(p) == 0o600 for p in sqlite)
    for path in files_under(var):
        data = path.read_bytes()
        assert not any(keys[name].encode() in data for name in KEY_NAMES), path


@pytest.mark.slow
def test_data_sealed_under_an_old_secrets_json_stays_readable(tmp_path):
    var = tmp_path / "var"
    var.mkdir()
    old = new_keys()
    (var / "secrets.json").write_text(json.dumps(old))
    token = crypto.seal("220102198506010011", field_key=old["HUZHU_FIELD_KEY"])
    code = ("from huzhu.lib import crypto; "
            f"print(crypto.unseal(bytes.fromhex('{token.hex()}')))")
    run = huzhu("manage", "shell", "-c", code, env=child_env(tmp_path, HUZHU_VAR_DIR=str(var)))
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "220102198506010011"
    assert "已把旧版本的密钥文件" in run.stderr
    assert not (var / "secrets.json").exists()
