"""The shop's journey in a real Chromium at phone size: from hot products to paid at pickup."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from portal.models.accounts import ADVISOR, OWNER
from tests.e2e.test_foundation_journeys import assert_fits_phone, login

pytestmark = pytest.mark.e2e


def test_owner_buys_a_hot_product_and_pays_at_the_store(phone, desktop, live_server):
    page = phone
    page.goto("/shop/")
    assert_fits_phone(page)
    add = page.locator("#hot button[id^=add-]").first
    expect(add).to_be_visible()
    product_name = add.locator("xpath=ancestor::li").locator(".product-name").inner_text()
    add.click()
    expect(page.locator(".flash-success")).to_contain_text(product_name)

    # Log in from the cart: the anonymous cart merges into the owner's.
    page.goto("/login?next=/shop/cart")
    page.fill("#login", DEMO_LOGINS[OWNER])
    page.fill("#password", DEMO_PASSWORD[OWNER])
    page.locator("#main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/shop/cart$"))
    expect(page.locator("#cart")).to_contain_text(product_name)
    assert_fits_phone(page)

    # Quantity through htmx: the cart swaps in place, the total follows.
    qty = page.locator("#cart input[name=quantity]").first
    qty.fill("1")
    qty.dispatch_event("change")
    expect(page.locator("#cart-total")).to_be_visible()

    page.locator("#checkout").click()
    expect(page.locator("#place-order")).to_be_visible()
    assert_fits_phone(page)
    if page.locator("#fits_confirmed").count():
        page.locator("#fits_confirmed").check()
    page.locator("#place-order").click()
    expect(page).to_have_url(re.compile(r"/shop/orders/\d+$"))
    number = page.locator("h1").inner_text().split()[-1]
    expect(page.locator("[id^=status-]")).to_have_text("待支付")

    # Staff mark it paid at pickup in the back office.
    staff = desktop
    login(staff, DEMO_LOGINS[ADVISOR], DEMO_PASSWORD[ADVISOR])
    staff.goto("/admin/shop_orders/")
    staff.locator(f"#order-{number}").click()
    staff.locator("#act-paid").click()
    expect(staff.locator("[id^=status-]")).to_have_text("已支付")

    page.reload()
    expect(page.locator("[id^=status-]")).to_have_text("已支付")
    page.locator("#receipt").click()
    expect(page.locator(".receipt")).to_contain_text(number)
    assert_fits_phone(page)


def test_owner_buys_now_from_the_product_page(phone, live_server):
    page = phone
    login(page, DEMO_LOGINS[OWNER], DEMO_PASSWORD[OWNER])
    page.goto("/shop/")
    page.locator("#hot a.product-link").first.click()
    expect(page).to_have_url(re.compile(r"/shop/products/\d+$"))
    page.locator("#buy-now summary").click()  # a <details>: opens without our JavaScript
    expect(page.locator("#buy-now-submit")).to_be_visible()
    assert_fits_phone(page)
    page.fill("#buy-quantity", "1")
    if page.locator("#fits_confirmed").count():
        page.locator("#fits_confirmed").check()
    page.locator("#buy-now-submit").click()
    expect(page).to_have_url(re.compile(r"/shop/orders/\d+$"))
    expect(page.locator("[id^=status-]")).to_have_text("待支付")
    assert_fits_phone(page)


def test_a_pay_at_store_pickup_is_held_until_the_day_the_owner_chooses(phone, desktop, live_server):
    """The owner picks the last day the store allows; the order is held to the end of that day
    (not for 30 minutes), and the store's pickups list files it under that day."""
    page = phone
    login(page, DEMO_LOGINS[OWNER], DEMO_PASSWORD[OWNER])
    page.goto("/shop/")
    page.locator("#hot button[id^=add-]").first.click()
    expect(page.locator(".flash-success")).to_be_visible()
    page.goto("/shop/cart")
    page.locator("#checkout").click()
    day = page.locator("#pickup_on")
    expect(day).to_be_visible()
    last = day.get_attribute("max")
    assert last and last > day.get_attribute("min")  # a window of days, not minutes
    day.fill(last)
    assert_fits_phone(page)
    if page.locator("#fits_confirmed").count():
        page.locator("#fits_confirmed").check()
    page.locator("#place-order").click()
    expect(page).to_have_url(re.compile(r"/shop/orders/\d+$"))
    number = page.locator("h1").inner_text().split()[-1]
    expect(page.locator("#pickup-day")).to_contain_text(last)
    assert_fits_phone(page)

    staff = desktop
    login(staff, DEMO_LOGINS[ADVISOR], DEMO_PASSWORD[ADVISOR])
    staff.goto("/admin/shop_orders/?status=pickup")
    expect(staff.locator(f"#pickup-{last} + ul #order-{number}")).to_be_visible()
