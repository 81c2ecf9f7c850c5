"""Browser lane fixtures: a live M4S, Debian's Chromium, and phone and desktop pages.

The names (live_server, chromium, open_page, phone, phone_nojs, desktop) leave app, client,
db and auth to tests/conftest.py. A failing test leaves a screenshot, the page HTML and the
browser console of every page it opened in tests/e2e/artifacts/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect, sync_playwright

from tests.e2e.live import DESKTOP, PHONE, LiveServer, chromium_path, launch_chromium

ARTIFACTS = Path(__file__).parent / "artifacts"
TIMEOUT_MS = 10_000  # a journey step that takes longer than this is a failure, not a wait

expect.set_options(timeout=TIMEOUT_MS)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures can tell that the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """Serve a migrated SQLite M4S with 20 demo owners through gunicorn, for the session."""
    server = LiveServer(tmp_path_factory.mktemp("m4s-e2e"))
    problem = None
    try:
        server.prepare()
        server.start()
    except RuntimeError as exc:
        problem = str(exc)
    if problem:  # outside the except block: the message alone, no chained traceback
        pytest.fail(problem, pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chromium():
    """Launch Debian's headless Chromium once per session; fail clearly if it is missing."""
    problem = None
    try:
        chromium_path()
    except RuntimeError as exc:
        problem = str(exc)
    if problem:
        pytest.fail(problem, pytrace=False)
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        yield browser
        browser.close()


def _failed(node) -> bool:
    return any(
        getattr(getattr(node, f"rep_{when}", None), "failed", False) for when in ("setup", "call")
    )


def _save(node, name: str, page, console: list[str]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    stem = re.sub(r"[^\w.-]+", "_", node.nodeid.split("::", 1)[-1]) + "-" + name
    (ARTIFACTS / f"{stem}.console.txt").write_text("\n".join(console) + "\n")
    try:
        (ARTIFACTS / f"{stem}.html").write_text(f"<!-- {page.url} -->\n{page.content()}")
        page.screenshot(path=str(ARTIFACTS / f"{stem}.png"), full_page=True)
    except PlaywrightError as exc:  # the page crashed or was closed: keep what we have
        (ARTIFACTS / f"{stem}.error.txt").write_text(str(exc))


@pytest.fixture
def open_page(chromium, live_server, request):
    """Return a factory of pages, each in its own fresh browser context (own cookies)."""
    opened = []

    def _open(name: str = "page", **context_options):
        context = chromium.new_context(base_url=live_server.url, **context_options)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
        opened.append((name, context, page, console))
        return page

    yield _open
    failed = _failed(request.node)
    for name, context, page, console in opened:
        if failed:
            _save(request.node, name, page, console)
        context.close()


@pytest.fixture
def phone(open_page):
    """A page on a 390 x 844 touch phone, Chinese locale."""
    return open_page("phone", **PHONE)


@pytest.fixture
def phone_nojs(open_page):
    """The same phone with JavaScript switched off."""
    return open_page("phone-nojs", java_script_enabled=False, **PHONE)


@pytest.fixture
def desktop(open_page):
    """A page on a 1280 x 800 desktop screen, Chinese locale."""
    return open_page("desktop", **DESKTOP)
