"""mypy for ``make test``: strict modules must be clean, the rest may only get better.

Runs mypy (configured in pyproject.toml) over ``src/huzhu`` and counts errors per file.
A file with more errors than ``mypy-baseline.json`` allows fails the run, as does any
error in a strict package (``huzhu.rules``, ``huzhu.lib``: no baseline there). A file that
got better is reported so that ``--update`` can lower its allowance; the allowance never
rises by itself.

    python tools/mypy_baseline.py            # check (make test)
    python tools/mypy_baseline.py --update   # after fixing errors: lower the baseline

Without a baseline file, ``--update`` writes today's counts (how the first one was made).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "mypy-baseline.json"
STRICT = ("src/huzhu/rules/", "src/huzhu/lib/")
ERROR = re.compile(r"^(?P<path>src/[^:]+\.py):\d+: error: ")


def run_mypy() -> tuple[Counter[str], str]:
    run = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True,
                         text=True)
    if run.returncode not in (0, 1):  # 2: mypy itself failed (a crash, a bad config)
        sys.exit(f"mypy failed to run:\n{run.stdout}{run.stderr}")
    return count(run.stdout), run.stdout


def count(output: str) -> Counter[str]:
    """Errors per file in mypy's output (notes are not errors)."""
    counts: Counter[str] = Counter()
    for line in output.splitlines():
        m = ERROR.match(line)
        if m:
            counts[m["path"]] += 1
    return counts


def compare(counts: Counter[str], allowed: dict[str, int]
            ) -> tuple[dict[str, int], dict[str, tuple[int, int]], dict[str, tuple[int, int]]]:
    """(errors in strict packages, files worse than allowed, files better than allowed)."""
    strict = {p: n for p, n in counts.items() if p.startswith(STRICT)}
    worse = {p: (n, allowed.get(p, 0)) for p, n in counts.items()
             if not p.startswith(STRICT) and n > allowed.get(p, 0)}
    better = {p: (counts.get(p, 0), n) for p, n in allowed.items() if counts.get(p, 0) < n}
    return strict, worse, better


def by_app(counts: Counter[str]) -> Counter[str]:
    apps: Counter[str] = Counter()
    for path, n in counts.items():
        parts = Path(path).parts  # src, huzhu, app, ...
        apps[parts[2] if len(parts) > 3 else parts[2].removesuffix(".py")] += n
    return apps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true",
                        help="lower the baseline to today's counts (never raises one)")
    args = parser.parse_args()
    counts, output = run_mypy()
    allowed: dict[str, int] = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}

    strict, worse, better = compare(counts, allowed)

    print(f"mypy: {sum(counts.values())} errors in {len(counts)} files "
          f"(baseline {sum(allowed.values())})")
    for app, n in sorted(by_app(counts).items(), key=lambda kv: -kv[1]):
        print(f"  {app:<10} {n:>5}")
    failed = False
    if strict:
        failed = True
        print("\nStrict packages must have no mypy errors:")
        for line in output.splitlines():
            if line.startswith(STRICT):
                print("  " + line)
    if worse:
        failed = True
        print("\nMore mypy errors than the baseline allows (fix them; the baseline only shrinks):")
        for path, (n, cap) in sorted(worse.items()):
            print(f"  {path}: {n} (allowed {cap})")
            for line in output.splitlines():
                if line.startswith(path + ":"):
                    print("    " + line)
    if args.update:
        if strict or (worse and BASELINE.exists()):
            print("\nNot updating the baseline while checks fail.")
            return 1
        new = {p: n for p, n in sorted(counts.items()) if not p.startswith(STRICT)}
        if BASELINE.exists():  # never raise an allowance: only lower or drop
            new = {p: min(n, allowed[p]) for p, n in new.items() if p in allowed}
        BASELINE.write_text(json.dumps(new, indent=1, sort_keys=True) + "\n")
        print(f"\nBaseline written: {sum(new.values())} errors in {len(new)} files.")
        return 0
    if better:
        print(f"\n{len(better)} files have fewer errors than the baseline: "
              "run `python tools/mypy_baseline.py --update` to lower it.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
