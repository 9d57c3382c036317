"""Members import speed: N generated rows from CSV into a fresh SQLite database.

    .venv/bin/python bench/bench_import.py            # 1,000,000 rows
    .venv/bin/python bench/bench_import.py --rows 100000 --reimport
    .venv/bin/python bench/bench_import.py --rows 300000 --xlsx   # an .xlsx instead

Builds a throwaway database under bench/out/, creates 2,000 units under 200 grassroots
unions, writes a CSV of valid members (Chinese headers, UTF-8), imports it through the
same code the command and the web task use, and prints rows, seconds, rows/s and the
process's peak RSS. With --reimport it imports the same file again (all rows unchanged)
and then a copy with every phone changed (all rows updated). With --xlsx the same rows
go into an .xlsx (shared strings, as Excel writes) and the zip-bomb pre-check that runs
before calamine opens it is timed on its own as well.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import resource
import shutil
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out" / "import"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reimport", action="store_true", help="也测重复导入与全部更新")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--xlsx", action="store_true", help="用 .xlsx 文件代替 CSV")
    args = parser.parse_args()

    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    os.environ["HUZHU_VAR_DIR"] = str(OUT / "var")
    os.environ.pop("DATABASE_URL", None)
    # Production runs without DEBUG; with it Django also formats every query for its log.
    os.environ.setdefault("HUZHU_DEBUG", "0")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from huzhu.lib.django_setup import setup_django

    setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    usccs = _units()
    csv_path = OUT / ("members.xlsx" if args.xlsx else "members.csv")
    write = _write_xlsx if args.xlsx else _write_csv
    started = time.perf_counter()
    write(csv_path, args.rows, usccs, random.Random(args.seed), phone_prefix="138")
    print(f"generated {args.rows:,} rows ({csv_path.stat().st_size / 1e6:.0f} MB) "
          f"in {time.perf_counter() - started:.1f}s", flush=True)
    if args.xlsx:
        _time_precheck(csv_path)

    results = [_run("first import", csv_path)]
    if args.reimport:
        results.append(_run("same file again", csv_path))
        changed = OUT / "members-changed.csv"
        _write_csv(changed, args.rows, usccs, random.Random(args.seed), phone_prefix="139")
        results.append(_run("every phone changed", changed))
    _print_table(results)
    return 0


def _units() -> list[str]:
    from huzhu.orgs.models import Union, Unit
    from huzhu.orgs.uscc import make_uscc

    city = Union.objects.create(code="B", name="基准市总工会", level="city")
    usccs = []
    for d in range(10):
        district = Union.objects.create(code=f"B{d}", name=f"第{d}区总工会", level="district",
                                        parent=city)
        for g in range(20):
            grassroots = Union.objects.create(code=f"B{d}{g:02d}", name=f"基层工会{d}-{g}",
                                              level="grassroots", parent=district)
            units = [Unit(name=f"单位{d}-{g}-{u}", uscc=make_uscc(f"9122010{d}{g:02d}MA{u:05d}"),
                          union=grassroots) for u in range(10)]
            Unit.objects.bulk_create(units)
            usccs += [u.uscc for u in units]
    return usccs


HEADER = ["姓名", "身份证号", "手机号", "单位统一社会信用代码", "入会日期", "状态", "职业类别",
          "银行账号"]


def _rows(rows: int, usccs: list[str], rnd: random.Random, phone_prefix: str):
    from huzhu.members.idcard import make_id_number

    surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
    given = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
    start = dt.date(1960, 1, 1)
    for i in range(rows):
        # 1,000 sequence numbers a day keep a million IDs unique over 40 years.
        birth = start + dt.timedelta(days=i // 1000)
        yield [
            rnd.choice(surnames) + rnd.choice(given) + rnd.choice(given),
            make_id_number("220102", birth, i % 1000),
            f"{phone_prefix}{i:08d}",
            usccs[i % len(usccs)],
            f"{2000 + i % 24}-{1 + i % 12:02d}-01",
            "在职" if i % 10 else "退休",
            ("医务人员", "其他", "其他", "疾控人员")[i % 4],
            f"6222{i:012d}",
        ]


def _write_csv(path: Path, rows: int, usccs: list[str], rnd: random.Random,
               phone_prefix: str) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        out.writerows(_rows(rows, usccs, rnd, phone_prefix))


def _write_xlsx(path: Path, rows: int, usccs: list[str], rnd: random.Random,
                phone_prefix: str) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    sheet = book.add_worksheet("会员")
    sheet.write_row(0, 0, HEADER)
    for i, row in enumerate(_rows(rows, usccs, rnd, phone_prefix), 1):
        sheet.write_row(i, 0, row)
    book.close()


def _time_precheck(path: Path) -> None:
    """The inspection every .xlsx gets before calamine may open it."""
    from huzhu.imports.limits import ImportLimits
    from huzhu.imports.xlsx_check import check_xlsx

    started = time.perf_counter()
    stats = check_xlsx(path, path.name, ImportLimits.from_settings())
    print(f"xlsx pre-check: {time.perf_counter() - started:.2f}s for {stats.rows:,} rows, "
          f"{stats.cells:,} cells, {stats.xml_bytes / 1e6:.0f} MB of sheet XML", flush=True)


def _run(label: str, path: Path) -> dict:
    from huzhu.imports.service import import_file

    phases: dict[str, float] = {}
    cpu = time.process_time()
    started = time.perf_counter()

    def progress(phase: str, done: int, total: int | None) -> None:
        phases.setdefault(phase, time.perf_counter())

    outcome = import_file("members", path, progress=progress)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    if outcome.error_count:
        raise SystemExit(f"benchmark file had errors: {outcome.errors[:5]}")
    validate_s = phases.get("importing", time.perf_counter()) - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{label}: {outcome.summary()}", flush=True)
    return {"label": label, "rows": outcome.total_rows, "seconds": seconds,
            "validate": validate_s, "load": seconds - validate_s, "peak": peak_mb, "cpu": cpu}


def _print_table(results: list[dict]) -> None:
    print()
    print(f"{'run':<22}{'rows':>12}{'validate s':>12}{'load s':>10}{'total s':>10}"
          f"{'rows/s':>10}{'cpu s':>8}{'peak RSS MB':>13}")
    for r in results:
        print(f"{r['label']:<22}{r['rows']:>12,}{r['validate']:>12.1f}{r['load']:>10.1f}"
              f"{r['seconds']:>10.1f}{r['rows'] / r['seconds']:>10,.0f}{r['cpu']:>8.1f}"
              f"{r['peak']:>13,.0f}")
    print(f"load average while running: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(other processes on the machine inflate wall time, not cpu s)")


if __name__ == "__main__":
    sys.exit(main())
