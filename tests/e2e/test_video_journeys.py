"""Video journeys in a real Chromium: the owner watches the bay live, the advisor sees the record.

Chromium gets two extra flags here only (loopback WebRTC without mDNS-hidden addresses); the
other journeys keep the shared browser of tests/e2e/conftest.py.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from tests.e2e.conftest import TIMEOUT_MS
from tests.e2e.live import CHROMIUM_ARGS, DESKTOP, PHONE, ROOT, chromium_path
from tests.e2e.test_foundation_journeys import login

pytestmark = pytest.mark.e2e

WEBRTC_ARGS = [
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]


@pytest.fixture(scope="module")
def media_server(live_server):
    """Start `flask m4s media` with the live server's settings; stop it afterwards."""
    log = (live_server.workdir / "media.log").open("ab")
    cmd = [sys.executable, "-m", "flask", "--app", "wsgi", "m4s", "media"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=live_server.env, stdout=log, stderr=log)
    log.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(live_server.media_url + "/healthz", timeout=2):  # noqa: S310
                break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            assert proc.poll() is None, (live_server.workdir / "media.log").read_text()
            time.sleep(0.1)
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def webrtc_browser(chromium):
    """A second Debian Chromium with the loopback WebRTC flags, from the session's Playwright
    (one sync Playwright per thread)."""
    browser = chromium.browser_type.launch(
        executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS + WEBRTC_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def webrtc_page(webrtc_browser, live_server):
    contexts = []

    def _open(**options):
        context = webrtc_browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()


def test_owner_watches_the_bay_live_and_the_advisor_sees_the_record(
    webrtc_page, live_server, media_server
):
    page = webrtc_page(**PHONE)
    login(page, DEMO_LOGINS["owner"], DEMO_PASSWORD["owner"])
    page.goto("/bookings")
    # The demo owner has one job in progress, in the bay under the demo camera.
    links = [a.get_attribute("href") for a in page.locator("#main a[href*='/bookings/']").all()]
    for href in links:
        page.goto(href)
        if page.locator("#watch-link").count():
            break
    page.locator("#watch-link").click()
    expect(page.locator("#watch-video")).to_be_visible()
    page.wait_for_function(
        "() => { const v = document.getElementById('watch-video');"
        " return v && v.videoWidth > 0 && v.currentTime > 0.5; }",
        timeout=20_000,
    )
    first = page.evaluate("document.getElementById('watch-video').currentTime")
    page.wait_for_timeout(1000)
    later = page.evaluate("document.getElementById('watch-video').currentTime")
    assert later > first
    assert page.evaluate("document.getElementById('watch-video').videoWidth") == 1280
    page.wait_for_timeout(1500)  # a report marks the session live, then the owner stops
    page.locator("#watch-stop").click()
    expect(page.locator("#watch-request")).to_be_visible()

    staff = webrtc_page(**DESKTOP)
    login(staff, DEMO_LOGINS["advisor"], DEMO_PASSWORD["advisor"])
    staff.goto("/admin/video_sessions/")
    row = staff.locator("table tbody tr").first
    # The records page speaks the viewer's language (zh-CN here): status and reason are words.
    expect(row).to_contain_text("已结束")
    # The stop button ends it in the portal, and closing the page's connection makes the media
    # server report it closed: whichever arrives first names the reason.
    assert row.inner_text().split()[-1] in ("车主停止观看", "观看者离开")
