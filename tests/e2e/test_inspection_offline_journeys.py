"""The inspection screens where the workshop's Wi-Fi doesn't reach, in a real Chromium at phone
size: the advisor opens an inspection (the installable app's service worker takes over), the
browser goes offline, two items are recorded (one with a photo) and wait on the phone, even
across a reload; back online they upload by themselves, each recorded once on the server."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from portal.app import create_app
from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from portal.extensions import db, limiter
from portal.models import Inspection, InspectionItemSave
from portal.models.accounts import ADVISOR
from tests.e2e.live import PHONE
from tests.e2e.test_foundation_journeys import assert_fits_phone, login
from tests.e2e.test_inspection_journeys import _jpeg

pytestmark = pytest.mark.e2e


def _server_items(live_server, inspection_id: int) -> tuple[list[tuple], int]:
    """Return (severity, note, has a photo) of the first two items and the save keys recorded
    for them, from the live database."""
    enabled = limiter.enabled
    app = create_app(
        {
            "ENV": "testing",
            "SECRET_KEY": "e2e-live-database-reader-" + "0" * 32,
            "DATABASE_URL": live_server.env["M4S_DATABASE_URL"],
            "RATELIMIT_ENABLED": False,
        }
    )
    limiter.enabled = enabled
    with app.app_context():
        try:
            items = db.session.get(Inspection, inspection_id).items[:2]
            keys = db.session.scalar(
                select(func.count())
                .select_from(InspectionItemSave)
                .where(InspectionItemSave.item_id.in_([i.id for i in items]))
            )
            return [(i.severity, i.note, i.image_id is not None) for i in items], keys
        finally:
            db.session.rollback()
            db.session.remove()


def test_an_inspection_recorded_offline_uploads_once_when_back_online(open_page, live_server):
    staff = open_page("advisor", **PHONE)
    login(staff, DEMO_LOGINS[ADVISOR], DEMO_PASSWORD[ADVISOR])
    staff.goto("/admin/inspections/")
    card = staff.locator(".dvi-booking", has=staff.locator("form")).first
    card.locator("button[type=submit]").click()
    expect(staff).to_have_url(re.compile(r"/admin/inspections/\d+$"))
    inspection_id = int(staff.url.rsplit("/", 1)[1])
    assert staff.locator("link[rel=manifest]").count() == 1
    # The service worker is installed; one more load goes through it and so is kept.
    assert staff.evaluate("navigator.serviceWorker.ready.then(r => r.scope)").endswith(
        "/admin/inspections/"
    )
    staff.reload()
    expect(staff.locator(".dvi-item").first).to_be_visible()

    staff.context.set_offline(True)
    recorded = [("尽快", "刹车片剩余约 3 mm（离线）"), ("立即", "机油发黑（离线）")]
    for n, (severity, note) in enumerate(recorded):
        item = staff.locator(".dvi-item").nth(n)
        item.locator("label", has_text=severity).click()
        item.locator("textarea[name=note]").fill(note)
        if n == 0:
            item.locator("input[name=photo]").set_input_files(_jpeg())
        item.locator("button[type=submit]").click()
        expect(item.locator(".dvi-waiting")).to_have_text("等待上传")
    assert_fits_phone(staff)
    before, keys = _server_items(live_server, inspection_id)
    assert [note for _s, note, _p in before] == ["", ""] and keys == 0

    # Reloaded while offline: the service worker serves the page, the saves are still waiting.
    staff.reload()
    items = staff.locator(".dvi-item")
    expect(items.nth(0).locator(".dvi-waiting")).to_have_text("等待上传")
    expect(items.nth(1).locator(".dvi-waiting")).to_have_text("等待上传")
    expect(items.nth(1).locator("textarea[name=note]")).to_have_value("机油发黑（离线）")

    staff.context.set_offline(False)
    for n in range(2):
        expect(items.nth(n).locator(".dvi-saved")).to_be_visible()
        expect(items.nth(n).locator(".dvi-waiting")).to_have_count(0)
    expect(items.nth(0).locator("img.dvi-thumb")).to_be_visible()
    after, keys = _server_items(live_server, inspection_id)
    assert after == [("amber", recorded[0][1], True), ("red", recorded[1][1], False)]
    assert keys == 2  # each save recorded once

    # A later load finds nothing waiting and sends nothing again.
    staff.reload()
    expect(staff.locator(".dvi-item").first).to_be_visible()
    expect(staff.locator(".dvi-waiting")).to_have_count(0)
    assert _server_items(live_server, inspection_id)[1] == 2
