"""The inspection journey in a real Chromium at phone size: the technician assigned to the job
records the inspection with a photo from My jobs and marks it finished; the advisor sees it
finished and sends it; the owner opens the link without logging in, sees what other owners
chose, approves two of three items and declines one; the advisor's page shows the job lines."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from portal.app import create_app
from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from portal.extensions import db, limiter
from portal.models import Inspection, Notification
from portal.models.accounts import ADVISOR, TECHNICIAN
from tests.e2e.live import PHONE
from tests.e2e.test_foundation_journeys import assert_fits_phone, login

pytestmark = pytest.mark.e2e


def _jpeg() -> dict:
    out = io.BytesIO()
    Image.new("RGB", (1200, 900), (120, 60, 40)).save(out, format="JPEG")
    return {"name": "pads.jpg", "mimeType": "image/jpeg", "buffer": out.getvalue()}


def _owner_link(live_server, inspection_id: int) -> str:
    """Return the link the owner was sent (their newest notification), from the live database."""
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
            owner_id = db.session.get(Inspection, inspection_id).booking.owner_id
            return db.session.scalar(
                select(Notification.link)
                .where(Notification.user_id == owner_id, Notification.link.like("/inspection/%"))
                .order_by(Notification.id.desc())
            )
        finally:
            db.session.rollback()
            db.session.remove()


def test_technician_inspects_with_a_photo_the_advisor_sends_and_the_owner_approves_two_of_three(
    open_page, live_server
):
    # The technician starts the inspection of the car assigned to them from My jobs.
    tech = open_page("technician", **PHONE)
    login(tech, DEMO_LOGINS[TECHNICIAN], DEMO_PASSWORD[TECHNICIAN])
    tech.goto("/admin/my_jobs/")
    start = tech.locator("form.my-inspection").first
    expect(start).to_be_visible()
    assert_fits_phone(tech)
    start.locator("button[type=submit]").click()
    expect(tech).to_have_url(re.compile(r"/admin/inspections/\d+$"))
    inspection_id = int(tech.url.rsplit("/", 1)[1])
    assert_fits_phone(tech)

    # Brake pads amber with a photo, brake fluid amber, engine oil red; the rest stay green.
    for n, (severity, note) in enumerate(
        [("尽快", "刹车片剩余约 3 mm"), ("尽快", "含水量偏高"), ("立即", "机油发黑")]
    ):
        item = tech.locator(".dvi-item").nth(n)
        item_id = item.get_attribute("id")
        item.locator("label", has_text=severity).click()
        item.locator("textarea[name=note]").fill(note)
        if n == 0:
            item.locator("input[name=photo]").set_input_files(_jpeg())
        item.locator("button[type=submit]").click()
        saved = tech.locator(f"#{item_id}")
        expect(saved.locator(".dvi-saved")).to_be_visible()
        if n == 0:
            expect(saved.locator("img.dvi-thumb")).to_be_visible()
    # Sending is the advisor's: the technician marks it finished and reads the state.
    expect(tech.locator("#dvi-send")).to_have_count(0)
    tech.locator("#dvi-finish").click()
    expect(tech.locator("#dvi-state")).to_have_text("待服务顾问发送给车主")
    assert_fits_phone(tech)

    # The advisor's list shows the inspection the technician finished; they check and send it.
    staff = open_page("advisor", **PHONE)
    login(staff, DEMO_LOGINS[ADVISOR], DEMO_PASSWORD[ADVISOR])
    staff.goto("/admin/inspections/")
    card = staff.locator(".dvi-booking", has=staff.locator(".dvi-finished"))
    expect(card).to_have_count(1)
    expect(card.locator(".dvi-finished")).to_contain_text("陈建军")
    assert_fits_phone(staff)
    card.locator(f"a[href='/admin/inspections/{inspection_id}']").click()
    expect(staff.locator("#dvi-finished")).to_be_visible()
    expect(staff.locator(f"#{item_id} textarea[name=note]")).to_have_value("机油发黑")
    staff.locator("#dvi-send").click()
    expect(staff.locator(".dvi-decisions")).to_contain_text("还有 3 项待车主决定")

    # The owner opens the link they were sent: no login.
    link = _owner_link(live_server, inspection_id)
    assert link and link.startswith("/inspection/")
    owner = open_page("owner", **PHONE)
    owner.goto(link)
    expect(owner.locator("h1")).to_have_text("车辆检查报告")
    items = owner.locator("section.dvi-item")
    expect(items).to_have_count(3)
    pads, fluid, oil = items.nth(0), items.nth(1), items.nth(2)
    expect(pads).to_contain_text("刹车片")
    expect(pads.locator("img.dvi-photo")).to_be_visible()
    # What other owners chose: the demo's decided inspections give brake pads at amber a share.
    expect(pads.locator(".dvi-others")).to_contain_text(
        re.compile(r"\d+%.*在此项为黄色时选择了维修", re.S)
    )
    assert_fits_phone(owner)
    pads.get_by_role("button", name="同意维修").click()
    expect(owner.locator("section.dvi-item").nth(0)).to_contain_text("已同意")
    owner.locator("section.dvi-item").nth(1).get_by_role("button", name="同意维修").click()
    expect(owner.locator("section.dvi-item").nth(1)).to_contain_text("已同意")
    owner.locator("section.dvi-item").nth(2).get_by_role("button", name="暂不维修").click()
    expect(owner.locator("section.dvi-item").nth(2)).to_contain_text("我们稍后会提醒您")
    assert_fits_phone(owner)
    del fluid, oil

    # The advisor's page picks the decisions up by itself and shows the job lines.
    lines = staff.locator("#job-lines")
    expect(lines).to_contain_text("刹车片", timeout=15_000)
    expect(lines).to_contain_text("刹车油")
    expect(lines).not_to_contain_text("机油")
    expect(staff.locator(".dvi-decisions")).to_contain_text("暂不维修")

    # The technician follows the owner's decisions on what they recorded, read only.
    tech.reload()
    outcome = tech.locator(f"#outcome-{inspection_id}")
    expect(outcome.locator(".decision-approved")).to_have_count(2)
    expect(outcome.locator(".decision-declined")).to_contain_text("暂不维修")
    expect(tech.locator(".dvi-item-view img.dvi-thumb")).to_have_count(1)
    expect(tech.locator("textarea, input[name=severity], #dvi-send")).to_have_count(0)
    assert_fits_phone(tech)
