"""Browser fixtures: Debian's Chromium driven by Playwright against pytest-django's live server.

Browsers cannot be downloaded here, so Playwright launches /usr/bin/chromium (`apt-get install chromium`).
Without it the browser tests skip with a reason, except in CI (env CI set), where they fail: a CI run that
silently skipped them would prove nothing.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def screenshots_dir() -> Path:
    """$TEST_ARTIFACTS_DIR/screenshots (default: test-artifacts/screenshots at the project root)."""
    root = Path(os.environ.get("TEST_ARTIFACTS_DIR") or Path(settings.BASE_DIR) / "test-artifacts")
    folder = root / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser(monkeypatch):
    """A Chromium for one test. Per test, not per session: while Playwright runs, its asyncio loop is the running
    loop of this thread, and Django refuses ORM calls ("you cannot call this from an async context") unless
    DJANGO_ALLOW_ASYNC_UNSAFE is set; the test's own ORM calls never overlap the loop, so it is set, but only for
    the browser tests."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        _unavailable(f"{CHROMIUM} is missing (install Debian's chromium package: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is missing (pip install -r requirements-dev.txt)")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class PageRecorder:
    """Wraps a Playwright page: remembers the HTML of every page it looked at (to search them for secrets),
    saves screenshots, and collects JavaScript errors (a test fails on any)."""

    def __init__(self, page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.html: list[tuple[str, str]] = []
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))

    def goto(self, path: str):
        response = self.page.goto(self.base_url + path)
        self.remember()
        return response

    def remember(self) -> str:
        self.page.wait_for_load_state("load")
        content = self.page.content()
        self.html.append((self.page.url, content))
        return content

    def screenshot(self, name: str) -> Path:
        path = screenshots_dir() / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def web(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US", timezone_id="UTC")
    context.set_default_timeout(15_000)
    recorder = PageRecorder(context.new_page(), live_server.url)
    yield recorder
    context.close()
    assert recorder.errors == [], recorder.errors
