"""``huzhu serve``: the web server and the background task worker, side by side."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--addr", default="127.0.0.1:8000", help="监听地址（默认 127.0.0.1:8000）")
    parser.add_argument("--no-worker", action="store_true", help="不启动后台任务进程")


def run(args: argparse.Namespace) -> int:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "huzhu.config.settings"}
    manage = [sys.executable, "-m", "huzhu.cli", "manage"]
    children: list[subprocess.Popen] = []
    # A service manager stops us with SIGTERM; treat it like Ctrl+C so that neither
    # child outlives this process.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        if not args.no_worker:
            # The worker runs large imports; the web server only enqueues them.
            # No autoreload: it would fork a second worker that a stop leaves behind.
            children.append(subprocess.Popen(
                [*manage, "db_worker", "--interval", "0.5", "--no-reload"], env=env
            ))
        server = subprocess.Popen([*manage, "runserver", "--noreload", args.addr], env=env)
        children.append(server)
        print(f"huzhu 已启动：http://{args.addr}/  （Ctrl+C 停止）", flush=True)
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(children)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _stop(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
