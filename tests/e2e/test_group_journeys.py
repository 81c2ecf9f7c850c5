"""The group's view in a real Chromium: headquarters, a regional manager and a brand's
manufacturer officer sign in, land on the store comparison and read it on small and large
phones without the page scrolling sideways (the wide table scrolls inside its own box)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from portal.models.accounts import HQ, MANUFACTURER, REGION
from tests.e2e.live import PHONE
from tests.e2e.test_foundation_journeys import login

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [360, 430])
@pytest.mark.parametrize("role", [HQ, REGION, MANUFACTURER])
def test_the_group_reads_the_store_comparison_on_a_phone(open_page, live_server, role, width):
    page = open_page(f"{role}{width}", **{**PHONE, "viewport": {"width": width, "height": 800}})
    login(page, DEMO_LOGINS[role], DEMO_PASSWORD[role])
    expect(page).to_have_url(live_server.url + "/admin/group_dashboard/")
    expect(page.locator("#group-median")).to_be_visible()
    expect(page.locator("#group-brand")).to_have_count(1 if role == MANUFACTURER else 0)
    assert page.locator("svg.m4s-chart").count() == 9
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.locator("#group-periods a").nth(1).click()  # last month
    expect(page).to_have_url(live_server.url + "/admin/group_dashboard/?period=last_month")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
