"""The sales funnel in a real Chromium: the demo manager reads it on small and large phones
without the page scrolling sideways (wide tables scroll inside their own box)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from portal.models.accounts import MANAGER
from tests.e2e.live import PHONE
from tests.e2e.test_foundation_journeys import login

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [360, 430])
def test_the_manager_reads_the_sales_funnel_on_a_phone(open_page, live_server, width):
    page = open_page(f"funnel{width}", **{**PHONE, "viewport": {"width": width, "height": 800}})
    login(page, DEMO_LOGINS[MANAGER], DEMO_PASSWORD[MANAGER])
    page.goto(live_server.url + "/admin/sales_funnel/")
    expect(page.locator("#forecast-table")).to_be_visible()
    assert page.locator("svg.m4s-chart").count() == 5
    assert page.locator("#funnel-table-source tbody tr").count() >= 2  # the demo's sources
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.select_option("#period", "90d")
    page.locator("#funnel-filter button").click()
    expect(page).to_have_url(live_server.url + "/admin/sales_funnel/?period=90d")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
