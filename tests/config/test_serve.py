"""``huzhu serve`` for real: gunicorn answers pages and static files with debug mode off,
the task worker is restarted when it dies, and SIGTERM leaves no process behind."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from huzhu.config import serve
from huzhu.config.secrets import new_keys
from tests.config.procs import HUZHU, ROOT, child_env, huzhu

pytestmark = pytest.mark.slow

STARTED = re.compile(r"后台任务进程已启动（PID (\d+)）")


def test_backoff_doubles_up_to_a_cap_and_resets_after_a_steady_run():
    waits, previous = [], None
    for _ in range(7):
        previous = serve.next_backoff(previous, ran_for=2.0)
        waits.append(previous)
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert serve.next_backoff(30.0, ran_for=serve.STEADY_AFTER) == 1.0


def test_a_bare_port_binds_to_loopback():
    assert serve.bind_address("8123") == "127.0.0.1:8123"
    assert serve.bind_address("0.0.0.0:80") == "0.0.0.0:80"
    assert serve.bind_address("unix:/run/huzhu.sock") == "unix:/run/huzhu.sock"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _production_env(tmp_path: Path) -> dict[str, str]:
    """Debug off, keys in a key file outside the data directory, as in production."""
    keyfile = tmp_path / "etc" / "keys.json"
    keyfile.parent.mkdir()
    keyfile.write_text(json.dumps(new_keys()))
    keyfile.chmod(0o600)
    return child_env(tmp_path, HUZHU_VAR_DIR=str(tmp_path / "var"),
                     HUZHU_KEYS_FILE=str(keyfile))


def _descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


class Output:
    """Collects a child's merged stdout and stderr, line by line, as it comes."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, predicate, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = predicate(self.lines)
            if result:
                return result
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; output so far:\n{self.text()}")


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _wait_until_up(url: str, server: subprocess.Popen, output: Output) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, f"huzhu serve exited early:\n{output.text()}"
        try:
            if _get(url)[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never answered:\n{output.text()}")


@pytest.fixture
def started(tmp_path):
    """A migrated temp data directory and a running ``huzhu serve`` on a free port."""
    environ = _production_env(tmp_path)
    migrated = huzhu("manage", "migrate", "--noinput", env=environ, timeout=300)
    assert migrated.returncode == 0, migrated.stderr
    port = _free_port()

    def start(*extra: str):
        process = subprocess.Popen(
            [*HUZHU, "serve", "--addr", f"127.0.0.1:{port}", "--workers", "1", *extra],
            env=environ, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        output = Output(process.stdout)
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(f"{base}/login/", process, output)
        running.append(process)
        return process, output, base

    running: list[subprocess.Popen] = []
    yield start
    for process in running:  # a failed test must not leave a server behind
        if process.poll() is None:
            for pid in _descendants(process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            process.kill()
            process.wait()


def _package_file(relative: str) -> bytes:
    from django.contrib.staticfiles import finders

    return Path(finders.find(relative)).read_bytes()


def test_serve_answers_restarts_its_worker_and_stops_cleanly(started, tmp_path):
    process, output, base = started()

    status, body = _get(f"{base}/login/")
    assert status == 200 and "登录职工互助保障系统" in body.decode()
    for relative in ("bootstrap/css/bootstrap.min.css", "django_htmx/htmx-2.min.js",
                     "ninja/swagger-ui-bundle.js", "web/site.css"):
        status, body = _get(f"{base}/static/{relative}")
        assert status == 200, relative
        assert body == _package_file(relative), relative
    status, body = _get(f"{base}/no-such-page/")
    assert status == 404 and "找不到您要访问的页面" in body.decode()
    assert "URLconf" not in body.decode()  # debug mode is off
    assert not list(tmp_path.rglob("secrets.json"))
    assert not (tmp_path / ".gunicorn").exists()

    first = int(output.wait_for(lambda lines: [m.group(1) for line in lines
                                               if (m := STARTED.search(line))],
                                timeout=30, what="the worker")[0])
    assert "db_worker" in _cmdline(first)
    output.wait_for(lambda lines: any("启动时的例行清理已完成" in line for line in lines),
                    timeout=60, what="housekeeping at worker start")

    os.kill(first, signal.SIGKILL)
    pids = output.wait_for(lambda lines: [int(m.group(1)) for line in lines
                                          if (m := STARTED.search(line))][1:],
                           timeout=30, what="the worker's restart")
    second = pids[0]
    assert second != first and _alive(second) and "db_worker" in _cmdline(second)
    assert "后台任务进程已退出" in output.text() and "秒后重启" in output.text()
    output.wait_for(lambda lines: sum("启动时的例行清理已完成" in line for line in lines) >= 2,
                    timeout=60, what="housekeeping after the restart")

    children = _descendants(process.pid)
    assert second in children and len(children) >= 3  # gunicorn master and worker, db_worker
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0, output.text()
    time.sleep(0.5)
    left = [pid for pid in children if _alive(pid)]
    assert not left, [(pid, _cmdline(pid)) for pid in left]
    assert "正在停止" in output.text()


def test_no_worker_starts_no_task_worker(started):
    process, output, base = started("--no-worker")
    assert _get(f"{base}/login/")[0] == 200
    assert "未启动后台任务进程" in output.text()
    children = _descendants(process.pid)
    assert not any("db_worker" in _cmdline(pid) for pid in children if _alive(pid))
    process.send_signal(signal.SIGINT)  # Ctrl+C
    assert process.wait(timeout=60) == 0
    assert not [pid for pid in children if _alive(pid)]


def test_serve_without_keys_refuses_to_start(tmp_path):
    environ = child_env(tmp_path, HUZHU_VAR_DIR=str(tmp_path / "var"))
    refused = subprocess.run([*HUZHU, "serve", "--addr", f"127.0.0.1:{_free_port()}"],
                             env=environ, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert "缺少密钥" in refused.stderr and "Traceback" not in refused.stderr


def test_children_do_not_outlive_a_killed_serve(started):
    process, output, _ = started()
    output.wait_for(lambda lines: any(STARTED.search(line) for line in lines), timeout=30,
                    what="the worker")
    children = _descendants(process.pid)
    assert any("db_worker" in _cmdline(pid) for pid in children)
    process.kill()  # SIGKILL: no chance to stop anything itself
    process.wait()
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.2)
    left = [pid for pid in children if _alive(pid)]
    assert not left, [(pid, _cmdline(pid)) for pid in left]
