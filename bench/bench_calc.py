"""Benchmark: ``huzhu synth`` + ``huzhu calc --policy changchun-2023`` end to end, and the
plain-Python reference evaluator on a slice of the same events; prints a table.

    .venv/bin/python bench/bench_calc.py                      # 1,000,000 members, 5,000,000 events
    .venv/bin/python bench/bench_calc.py --members 10000 --events 50000   # a quick try

Each command runs as a child process; its wall time and peak resident memory come from
``os.wait4`` (the child's own rusage). Targets from issue 3: calc under 15 s and 4 GB.
Everything is written to ``bench/out/`` (ignored by git).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
HUZHU = [sys.executable, "-m", "huzhu.cli"]
POLICY = "changchun-2023"
CALC_SECONDS, CALC_BYTES = 15.0, 4 * 1024**3


def child(argv: list[str]) -> tuple[float, int, int]:
    """Run ``argv``; return (wall seconds, peak RSS bytes, exit code)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss * 1024, proc.returncode


def reference_run(data: Path, n_events: int) -> tuple[int, float]:
    """Reference evaluator over the first ``n_events`` events; (events, seconds)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    sys.path.insert(0, str(ROOT))
    from tests.rules.reference import evaluate

    from huzhu.rules import load_policy

    events = pq.read_table(data / "events.parquet").slice(0, n_events)
    members = pq.read_table(data / "members.parquet")
    members = members.filter(pc.is_in(members.column("member_id"), events.column("member_id")))
    policy = load_policy(POLICY)
    event_rows, member_rows = events.to_pylist(), members.to_pylist()
    started = time.perf_counter()
    out = evaluate(policy, member_rows, event_rows)
    seconds = time.perf_counter() - started
    assert len(out) == len(event_rows)
    return len(out), seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reference-events", type=int, default=100_000)
    parser.add_argument("--reuse", action="store_true", help="reuse synth data if present")
    args = parser.parse_args(argv)

    data = OUT / f"data-{args.members}-{args.events}-{args.seed}"
    payouts = OUT / f"payouts-{args.members}-{args.events}-{args.seed}.parquet"
    OUT.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, str, str, str, str]] = []

    if not (args.reuse and (data / "events.parquet").exists()):
        synth = [*HUZHU, "synth", "--members", str(args.members), "--events",
                 str(args.events), "--seed", str(args.seed), "--out", str(data),
                 "--policy", POLICY]  # fmt: skip
        wall, rss, code = child(synth)
        if code:
            print(f"huzhu synth failed with exit code {code}", file=sys.stderr)
            return code
        rows.append(("huzhu synth", f"{args.events:,}", f"{wall:.2f}", _gib(rss),
                     f"{args.events / wall:,.0f}"))  # fmt: skip

    payouts.unlink(missing_ok=True)
    calc = [*HUZHU, "calc", "--policy", POLICY, "--members", str(data / "members.parquet"),
            "--events", str(data / "events.parquet"), "--out", str(payouts)]  # fmt: skip
    calc_wall, calc_rss, code = child(calc)
    if code:
        print(f"huzhu calc failed with exit code {code}", file=sys.stderr)
        return code
    calc_rate = args.events / calc_wall
    rows.append(("huzhu calc " + POLICY, f"{args.events:,}", f"{calc_wall:.2f}",
                 _gib(calc_rss), f"{calc_rate:,.0f}"))  # fmt: skip

    n_ref, ref_seconds = reference_run(data, min(args.reference_events, args.events))
    ref_rate = n_ref / ref_seconds
    rows.append(("reference evaluator (in process)", f"{n_ref:,}", f"{ref_seconds:.2f}", "",
                 f"{ref_rate:,.0f}"))  # fmt: skip

    verdict = {
        "calc_under_15s": calc_wall < CALC_SECONDS,
        "calc_under_4GiB": calc_rss < CALC_BYTES,
        "calc_vs_reference_throughput": round(calc_rate / ref_rate, 1),
    }
    _print(rows, verdict, args)
    result = {"args": vars(args), "rows": rows, "verdict": verdict}
    (OUT / "bench_calc.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def _gib(n: int) -> str:
    return f"{n / 1024**3:.2f} GiB"


def _print(rows, verdict, args) -> None:
    from rich.console import Console
    from rich.table import Table

    title = (
        f"huzhu calc benchmark ({args.members:,} members, {args.events:,} events, "
        f"seed {args.seed}, {os.cpu_count()} cores)"
    )
    table = Table(title=title)
    for name in ("step", "events", "wall s", "peak RSS", "events/s"):
        table.add_column(name, justify="left" if name == "step" else "right")
    for row in rows:
        table.add_row(*row)
    console = Console()
    console.print(table)
    ok = "[green]yes[/]", "[red]NO[/]"
    ratio = verdict["calc_vs_reference_throughput"]
    console.print(
        f"calc under {CALC_SECONDS:.0f} s: {ok[not verdict['calc_under_15s']]}   "
        f"under 4 GiB: {ok[not verdict['calc_under_4GiB']]}   "
        f"calc / reference throughput: {ratio}×"
    )


if __name__ == "__main__":
    sys.exit(main())
