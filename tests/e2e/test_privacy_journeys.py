"""Personal-information journeys in a real Chromium at phone size: download my data, delete
my account and change my mind within the grace period."""

from __future__ import annotations

import json
import zipfile

import pytest
from playwright.sync_api import expect

from tests.e2e.test_foundation_journeys import STORE, assert_fits_phone, login, submit

pytestmark = pytest.mark.e2e

PASSWORD = "mango-ferry-lantern-58"
PHONE = "13755550123"


def test_owner_downloads_their_data_then_deletes_the_account_and_keeps_it(
    phone, live_server, tmp_path
):
    page = phone
    page.goto("/register")
    page.fill("#name", "周晓琳")
    page.fill("#phone", PHONE)
    page.select_option("#store", label=STORE)
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.check("#accept_policy")
    submit(page)
    login(page, PHONE, PASSWORD)
    expect(page).to_have_url(live_server.url + "/")

    page.goto("/account")
    page.locator("#nav-privacy").click()
    expect(page).to_have_url(live_server.url + "/account/privacy/")
    assert_fits_phone(page)
    with page.expect_download() as download:
        page.locator("#privacy-download").click()
    saved = tmp_path / "mine.zip"
    download.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        users = json.loads(archive.read("data.json"))["tables"]["users"]
    assert [u["name"] for u in users] == ["周晓琳"]

    page.fill("#password", "not-the-password")
    page.locator("#erasure-request").click()
    expect(page.locator("#password-error")).to_be_visible()
    page.fill("#password", PASSWORD)
    page.locator("#erasure-request").click()
    expect(page).to_have_url(live_server.url + "/login")
    expect(page.locator(".flash-warning")).to_be_visible()  # when, and how to cancel

    login(page, PHONE, PASSWORD)
    page.locator("#home-erasure").click()
    expect(page.locator("#erasure-pending")).to_be_visible()
    assert_fits_phone(page)
    page.locator("#erasure-cancel").click()
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator("#erasure-pending")).to_have_count(0)
    expect(page.locator("#erasure-request")).to_be_visible()
