"""Page speed as a person waits for it: the demo in Chromium, each of the five roles.

    .venv/bin/python bench/bench_browser.py                       # a fresh demo (20,000)
    .venv/bin/python bench/bench_browser.py --members 2000        # a smaller, faster one
    .venv/bin/python bench/bench_browser.py --var-dir var         # the demo already there
    .venv/bin/python bench/bench_browser.py --url http://127.0.0.1:8000 --var-dir var

Without ``--url`` it starts ``huzhu serve`` (debug mode, as ``make demo`` runs it) on a
free port over the demo in ``--var-dir`` — generated there first (``huzhu demo``) when
the directory has none; by default a throwaway directory under bench/out/browser/. Then,
for each role, a new browser context (an empty cache) logs in and opens the role's main
pages twice: the first visit and the repeat (cache warm), each timed from the start of
the navigation to the ``load`` event and the network idle (no request for 500 ms, less
those 500 ms) — the page drawn and its scripts run. A PDF is fetched with the session's
cookies (Chromium would download it, not show it): the time to the last byte. Prints a
table (page, role, ms first, ms repeat), the pages above the 500 ms target, and the load
average before and after; ``--json`` writes the rows too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "browser"
HUZHU = Path(sys.executable).parent / "huzhu"
PASSWORD = "huzhu-demo-2026"
ROLES = ("clerk", "reviewer", "finance", "admin", "auditor")
TARGET_MS = 500
IDLE_MS = 500  # Playwright's network idle: no request for this long
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_demo(var_dir: Path, members: int) -> float | None:
    """Generate the demo in ``var_dir`` unless it is there; seconds taken (None: there)."""
    if (var_dir / "huzhu.sqlite3").exists():
        return None
    var_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    subprocess.run([str(HUZHU), "demo", "--members", str(members)], check=True,
                   env=_env(var_dir), stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def _env(var_dir: Path) -> dict[str, str]:
    env = {**os.environ, "HUZHU_VAR_DIR": str(var_dir.resolve()), "HUZHU_DEBUG": "1"}
    env.pop("DATABASE_URL", None)
    return env


def start_server(var_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([str(HUZHU), "serve", "--addr", f"127.0.0.1:{port}"],
                               env=_env(var_dir), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"huzhu serve exited ({process.returncode})")
        try:
            with urllib.request.urlopen(f"{base}/login/", timeout=5) as answer:
                if answer.status == 200:
                    return process, base
        except OSError:
            time.sleep(0.5)
    stop_server(process)
    raise SystemExit("huzhu serve did not answer within 180 s")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # its own session: gunicorn and worker too
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def targets(var_dir: Path) -> dict[str, dict[str, str]]:
    """Role → page name → path, from the demo's database (in a child process with the
    demo's settings: this one never loads Django)."""
    script = r"""
import json
from huzhu.lib.django_setup import setup_django
setup_django()
from huzhu.claims.models import Claim
from huzhu.coverage.models import PremiumNotice, Enrolment
from huzhu.orgs.models import User

out = {}
for username in ROLES:
    user = User.objects.select_related("union").get(username=username)
    claims = Claim.objects.visible_to(user)
    claim = (claims.filter(state="paid").order_by("-pk").first()
             or claims.order_by("-pk").first())
    path = user.union.path
    notice = (PremiumNotice.objects.filter(unit__union__path__startswith=path)
              .order_by("-pk").first())
    enrolment = (Enrolment.objects.filter(unit__union__path__startswith=path)
                 .order_by("-pk").first())
    pages = {"首页": "/", "会员名单": "/members/", "理赔列表": "/claims/",
             "互助金账": "/coverage/funds/", "缴费通知": "/coverage/notices/",
             "统计": "/reports/", "审计日志": "/audit/"}
    if claim:
        pages["一笔理赔"] = f"/claims/{claim.pk}/"
    if notice:
        pages["缴费通知书 PDF"] = f"/coverage/notices/{notice.pk}/pdf/"
    if enrolment:
        pages["单位参保页"] = (f"/coverage/periods/{enrolment.period_id}/units/"
                             f"{enrolment.unit_id}/")
    out[username] = pages
print(json.dumps(out, ensure_ascii=False))
""".replace("ROLES", repr(ROLES))
    done = subprocess.run([sys.executable, "-c", script], env=_env(var_dir), check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def timed_visit(page, url: str) -> tuple[int, int]:
    """(ms to usable, HTTP status): navigation start to the load event and network idle."""
    started = time.perf_counter()
    response = page.goto(url, wait_until="load")
    try:
        page.wait_for_load_state("networkidle", timeout=30_000)
        idle_wait = IDLE_MS
    except Exception:  # a page that keeps polling: the load event is what counts
        idle_wait = 0
    elapsed = (time.perf_counter() - started) * 1000 - idle_wait
    load = page.evaluate("() => { const n = performance.getEntriesByType('navigation')[0];"
                         " return n ? n.loadEventEnd : 0; }")
    return round(max(elapsed, load)), response.status if response else 0


def timed_fetch(context, url: str) -> tuple[int, int]:
    """A file (PDF): the request with the session's cookies, to the last byte."""
    started = time.perf_counter()
    response = context.request.get(url)
    response.body()
    return round((time.perf_counter() - started) * 1000), response.status


def login(page, base: str, username: str) -> int:
    started = time.perf_counter()
    page.goto(f"{base}/login/", wait_until="load")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation(wait_until="load"):
        page.click("button[type=submit]")
    if "/login/" in page.url:
        raise SystemExit(f"{username} could not log in")
    return round((time.perf_counter() - started) * 1000)


def measure(base: str, pages_by_role: dict[str, dict[str, str]]) -> list[dict]:
    from playwright.sync_api import sync_playwright

    rows = []
    executable = os.environ.get("HUZHU_CHROMIUM", "/usr/bin/chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                             args=CHROMIUM_ARGS)
        for role in ROLES:
            context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai",
                                          viewport={"width": 1366, "height": 900})
            context.set_default_timeout(60_000)
            page = context.new_page()
            rows.append({"page": "登录（至首页）", "role": role,
                         "first": login(page, base, role), "repeat": None, "status": 200})
            for name, path in pages_by_role[role].items():
                url = base + path
                visit = (lambda u, c=context: timed_fetch(c, u)) if path.endswith("/pdf/") \
                    else (lambda u, p=page: timed_visit(p, u))
                first, status = visit(url)
                repeat, _ = visit(url)
                rows.append({"page": name, "role": role, "first": first, "repeat": repeat,
                             "status": status, "path": path})
            context.close()
        browser.close()
    return rows


def print_table(rows: list[dict], load_before: tuple, load_after: tuple) -> None:
    print(f"平均负载（1/5/15 分钟）：开始 {load_before[0]:.2f} {load_before[1]:.2f} "
          f"{load_before[2]:.2f}，结束 {load_after[0]:.2f} {load_after[1]:.2f} "
          f"{load_after[2]:.2f}（{os.cpu_count()} 核）")
    header = f"{'page':<16} {'role':<9} {'ms first':>9} {'ms repeat':>10} status"
    print(header)
    print("-" * len(header))
    for r in rows:
        repeat = "" if r["repeat"] is None else f"{r['repeat']:>10,}"
        print(f"{r['page']:<16} {r['role']:<9} {r['first']:>9,} {repeat:>10} {r['status']}")
    slow = [r for r in rows if r["page"] != "登录（至首页）"
            and max(r["first"], r["repeat"] or 0) > TARGET_MS]
    print(f"\n超过 {TARGET_MS} ms 的页面：{len(slow)} / {len(rows) - len(ROLES)}")
    for r in sorted(slow, key=lambda r: -r["first"]):
        print(f"  {r['page']}（{r['role']}，{r.get('path', '')}）：首次 {r['first']:,} ms，"
              f"再次 {r['repeat']:,} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--var-dir", type=Path, default=None,
                        help="the demo's data directory (default: a throwaway one)")
    parser.add_argument("--members", type=int, default=20_000,
                        help="members of a demo generated for the run (default 20000)")
    parser.add_argument("--url", default=None,
                        help="a server already running over --var-dir (not started here)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    parser.add_argument("--keep", action="store_true",
                        help="keep the throwaway data directory")
    args = parser.parse_args()

    throwaway = args.var_dir is None
    var_dir = (args.var_dir or OUT / f"var-{args.members}").resolve()
    if throwaway and not args.url:
        shutil.rmtree(var_dir, ignore_errors=True)
    took = ensure_demo(var_dir, args.members)
    if took is not None:
        print(f"huzhu demo --members {args.members}：{took:.1f} 秒")
    pages = targets(var_dir)
    process = None
    if args.url:
        base = args.url.rstrip("/")
    else:
        process, base = start_server(var_dir)
    try:
        load_before = os.getloadavg()
        rows = measure(base, pages)
        load_after = os.getloadavg()
    finally:
        if process is not None:
            stop_server(process)
    print_table(rows, load_before, load_after)
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1))
    if throwaway and not args.keep and not args.url:
        shutil.rmtree(var_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
