"""Demo generation speed: ``huzhu demo --members N`` into a fresh SQLite database.

    .venv/bin/python bench/bench_demo.py                    # 20,000 and 100,000 members
    .venv/bin/python bench/bench_demo.py 20000 1000000

For each N, runs the real command in a throwaway var directory under bench/out/demo/,
then runs it again (the rerun must only print the logins), and prints a table of wall
time, members per second, peak RSS of the command and database size.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "demo"
HUZHU = Path(sys.executable).parent / "huzhu"


def run_demo(var_dir: Path, members: int) -> float:
    env = {**os.environ, "HUZHU_VAR_DIR": str(var_dir), "HUZHU_DEBUG": "0"}
    env.pop("DATABASE_URL", None)
    started = time.perf_counter()
    subprocess.run([str(HUZHU), "demo", "--members", str(members)], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("members", nargs="*", type=int, default=[20_000, 100_000])
    args = parser.parse_args()

    rows = []
    for n in sorted(args.members):
        var_dir = OUT / f"var-{n}"
        shutil.rmtree(var_dir, ignore_errors=True)
        first = run_demo(var_dir, n)
        # ru_maxrss of children is the largest child so far: runs go smallest first.
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        rerun = run_demo(var_dir, n)
        size_mb = sum(p.stat().st_size for p in var_dir.glob("huzhu.sqlite3*")) / 2**20
        rows.append((n, first, n / first, rerun, peak_mb, size_mb))
        shutil.rmtree(var_dir, ignore_errors=True)

    header = ("members", "generate s", "members/s", "rerun s", "peak RSS MB", "db MB")
    print(" | ".join(f"{h:>12}" for h in header))
    print(" | ".join("-" * 12 for _ in header))
    for n, first, rate, rerun, peak, size in rows:
        print(f"{n:>12,} | {first:>12.1f} | {rate:>12,.0f} | {rerun:>12.2f} | "
              f"{peak:>12,.0f} | {size:>12,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
