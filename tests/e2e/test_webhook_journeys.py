"""Webhooks in a real Chromium on a phone: a manager reads the demo endpoint's delivery log,
adds an endpoint (a private address is refused with a clear message), copies the secret once."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from portal.models.accounts import MANAGER
from tests.e2e.test_foundation_journeys import assert_fits_phone, login

pytestmark = pytest.mark.e2e


def test_a_manager_reads_the_log_and_adds_an_endpoint_on_a_phone(open_page):
    from tests.e2e.live import PHONE

    page = open_page("manager", **PHONE)
    login(page, DEMO_LOGINS[MANAGER], DEMO_PASSWORD[MANAGER])
    page.goto("/admin/webhooks/")
    assert_fits_phone(page)
    page.locator("#endpoints a", has_text="erp.example-dealer.cn").click()
    expect(page.locator("#deliveries")).to_contain_text("502")
    assert_fits_phone(page)

    page.goto("/admin/webhooks/")
    page.fill("#url", "http://192.168.1.20/hooks")
    page.check("input[value='order.paid']")
    page.locator("#endpoint-form button[type=submit]").click()
    expect(page.locator("#endpoint-form .error")).to_contain_text("内网")
    page.fill("#url", "https://crm.example-dealer.cn/m4s/orders")
    page.check("input[value='order.paid']")
    page.locator("#endpoint-form button[type=submit]").click()
    expect(page.locator("#new-secret")).to_be_visible()
    assert_fits_phone(page)
    secret = page.locator("#new-secret-value").inner_text().strip()
    assert secret.startswith("whsec_")
    page.goto("/admin/webhooks/")
    expect(page.locator("#endpoints")).to_contain_text("crm.example-dealer.cn")
    expect(page.locator("#endpoints")).not_to_contain_text(secret)
