"""The CRM in a real Chromium: a visitor's test-drive request on a phone reaches the store's
leads at once with a first-contact task, and a manager reassigns it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from portal.models.accounts import MANAGER
from tests.e2e.test_foundation_journeys import assert_fits_phone, login, submit

pytestmark = pytest.mark.e2e


def test_a_test_drive_request_on_a_phone_lands_as_a_task_for_an_advisor(open_page, live_server):
    from tests.e2e.live import DESKTOP, PHONE

    visitor = open_page("visitor", **PHONE)
    visitor.goto("/new-car/?test_drive=1&model=ID.4&utm_source=dongchedi")
    assert_fits_phone(visitor)
    visitor.fill("#name", "试驾客户")
    visitor.fill("#phone", "135 7777 0001")
    visitor.fill("#budget", "200000")
    visitor.select_option("#timeframe", "7d")
    expect(visitor.locator("#test_drive")).to_be_checked()
    submit(visitor)
    expect(visitor).to_have_url(live_server.url + "/new-car/sent")
    assert_fits_phone(visitor)

    manager = open_page("manager", **DESKTOP)
    login(manager, DEMO_LOGINS[MANAGER], DEMO_PASSWORD[MANAGER])
    manager.goto("/admin/leads/?scope=store")
    row = manager.locator("#lead-list tr", has_text="试驾客户")
    expect(row).to_contain_text("ID.4")
    expect(row).to_contain_text("H")
    row.locator("a").first.click()
    expect(manager).to_have_url(re.compile(r"/admin/leads/\d+$"))
    expect(manager.locator("#lead-phone")).to_contain_text("13577770001")
    before = manager.locator("#lead-advisor").inner_text()
    options = manager.locator("#advisor option")
    target = next(
        options.nth(i).get_attribute("value")
        for i in range(options.count())
        if options.nth(i).inner_text() != before
    )
    manager.select_option("#advisor", target)
    manager.locator("#reassign-form button").click()
    expect(manager.locator("#lead-advisor")).not_to_have_text(before)
    expect(manager.locator("#lead-events")).to_contain_text("已改派")
