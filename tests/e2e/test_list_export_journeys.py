"""List exports and the webhook test ping in a real Chromium on a phone: a manager downloads
the owners list in Excel at 360 px, an advisor's CSV masks colleagues' customers, a manager
pings the demo endpoint."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from portal.models.accounts import ADVISOR, MANAGER
from tests.e2e.live import PHONE
from tests.e2e.test_foundation_journeys import assert_fits_phone, login

pytestmark = pytest.mark.e2e


def test_a_manager_exports_the_owners_list_in_excel_on_a_small_phone(open_page):
    page = open_page("manager", **{**PHONE, "viewport": {"width": 360, "height": 780}})
    login(page, DEMO_LOGINS[MANAGER], DEMO_PASSWORD[MANAGER])
    page.goto("/admin/owners/")
    expect(page.locator("#list-export")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the owners list is {width} px wide on a 360 px phone"
    page.select_option("#list-export-fmt", "xlsx")
    with page.expect_download() as info:
        page.locator("#list-export button[type=submit]").click()
    download = info.value
    assert download.suggested_filename.startswith("owners-")
    book = load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert len(rows[0]) == 6 and all(rows[0])  # the list's six columns, titled
    assert len(rows) > 5 and all(row[0] for row in rows[1:])  # the demo store's owners


def test_an_advisors_csv_masks_colleagues_customers(open_page):
    page = open_page("advisor", **PHONE)
    login(page, DEMO_LOGINS[ADVISOR], DEMO_PASSWORD[ADVISOR])
    page.goto("/admin/owners/")
    assert_fits_phone(page)
    page.select_option("#list-export-fmt", "csv")
    with page.expect_download() as info:
        page.locator("#list-export button[type=submit]").click()
    text = Path(info.value.path()).read_bytes().decode("utf-8-sig")
    phones = [row[1] for row in list(csv.reader(io.StringIO(text)))[1:]]
    assert phones and any("****" in p for p in phones)
    listed = page.content()
    assert all(p in listed for p in phones[:5])  # the file holds what the list shows


def test_a_manager_sends_the_demo_endpoint_a_test_ping(open_page):
    page = open_page("manager", **PHONE)
    login(page, DEMO_LOGINS[MANAGER], DEMO_PASSWORD[MANAGER])
    page.goto("/admin/webhooks/")
    page.locator("#endpoints a", has_text="erp.example-dealer.cn").click()
    expect(page.locator("#deliveries")).to_contain_text("ping")
    page.locator("#send-ping").click()
    expect(page.locator(".alert-success")).to_be_visible()
    assert_fits_phone(page)
