"""The rescue journey in a real Chromium: an owner sends an SOS on a phone (location from the
browser), an advisor claims it in the back office, the owner's page shows the advisor live."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_PASSWORD
from portal.models.accounts import ADVISOR, OWNER
from tests.e2e.live import PHONE
from tests.e2e.test_foundation_journeys import assert_fits_phone, login

pytestmark = pytest.mark.e2e

OWNER_LOGIN = "13800000005"  # a demo owner of the first store
ADVISOR_LOGIN = "13900000101"  # an advisor of the first store


def test_sos_claim_and_live_status(open_page, desktop, live_server):
    owner = open_page(
        "phone-located",
        geolocation={"latitude": 22.5431, "longitude": 113.9345, "accuracy": 18},
        permissions=["geolocation"],
        **PHONE,
    )
    advisor = desktop
    login(owner, OWNER_LOGIN, DEMO_PASSWORD[OWNER])
    owner.locator("#sos-button").click()
    expect(owner).to_have_url(re.compile(r"/rescue/new$"))
    assert_fits_phone(owner)
    expect(owner.locator("#latitude")).to_have_value("22.543100")
    owner.locator("input[name=problem][value=flat_tyre]").check()
    owner.fill("#note", "右后轮爆胎，没有备胎")
    owner.locator("#rescue-submit").click()
    expect(owner).to_have_url(re.compile(r"/rescue/\d+$"))
    rescue_id = int(owner.url.rsplit("/", 1)[1])
    status = owner.locator(f"#rescue-status-{rescue_id}")
    expect(status).to_have_attribute("data-status", "received")
    assert_fits_phone(owner)
    owner.evaluate("window.m4sSamePage = true")

    login(advisor, ADVISOR_LOGIN, DEMO_PASSWORD[ADVISOR])
    advisor.goto("/admin/rescue_queue/")
    item = advisor.locator(f"#rescue-{rescue_id}")
    expect(item).to_be_visible()
    expect(item.locator("a.map-link").first).to_have_attribute(
        "href", re.compile(r"uri\.amap\.com/marker\?position=113\.934500,22\.543100")
    )
    item.locator("button[value=claim]").click()
    expect(advisor.locator(f"#rescue-{rescue_id} .status-claimed")).to_be_visible()

    # The owner's page polls: the advisor's name and phone appear without a reload.
    expect(owner.locator("#rescue-advisor")).to_be_visible(timeout=15_000)
    expect(owner.locator("#advisor-phone")).to_have_attribute("href", f"tel:{ADVISOR_LOGIN}")
    assert owner.evaluate("window.m4sSamePage") is True

    advisor.locator(f"#rescue-{rescue_id} input[name=eta]").fill("20")
    advisor.locator(f"#rescue-{rescue_id} button[value=dispatch]").click()
    expect(owner.locator("#rescue-eta")).to_be_visible(timeout=15_000)
    expect(status).to_have_attribute("data-status", "dispatched")
    assert_fits_phone(owner)
