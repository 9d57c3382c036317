"""Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

The browser is the system's ``/usr/bin/chromium`` (``$HUZHU_CHROMIUM`` overrides);
``playwright install`` is never needed. Under ``CI=true`` a missing browser fails the
run; locally the browser tests are skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import missing

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
SCREENSHOTS = Path.cwd() / "var" / "screenshots"


def find_chromium() -> str | None:
    """$HUZHU_CHROMIUM when set (and then only it), else Debian's chromium."""
    configured = os.environ.get("HUZHU_CHROMIUM")
    candidates = [configured] if configured else [
        "/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="session")
def browser():
    executable = find_chromium()
    if executable is None:
        missing("Chromium is not installed (apt-get install chromium); "
                "the browser tests need /usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright Python package is not installed")
    # Sync Playwright runs an event loop in this thread; Django would then refuse the ORM
    # calls the tests make to set up data, although they are synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=CHROMIUM_ARGS)
    except Exception as exc:
        playwright.stop()
        pytest.fail(f"Chromium ({executable}) did not start: {exc}", pytrace=False)
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai",
                                  viewport={"width": 1366, "height": 900},
                                  base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot():
    """Save a full-page screenshot under var/screenshots/ (not committed) for a human."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def login(page, username: str, password: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("#login-submit")
    page.wait_for_url(lambda url: "/login/" not in url)
