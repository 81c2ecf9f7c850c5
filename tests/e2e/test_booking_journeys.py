"""The booking journey in a real Chromium: the owner books on a phone, the advisor decides in
the back office, the owner follows it live, downloads the .ics, and rates the finished job."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_PASSWORD
from portal.models.accounts import ADVISOR, OWNER
from tests.e2e.test_foundation_journeys import assert_fits_phone, login

pytestmark = pytest.mark.e2e

OWNER_LOGIN = "13800000003"  # a demo owner of the first store
ADVISOR_LOGIN = "13900000101"  # an advisor of the first store


def test_book_accept_follow_complete_rate(phone, desktop, live_server):
    owner, advisor = phone, desktop
    login(owner, OWNER_LOGIN, DEMO_PASSWORD[OWNER])
    owner.goto("/bookings/new")
    assert_fits_phone(owner)
    owner.locator("input[name=service_types][value=repair]").check()
    owner.fill("#description", "冷启动时发动机有异响")
    owner.locator("input[name=slot]").first.check()
    owner.locator("#book-submit").click()
    expect(owner).to_have_url(re.compile(r"/bookings/\d+$"))
    booking_id = int(owner.url.rsplit("/", 1)[1])
    expect(owner.locator(f"#booking-status-{booking_id}.status-submitted")).to_be_visible()
    assert_fits_phone(owner)

    login(advisor, ADVISOR_LOGIN, DEMO_PASSWORD[ADVISOR])
    advisor.goto("/admin/queue/")
    item = advisor.locator(f"#queue-{booking_id}")
    expect(item).to_be_visible()
    item.locator("select[name=bay]").select_option("3")
    item.locator("form:has(input[name=action][value=accept]) button").click()
    expect(advisor.locator(f"#queue-{booking_id} .status-accepted")).to_be_visible()
    expect(advisor).to_have_url(re.compile(r"/admin/queue/$"))  # decided in place

    # The owner's page polls: "accepted" appears without a reload.
    expect(owner.locator(f"#booking-status-{booking_id}.status-accepted")).to_be_visible(
        timeout=15_000
    )
    with owner.expect_download() as download:
        owner.locator("#ics-link").click()
    with open(download.value.path(), encoding="utf-8") as fh:
        ics = fh.read()
    assert "BEGIN:VEVENT" in ics and f"booking-{booking_id}@m4s" in ics

    advisor.goto("/admin/workshop/")
    job = advisor.locator(f"#job-{booking_id}")
    km = int(job.locator("input[name=km]").get_attribute("min")) + 1234
    job.locator("input[name=km]").fill(str(km))
    job.locator("button[value=check_in]").click()
    advisor.locator(f"#job-{booking_id} button[value=start]").click()
    job = advisor.locator(f"#job-{booking_id}")
    job.locator("summary").click()
    job.locator("select[name=item-0-kind]").select_option("part")
    job.locator("input[name=item-0-description]").fill("正时皮带")
    job.locator("input[name=item-0-price]").fill("680")
    job.locator("select[name=fault_category]").select_option("engine")
    job.locator(".complete-form button[type=submit]").click()
    expect(advisor.locator(f"#job-{booking_id}")).to_have_count(0)

    expect(owner.locator(f"#booking-status-{booking_id}.status-completed")).to_be_visible(
        timeout=15_000
    )
    owner.reload()
    expect(owner.locator("#service-record")).to_contain_text("680.00")
    owner.locator("#rate-link").click()
    owner.locator("input[name=service_stars][value='5']").check()
    owner.locator("input[name=advisor_stars][value='4']").check()
    owner.fill("#comment", "很专业，准时交车")
    owner.locator("#rating-form button[type=submit]").click()
    expect(owner.locator("#my-rating")).to_be_visible()
    assert_fits_phone(owner)
