"""Issue 19 in a real Chromium at phone size: a technician adds labour and a part from stock
to a job assigned to them, and the advisor's job card shows both with who entered them."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from portal.models.accounts import TECHNICIAN
from tests.e2e.test_foundation_journeys import assert_fits_phone, login

pytestmark = pytest.mark.e2e


def test_technician_enters_labour_and_a_part_on_a_phone(open_page, live_server):
    from tests.e2e.live import PHONE

    page = open_page("technician", **PHONE)
    login(page, DEMO_LOGINS[TECHNICIAN], DEMO_PASSWORD[TECHNICIAN])
    page.goto("/admin/my_jobs/")
    jobs = page.locator(".my-job")
    expect(jobs.first).to_be_visible()
    assert_fits_phone(page)
    jobs.first.locator("a.btn-primary").click()
    expect(page.locator("#my-add-labour")).to_be_visible()
    assert_fits_phone(page)
    labour_before = page.locator("#my-labour .labour-line").count()
    page.fill("#my-add-labour input[name=operation]", "更换前刹车片")
    page.fill("#my-add-labour input[name=hours]", "1.5")
    page.locator("#my-add-labour button[name=action]").click()
    expect(page.locator("#my-labour .labour-line")).to_have_count(labour_before + 1)
    expect(page.locator("#my-labour")).to_contain_text("更换前刹车片")

    page.fill("#my-part-search input[name=q]", "")
    page.locator("#my-part-search button").click()
    products = page.locator("#my-stock .stock-product")
    expect(products.first).to_be_visible()
    parts_before = page.locator("#my-parts .part-line").count()
    products.first.locator("button[name=action]").click()
    expect(page.locator("#my-parts .part-line")).to_have_count(parts_before + 1)
    assert_fits_phone(page)
    # Their own lines carry a remove button; a colleague's would not.
    expect(
        page.locator("#my-labour .labour-line").filter(has_text="更换前刹车片").locator("button")
    ).to_have_count(1)
