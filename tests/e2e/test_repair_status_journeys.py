"""The repair status journey in a real Chromium at phone size: an advisor checks a car in on
the workshop board and copies its status link; the owner opens it without logging in and
sees the step change by itself when the advisor starts the work and the quality check."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from portal.models.accounts import ADVISOR
from tests.e2e.live import PHONE
from tests.e2e.test_foundation_journeys import assert_fits_phone, login

pytestmark = pytest.mark.e2e


def test_owner_follows_the_repair_from_the_status_link(open_page):
    staff = open_page("advisor", **PHONE)
    login(staff, DEMO_LOGINS[ADVISOR], DEMO_PASSWORD[ADVISOR])
    staff.goto("/admin/workshop/")
    card = staff.locator(".card[id^=job-]", has=staff.locator("button[value=check_in]")).first
    job = card.get_attribute("id")
    km = int(card.locator("input[name=km]").get_attribute("min")) + 120
    card.locator("input[name=km]").fill(str(km))
    card.locator("button[value=check_in]").click()
    card = staff.locator(f"#{job}")
    expect(card.locator("button[value=start]")).to_be_visible()

    # The advisor copies the link from the board; the owner opens it, not logged in.
    link = card.locator("input.status-link").input_value()
    assert "/status/" in link
    owner = open_page("owner", **PHONE)
    owner.goto("/status/" + link.rsplit("/status/", 1)[1])
    expect(owner.locator("h1")).to_have_text("维修进度")
    steps = owner.locator("#repair-steps li")
    expect(steps).to_have_count(6)
    expect(owner.locator("li[data-step=checked_in]")).to_have_attribute("data-state", "current")
    expect(owner.locator("li[aria-current=step]")).to_contain_text("已到店")
    assert_fits_phone(owner)

    # The advisor moves the job on; the owner's page follows without a reload.
    card.locator("button[value=start]").click()
    expect(staff.locator(f"#{job} button[value=quality_check]")).to_be_visible()
    in_progress = owner.locator("li[data-step=in_progress]")
    expect(in_progress).to_have_attribute("data-state", "current", timeout=15_000)
    expect(owner.locator("li[data-step=inspection]")).to_have_attribute("data-state", "skipped")
    staff.locator(f"#{job} button[value=quality_check]").click()
    quality = owner.locator("li[data-step=quality_check]")
    expect(quality).to_have_attribute("data-state", "current", timeout=15_000)
    expect(in_progress).to_have_attribute("data-state", "done")
    assert_fits_phone(owner)
