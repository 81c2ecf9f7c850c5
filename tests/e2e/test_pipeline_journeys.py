"""The new-car pipeline in a real Chromium at phone size: an owner asks for a test drive, their
advisor books it, quotes, signs the order and delivers, and the car is in the owner's portal."""

from __future__ import annotations

import random
import re

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD, make_vin
from portal.models.accounts import ADVISOR, OWNER
from tests.e2e.shots import shoot
from tests.e2e.test_foundation_journeys import assert_fits_phone, login, submit

pytestmark = pytest.mark.e2e


def _press(page, form_id: str) -> None:
    page.locator(f"#{form_id} button[type=submit]").first.click()
    page.wait_for_load_state()


def test_an_advisor_walks_a_test_drive_request_to_a_delivered_car(open_page, live_server):
    from tests.e2e.live import DESKTOP, PHONE

    rng = random.Random()
    vin = make_vin(rng, "LVG", 2026)
    plate = "粤B" + "".join(rng.choice("0123456789") for _ in range(4)) + "Z"

    owner = open_page("owner", **PHONE)
    login(owner, DEMO_LOGINS[OWNER], DEMO_PASSWORD[OWNER])
    owner.goto("/new-car/?test_drive=1&model=丰田 凯美瑞")
    name = owner.locator("#name").input_value()
    assert name
    submit(owner)
    expect(owner).to_have_url(live_server.url + "/new-car/sent")

    advisor = open_page("advisor", **PHONE)  # the owner's advisor of record gets the lead
    login(advisor, DEMO_LOGINS[ADVISOR], DEMO_PASSWORD[ADVISOR])
    advisor.goto("/admin/leads/?scope=mine")
    row = advisor.locator("#lead-list tr", has_text=name).filter(has_text="凯美瑞").first
    row.locator("a").first.click()
    expect(advisor).to_have_url(re.compile(r"/admin/leads/\d+$"))
    lead_url = advisor.url
    assert_fits_phone(advisor)

    advisor.fill("#licence_no", "110101199003074477")
    advisor.fill("#licence_valid_until", "2031-06-30")
    advisor.check("#licence_seen")
    _press(advisor, "drive-form")
    expect(advisor.locator("#lead-drives")).to_contain_text("已预约")
    expect(advisor.locator("#lead-stage")).to_have_text("试驾")

    advisor.locator("#new-quote").click()
    advisor.fill("#vehicle_price", "199800")
    advisor.fill("#insurance", "5600")
    advisor.fill("#discount", "3000")
    _press(advisor, "quote-form")
    expect(advisor.locator("#quote-total")).to_contain_text("202,400")
    expect(advisor.locator("#quote-status")).to_have_text("可向客户报价")
    assert_fits_phone(advisor)
    _press(advisor, "accept-quote")
    expect(advisor.locator("#quote-status")).to_have_text("客户已接受")
    advisor.fill("#deposit", "20000")
    _press(advisor, "sign-form")
    expect(advisor.locator("#order-stage")).to_have_text("已下单")

    advisor.fill("#vin", vin)
    _press(advisor, "step-form")
    expect(advisor.locator("#order-vin")).to_contain_text(vin)
    advisor.fill("#invoice_no", "FP20261203")
    _press(advisor, "step-form")
    expect(advisor.locator("#order-stage")).to_have_text("已开票")
    # The delivery checklist: each item one tap, swapped in place; the car waits for it.
    checklist = advisor.locator("#delivery-checklist")
    expect(checklist).to_contain_text("交车清单")
    for code in ("pdi", "cleaned", "documents", "insurance", "plates", "keys", "walkthrough"):
        checklist.locator(f"li[data-item={code}] button").click()
        expect(checklist.locator(f"li[data-item={code}] button")).to_have_attribute(
            "aria-pressed", "true"
        )
    assert_fits_phone(advisor)
    # The staff manual shows the desktop layout: the same order, same session, wider screen.
    desk = open_page("advisor-desk", **DESKTOP, storage_state=advisor.context.storage_state())
    desk.goto(advisor.url)
    desk.locator("#delivery-checklist").scroll_into_view_if_needed()
    shoot(desk, "advisor-order")
    advisor.fill("#plate", plate)
    _press(advisor, "step-form")
    expect(advisor.locator("#order-stage")).to_have_text("已交车")

    advisor.goto(lead_url)
    expect(advisor.locator("#lead-stage")).to_have_text("已交车")
    expect(advisor.locator("#lead-events")).to_contain_text("已签单并付定金")

    owner.goto("/")
    expect(owner.locator("body")).to_contain_text(plate)
    shoot(owner, "owner-home")
    assert_fits_phone(owner)
