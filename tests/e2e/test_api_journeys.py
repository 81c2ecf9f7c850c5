"""The API in a real Chromium: an admin makes a token on a phone, copies it once, an
integration reads with it, and the admin revokes it; the docs page fits every phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from portal.models.accounts import ADMIN
from tests.e2e.test_foundation_journeys import assert_fits_phone, login

pytestmark = pytest.mark.e2e


def test_an_admin_makes_a_token_on_a_phone_and_revokes_it(open_page, live_server):
    from tests.e2e.live import PHONE

    page = open_page("admin", **PHONE)
    login(page, DEMO_LOGINS[ADMIN], DEMO_PASSWORD[ADMIN])
    page.goto("/admin/api_tokens/")
    assert_fits_phone(page)
    page.fill("#name", "用友 U8 财务")
    page.check("input[value='customers:read']")
    page.check("input[value='bookings:read']")
    page.locator("#token-form button[type=submit]").click()
    expect(page.locator("#new-token")).to_be_visible()
    assert_fits_phone(page)
    secret = page.locator("#new-token-secret").inner_text().strip()
    assert secret.startswith("m4s_")

    bearer = {"Authorization": f"Bearer {secret}"}
    answer = page.request.get(live_server.url + "/api/v1/customers?limit=2", headers=bearer)
    assert answer.status == 200 and len(answer.json()["items"]) == 2
    assert page.request.get(live_server.url + "/api/v1/cameras", headers=bearer).status == 403

    page.goto("/admin/api_tokens/")
    expect(page.locator("#tokens")).not_to_contain_text(secret)  # shown once, never again
    row = page.locator("#tokens tr", has_text="用友 U8 财务")
    row.locator("button[type=submit]").click()
    expect(page.locator("#tokens tr", has_text="用友 U8 财务")).to_contain_text("已撤销")
    gone = page.request.get(live_server.url + "/api/v1/customers", headers=bearer)
    assert gone.status == 401 and gone.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("width", [360, 390, 430])
def test_the_api_docs_fit_every_phone(open_page, width):
    from tests.e2e.live import PHONE

    page = open_page("docs", **{**PHONE, "viewport": {"width": width, "height": 800}})
    page.goto("/api/v1/docs")
    expect(page.locator("h1")).to_contain_text("M4S")
    width_used = page.evaluate("document.documentElement.scrollWidth")
    assert width_used <= width, f"/api/v1/docs is {width_used} px wide on a {width} px phone"
