"""Every role walks every page reachable from the navigation in real Chromium.

For each of the five roles: start at the home page, follow every same-site link (to a
bound), and fail on any 4xx/5xx, a Django debug page, English words in the visible
Chinese UI, or a pager whose next page repeats rows. This is the test that would have
caught the "??after=" pager, the dropped export filter and the tree that did not open.
"""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urljoin, urlparse

import pytest

from huzhu.demo import generator
from huzhu.orgs.models import User
from tests.browser.conftest import login

pytestmark = pytest.mark.browser

ROLES = ["clerk", "reviewer", "finance", "admin", "auditor"]
MAX_PAGES = 45
# Words that are the names of formats and standards, shown as such to Chinese users.
ALLOWED_WORDS = {"excel", "csv", "xlsx", "xls", "utf", "gbk", "gb18030", "api", "pdf",
                 "json", "sms", "icd", "jpeg", "png"}
DEBUG_MARKERS = ("Traceback", "Django tried these URL patterns", "Using the URLconf",
                 "Request Method:", "Exception Value", "You're seeing this error")
ROW_IDS = re.compile(r'id="(?:member|unit|audit|outbox)-row-(\d+)"')
# Not pages to walk: leaving, other apps (Django admin, the API's own docs in English),
# and files (fetched for their status only).
SKIP = ("/logout/", "/admin/", "/api/")


@pytest.fixture
def lived_in_city(transactional_db, settings, tmp_path, monkeypatch):
    """The demo city, small pages so that every pager has a second page, and some of the
    day's work (an import, an export, a transfer request, audit entries) to look at."""
    from huzhu.lib import paging

    monkeypatch.setattr(paging, "PAGE_SIZE", 5)
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.UPLOAD_ROOT = tmp_path / "uploads"
    settings.HUZHU_OUTBOX_DIR = tmp_path / "outbox"
    ctx = generator.generate(members=1500, seed=1)
    _a_days_work(ctx, tmp_path)
    return ctx


def _a_days_work(ctx, tmp_path) -> None:
    import csv

    from huzhu.imports.models import ImportJob
    from huzhu.imports.service import import_file
    from huzhu.members import export_jobs, transfers
    from huzhu.members.models import Member
    from huzhu.members.search import MemberQuery

    clerk = User.objects.get(username="clerk")
    members = list(Member.objects.filter(union=clerk.union).order_by("id")[:3])
    path = tmp_path / "更新名单.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["姓名", "身份证号", "手机号", "单位统一社会信用代码"])
        for i, m in enumerate(members):
            writer.writerow([m.name, m.id_number, f"1390000000{i}", m.unit.uscc])
    outcome = import_file("members", path, user=clerk)
    ImportJob.objects.create(kind="members", file_name="更新名单.csv", user=clerk,
                             union=clerk.union, status=ImportJob.Status.DONE,
                             total_rows=outcome.total_rows, updated_count=outcome.updated,
                             message=outcome.summary())
    export_jobs.request_export(clerk, MemberQuery(status="active"), described="状态=在职",
                               full=False, purpose="")
    other = Member.objects.exclude(union__path__startswith=clerk.union.path).first()
    transfers.request_transfer(clerk, other, members[0].unit, name_given=other.name)
    _sms_reminders(clerk.union)


def _sms_reminders(union) -> None:
    """A few reminders in the outbox: sent, failed (with its 重发 button) and pending."""
    from huzhu.members.models import Member
    from huzhu.notify import outbox, sending
    from huzhu.notify.gateways import GatewayError

    outbox.register_kind("crawl.reminder", "续保提醒")
    members = Member.objects.filter(union=union).exclude(phone="").order_by("id")[:8]
    outbox.enqueue_many(outbox.Draft("crawl.reminder", m.phone, f"{m.name}您好：请及时续保。",
                                     f"crawl:{m.pk}", member=m) for m in members)

    class Refusing:
        def send(self, message):
            raise GatewayError("号码已停机", retryable=False)

    sending.send_due(limit=3, gateway=Refusing())
    sending.send_due(limit=3)


def _visible_english(page) -> list[str]:
    """English words in what the page says; numbers and what users typed (the audit
    log's summaries hold typed usernames and file names: class data-text) are not UI."""
    text = page.evaluate("""() => {
        const clone = document.body.cloneNode(true);
        clone.querySelectorAll('code, script, style, .masked, .data-text').forEach(e => e.remove());
        return clone.innerText;
    }""")
    words = re.findall(r"[A-Za-z]{3,}", text)
    return [w for w in words if w.lower() not in ALLOWED_WORDS]


def _links(page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    found = []
    for href in hrefs:
        if not href or href.startswith(("#", "javascript:", "mailto:")):
            continue
        url = urljoin(page.url, href)
        if urlparse(url).netloc != urlparse(base).netloc:
            raise AssertionError(f"{page.url} links off-site: {href}")
        found.append(url)
    return found


def _check_page(page, response, url: str, role: str) -> None:
    assert response is not None and response.status < 400, f"{role}: {url} → {response.status}"
    html = page.content()
    for marker in DEBUG_MARKERS:
        assert marker not in html, f"{role}: debug page at {url}"
    english = _visible_english(page)
    assert not english, f"{role}: English in the UI at {url}: {english[:10]}"


def _check_pager(page, role: str) -> bool:
    """The next page (if any) shows other rows than this one; True if there was one."""
    here = set(ROW_IDS.findall(page.content()))
    link = page.query_selector('a[id$="-next"]')
    if link is None or not here:
        return False
    href = link.get_attribute("href")
    assert "??" not in href, f"{role}: broken pager link {href} at {page.url}"
    other = page.context.new_page()
    try:
        response = other.goto(urljoin(page.url, href))
        assert response.status < 400, f"{role}: pager {href} → {response.status}"
        there = set(ROW_IDS.findall(other.content()))
        assert there and not (here & there), f"{role}: next page repeats rows at {page.url}"
    finally:
        other.close()
    return True


@pytest.mark.parametrize("role", ROLES)
def test_every_page_reachable_from_the_navigation(page, live_server, lived_in_city, role):
    login(page, role, generator.DEMO_PASSWORD)
    base = live_server.url
    page.goto(base + "/")
    queue = deque([base + "/", *(urljoin(base, a.get_attribute("href"))
                                 for a in page.query_selector_all("#navbar a[href]"))])
    seen: set[str] = set()
    files: set[str] = set()
    pagers = 0
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft().split("#")[0]
        path = urlparse(url).path
        if url in seen or path.startswith(SKIP):
            continue
        if path.endswith((".xlsx", ".csv", ".pdf")):
            files.add(url)
            continue
        seen.add(url)
        response = page.goto(url)
        if page.query_selector('[hx-trigger="load"]'):
            page.wait_for_load_state("networkidle")  # htmx fragments (the tree's children)
        _check_page(page, response, url, role)
        pagers += _check_pager(page, role)
        queue.extend(u for u in _links(page, base) if u not in seen)
    for url in files:
        response = page.context.request.get(url)
        assert response.status < 400, f"{role}: {url} → {response.status}"
    assert len(seen) >= 6, f"{role} reached only {sorted(seen)}"
    assert pagers >= 2, f"{role}: no pager was exercised"
