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
    worker = None
    if not args.no_worker:
        # The worker runs large imports; the web server only enqueues them.
        worker = subprocess.Popen([*manage, "db_worker", "--interval", "0.5"], env=env)
    print(f"huzhu 已启动：http://{args.addr}/  （Ctrl+C 停止）", flush=True)
    try:
        return subprocess.call([*manage, "runserver", "--noreload", args.addr], env=env)
    except KeyboardInterrupt:
        return 0
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
