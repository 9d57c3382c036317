"""``huzhu serve``: the production web server and the supervised background task worker.

The web server is gunicorn with gthread workers (see :mod:`huzhu.config.gunicorn_conf`);
static files are collected into ``var/static`` at start and served by WhiteNoise from the
app. This process only supervises:

- gunicorn: when it exits, everything stops (a service manager restarts the whole);
- the task worker (``db_worker``): restarted whenever it exits, after 1, 2, 4 … 30 s (back
  to 1 s once it has run a minute), so one crash does not stall imports for good;
- ``housekeeping`` (recovers jobs a dead worker left and deletes their uploads): when the
  worker starts or restarts and every 60 s after;
- the audit log's anchor (``huzhu audit anchor``: the hash chain's head, its count and
  the time) written to this log at start and once a day, so that it can be kept elsewhere;
- SIGTERM, SIGINT (Ctrl+C) or SIGHUP stop every child and what the child started.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

from huzhu.config import env
from huzhu.config.secrets import load_secrets

WORKER_ARGS = ("manage", "db_worker", "--interval", "0.5", "--no-reload")
HOUSEKEEPING_ARGS = ("manage", "housekeeping")
HOUSEKEEPING_EVERY = 60.0  # seconds
HOUSEKEEPING_LIMIT = 600.0  # a sweep running longer than this is stuck
ANCHOR_ARGS = ("audit", "anchor")
ANCHOR_EVERY = 24 * 3600.0  # seconds: the audit log's anchor, once a day
ANCHOR_LIMIT = 600.0
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 30.0
STEADY_AFTER = 60.0  # a worker that ran this long is restarted without delay build-up
STOP_GRACE = 30.0  # gunicorn finishes requests in flight (graceful_timeout 20 s)
TICK = 0.2

log = logging.getLogger("huzhu.serve")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--addr", default="127.0.0.1:8000",
                        help="监听地址 HOST:PORT（默认 127.0.0.1:8000；也可写 unix:/路径）")
    parser.add_argument("--no-worker", action="store_true",
                        help="不启动后台任务进程（另行运行 huzhu manage db_worker 时使用）")
    parser.add_argument("--workers", type=_positive, default=None,
                        help="网页服务的工作进程数（默认取 HUZHU_WEB_WORKERS，未设置时为 2）")
    parser.add_argument("--threads", type=_positive, default=None,
                        help="每个工作进程的线程数（默认取 HUZHU_WEB_THREADS，未设置时为 4）")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"应为正整数：{text}")
    return value


def bind_address(addr: str) -> str:
    """``8000`` means loopback port 8000; anything else goes to gunicorn as written."""
    return f"127.0.0.1:{addr}" if addr.isdigit() else addr


def next_backoff(previous: float | None, ran_for: float) -> float:
    """Seconds to wait before restarting a worker that ran ``ran_for`` seconds."""
    if previous is None or ran_for >= STEADY_AFTER:
        return BACKOFF_FIRST
    return min(previous * 2, BACKOFF_MAX)


def run(args: argparse.Namespace) -> int:
    _setup_logging()
    try:
        workers = args.workers or _positive(os.environ.get("HUZHU_WEB_WORKERS") or "2")
        threads = args.threads or _positive(os.environ.get("HUZHU_WEB_THREADS") or "4")
    except argparse.ArgumentTypeError as exc:
        log.error("HUZHU_WEB_WORKERS / HUZHU_WEB_THREADS %s", exc)
        return 2
    os.umask(0o077)  # uploads, exports and the database: owner only, in every child too
    var_dir = env.var_dir()

    # Here, once, before any child: a missing key stops the start with its message, and a
    # key file that must be generated or moved is handled by one process, not four.
    load_secrets(var_dir)
    # HUZHU_STATIC_COLLECTED: the collect below writes hashed names, and the server links
    # them (huzhu.config.static_storage): static files cached for a year.
    child_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "huzhu.config.settings",
                 "HUZHU_VAR_DIR": str(var_dir), "HUZHU_STATIC_COLLECTED": "1"}
    if env.debug():
        print("调试模式已开启（HUZHU_DEBUG=1）：出错页面会显示程序内部信息，"
              "只可用于本机演示，切勿用于生产环境。", flush=True)
    supervisor = Supervisor(child_env, bind_address(args.addr), workers, threads,
                            with_worker=not args.no_worker)
    return supervisor.run()


def _setup_logging() -> None:
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s [huzhu serve] %(message)s",
                                               "%Y-%m-%d %H:%M:%S"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM it if ``huzhu serve`` itself dies (even by
    SIGKILL), so no server or worker is left running with nobody to stop it (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    capture: bool = False  # its output read by us (a line or two), not passed through

    def start(self, environ: dict[str, str]) -> None:
        # Own session and process group: a stop reaches what the child started (gunicorn's
        # workers), and Ctrl+C in a terminal reaches only us, so the stop is orderly.
        output = subprocess.PIPE if self.capture else None
        self.process = subprocess.Popen(self.argv, env=environ, start_new_session=True,
                                        preexec_fn=_die_with_parent, stdout=output,
                                        stderr=subprocess.STDOUT if self.capture else None,
                                        text=self.capture or None)
        self.started_at = time.monotonic()

    @property
    def pid(self) -> int:
        return self.process.pid if self.process else 0

    def poll(self) -> int | None:
        return self.process.poll() if self.process else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int) -> None:
        if self.running():
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signum)

    def kill_group(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)


@dataclass
class Supervisor:
    environ: dict[str, str]
    bind: str
    workers: int
    threads: int
    with_worker: bool = True
    stopping: bool = False
    worker: Child | None = None
    worker_due: float = 0.0  # when to (re)start the worker
    backoff: float | None = None
    housekeeping: Child | None = None
    housekeeping_due: float = float("inf")
    housekeeping_reason: str = ""
    anchor: Child | None = None
    anchor_due: float = 0.0  # at start, then once a day
    children: list[Child] = field(default_factory=list)

    def _huzhu(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "huzhu.cli", *args]

    def run(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._on_signal)
        try:
            collected = subprocess.run(
                self._huzhu("manage", "collectstatic", "--noinput", "--verbosity", "0"),
                env=self.environ, check=False)
            if collected.returncode:
                log.error("收集静态文件失败（退出码 %s），未启动网页服务", collected.returncode)
                return collected.returncode
            if self.stopping:
                return 0
            server = Child("web", [sys.executable, "-m", "gunicorn",
                                   "--config", "python:huzhu.config.gunicorn_conf",
                                   "--bind", self.bind, "--workers", str(self.workers),
                                   "--threads", str(self.threads),
                                   "huzhu.config.wsgi:application"])
            server.start(self.environ)
            self.children.append(server)
            log.info("网页服务已启动（gunicorn，PID %d，%d 个进程 × %d 个线程）",
                     server.pid, self.workers, self.threads)
            if self.with_worker:
                self.worker = Child("worker", self._huzhu(*WORKER_ARGS))
                self.children.append(self.worker)
            else:
                log.info("未启动后台任务进程（--no-worker）：请另行运行 huzhu manage db_worker，"
                         "并每分钟运行一次 huzhu manage housekeeping")
            where = self.bind if self.bind.startswith("unix:") else f"http://{self.bind}/"
            print(f"huzhu 已启动：{where}  （Ctrl+C 停止）", flush=True)
            while not self.stopping:
                code = server.poll()
                if code is not None:
                    log.error("网页服务已退出（退出码 %s），全部停止", code)
                    return code or 1
                if self.with_worker:
                    self._tend_worker()
                    self._tend_housekeeping()
                self._tend_anchor()
                time.sleep(TICK)
            return 0
        finally:
            self._stop_all()

    def _on_signal(self, signum, frame) -> None:
        self.stopping = True

    # ---------------------------------------------------------------- the task worker

    def _tend_worker(self) -> None:
        worker = self.worker
        now = time.monotonic()
        if worker.process is not None:
            code = worker.poll()
            if code is None:
                return
            self.backoff = next_backoff(self.backoff, now - worker.started_at)
            self.worker_due = now + self.backoff
            log.warning("后台任务进程已退出（PID %d，退出码 %s），%g 秒后重启",
                        worker.pid, code, self.backoff)
            worker.kill_group()  # anything it started goes with it
            worker.process = None
            return
        if now >= self.worker_due:
            worker.start(self.environ)
            log.info("后台任务进程已启动（PID %d）", worker.pid)
            # A worker that died may have left a job half done: sweep now, not in a minute.
            self._start_housekeeping("start")

    def _tend_housekeeping(self) -> None:
        job = self.housekeeping
        now = time.monotonic()
        if job is not None and job.process is not None:
            code = job.poll()
            if code is None:
                if now - job.started_at > HOUSEKEEPING_LIMIT:
                    log.error("例行清理（housekeeping）运行超过 %d 秒，已终止",
                              int(HOUSEKEEPING_LIMIT))
                    job.kill_group()
                return
            if code:
                log.error("例行清理（housekeeping）失败（退出码 %s）", code)
            elif self.housekeeping_reason == "start":
                log.info("后台任务进程启动时的例行清理已完成；此后每 %d 秒运行一次",
                         int(HOUSEKEEPING_EVERY))
            job.process = None
        if now >= self.housekeeping_due:
            self._start_housekeeping("periodic")

    def _start_housekeeping(self, reason: str) -> None:
        if self.housekeeping is None:
            self.housekeeping = Child("housekeeping", self._huzhu(*HOUSEKEEPING_ARGS))
            self.children.append(self.housekeeping)
        if self.housekeeping.running():
            return  # never two sweeps at once; the next tick after it ends is soon enough
        self.housekeeping.start(self.environ)
        self.housekeeping_reason = reason
        self.housekeeping_due = time.monotonic() + HOUSEKEEPING_EVERY

    # ---------------------------------------------------------------- the audit anchor

    def _tend_anchor(self) -> None:
        """``huzhu audit anchor`` at start and once a day, its line written to this log:
        the audit log's head hash, to be kept elsewhere (``huzhu audit verify --anchor``)."""
        job = self.anchor
        now = time.monotonic()
        if job is not None and job.process is not None:
            code = job.poll()
            if code is None:
                if now - job.started_at > ANCHOR_LIMIT:
                    log.error("审计日志锚点（huzhu audit anchor）运行超过 %d 秒，已终止",
                              int(ANCHOR_LIMIT))
                    job.kill_group()
                return
            output = (job.process.stdout.read() if job.process.stdout else "").strip()
            if code:
                log.error("审计日志锚点（huzhu audit anchor）失败（退出码 %s）：%s", code, output)
            for line in output.splitlines() if not code else ():
                log.info("%s", line)
            job.process = None
        if now >= self.anchor_due:
            if self.anchor is None:
                self.anchor = Child("anchor", self._huzhu(*ANCHOR_ARGS), capture=True)
                self.children.append(self.anchor)
            self.anchor.start(self.environ)
            self.anchor_due = now + ANCHOR_EVERY

    # ---------------------------------------------------------------- stopping

    def _stop_all(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # a second Ctrl+C must not cut the stop short
        running = [child for child in self.children if child.running()]
        if running:
            log.info("正在停止：%s", "、".join(f"{c.name}（PID {c.pid}）" for c in running))
        for child in running:
            child.signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for child in running:
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s（PID %d）未在 %d 秒内退出，强制结束", child.name, child.pid,
                            int(STOP_GRACE))
        for child in self.children:
            child.kill_group()  # stragglers of a group whose leader is gone, or will not go
            if child.process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.process.wait(timeout=5)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
