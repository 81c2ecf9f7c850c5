"""Issue 7 in a real Chromium: a used car from the owner's phone to the public list, and a
manager reassigning a leaving advisor's customers."""

from __future__ import annotations

import io
import random
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD, make_vin
from portal.models.accounts import ADVISOR, MANAGER, OWNER
from tests.e2e.test_foundation_journeys import assert_fits_phone, login, submit

pytestmark = pytest.mark.e2e


def photo(color) -> dict:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), color).save(out, format="JPEG")
    return {"name": f"car-{color[0]}.jpg", "mimeType": "image/jpeg", "buffer": out.getvalue()}


def test_owner_sells_a_car_an_expert_approves_it_and_it_is_listed(open_page, live_server):
    from tests.e2e.live import DESKTOP, PHONE

    owner = open_page("owner", **PHONE)
    login(owner, DEMO_LOGINS[OWNER][:-1] + "5", DEMO_PASSWORD[OWNER])
    expect(owner).to_have_url(live_server.url + "/")
    owner.locator("#nav-sell").click()
    owner.locator("#usedcar-new").click()
    expect(owner).to_have_url(live_server.url + "/used-cars/new")
    assert_fits_phone(owner)
    vin = make_vin(random.Random(77), "LSV", 2021)
    owner.select_option("#vehicle", "0")
    owner.fill("#vin", vin)
    owner.fill("#brand", "大众")
    owner.fill("#series", "途观L")
    owner.fill("#model_year", "2021")
    owner.fill("#mileage_km", "36000")
    owner.fill("#first_registered_on", "2021-07-15")
    owner.fill("#asking_price", "156000")
    owner.fill("#condition", "一手车，按时保养")
    owner.fill("#accident_history", "无")
    owner.set_input_files("#photos", [photo((200, 30, 40)), photo((30, 60, 140))])
    submit(owner)
    expect(owner).to_have_url(re.compile(r"/used-cars/\d+$"))
    car_id = owner.url.rsplit("/", 1)[1]
    expect(owner.locator("#usedcar-status-label")).to_be_visible()
    expect(owner.locator(".photos img")).to_have_count(2)
    assert_fits_phone(owner)

    expert = open_page("expert", **DESKTOP)
    login(expert, DEMO_LOGINS[ADVISOR], DEMO_PASSWORD[ADVISOR])
    expect(expert).to_have_url(live_server.url + "/admin/today/")
    expert.goto("/admin/usedcar_review/?status=submitted")
    expert.locator(f"#queue-{car_id} a").first.click()
    expect(expert).to_have_url(live_server.url + f"/admin/usedcar_review/{car_id}")
    expert.locator("#step-take button[type=submit]").click()
    approve = expert.locator("#step-approve")
    expect(approve).to_be_visible()
    approve.locator("select[name=grade]").select_option("A")
    for item in ("engine", "frame", "flood_fire"):
        approve.locator(f"input[name=checked_items][value={item}]").check()
    approve.locator("input[name=valuation_low]").fill("148000")
    approve.locator("input[name=valuation_high]").fill("158000")
    approve.locator("textarea[name=notes]").fill("原版原漆")
    approve.locator("button[type=submit]").click()
    expect(expert.locator("#step-list")).to_be_visible()
    expert.locator("#step-list button[type=submit]").click()
    expect(expert.locator("#step-sold")).to_be_visible()
    expect(expert.locator("#review-transitions li")).to_have_count(4)

    buyer = open_page("buyer", **PHONE)
    buyer.goto("/market/")
    card = buyer.locator(f"#car-{car_id}")
    expect(card).to_be_visible()
    assert_fits_phone(buyer)
    card.locator("a").first.click()
    expect(buyer).to_have_url(live_server.url + f"/market/{car_id}")
    expect(buyer.locator(f"#report-{car_id}")).to_contain_text("¥148,000.00")
    images = buyer.locator(".photos img")
    expect(images).to_have_count(2)
    assert images.first.evaluate("img => img.complete && img.naturalWidth > 0")
    buyer.fill("#name", "赵先生")
    buyer.fill("#phone", "13911112222")
    buyer.locator("#inquiry-form button[type=submit]").click()
    expect(buyer.locator("#inquiry-sent")).to_be_visible()
    assert_fits_phone(buyer)

    owner.reload()
    # received, under review, approved, listed, and the buyer's inquiry
    expect(owner.locator("#usedcar-events li")).to_have_count(5)
    expect(owner.locator("#usedcar-status-label")).to_have_text(re.compile(r"在售|Listed"))

    # The inquiry is a lead of the CRM: the car's page lists the buyer, linked to the lead.
    expert.goto(f"/admin/usedcar_review/{car_id}")
    buyer_row = expert.locator("#buyer-leads tbody tr").filter(has_text="赵先生")
    expect(buyer_row).to_have_count(1)
    buyer_row.locator("a").first.click()
    expect(expert.locator("#lead-used-car")).to_contain_text(f"#{car_id}")


def test_manager_reassigns_a_leaving_advisors_customers(open_page, live_server):
    from tests.e2e.live import DESKTOP

    leaving_login = DEMO_LOGINS[ADVISOR][:-1] + "3"  # serves demo owners 3, 7, 11, ...
    leaver = open_page("leaver", **DESKTOP)
    login(leaver, leaving_login, DEMO_PASSWORD[ADVISOR])
    expect(leaver).to_have_url(live_server.url + "/admin/today/")

    page = open_page("manager", **DESKTOP)
    login(page, DEMO_LOGINS[MANAGER], DEMO_PASSWORD[MANAGER])
    page.goto("/admin/advisors/")
    card = page.locator("#advisor-directory > div", has_text=leaving_login)
    expect(card).to_be_visible()
    card.locator("a.text-danger").click()
    expect(page).to_have_url(re.compile(r"/admin/advisors/\d+/leave$"))
    moving = int(page.locator("#leave-count strong").inner_text())
    assert moving > 0
    page.locator("#mode input[value=spread]").check()
    boxes = page.locator("#spread input[type=checkbox]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.locator("#leave-form button[type=submit]").click()
    expect(page).to_have_url(live_server.url + "/admin/advisors/")
    expect(page.locator(".alert-success")).to_contain_text(str(moving))
    expect(page.locator("#advisor-directory > div", has_text=leaving_login)).to_contain_text(
        re.compile(r"停用|Inactive")
    )

    leaver.goto("/admin/")
    expect(leaver).to_have_url(re.compile(r"/login"))


def test_owner_asks_for_a_trade_in_valuation_of_their_car_on_a_phone(open_page, live_server):
    from tests.e2e.live import DESKTOP, PHONE

    owner = open_page("trader", **PHONE)
    login(owner, DEMO_LOGINS[OWNER], DEMO_PASSWORD[OWNER])  # the first store's demo owner
    owner.goto("/account")
    owner.locator("#nav-trade-in").click()
    expect(owner).to_have_url(live_server.url + "/new-car/trade-in")
    assert_fits_phone(owner)
    car = owner.locator("#vehicle option").first.inner_text().split(" · ")[1]  # brand model
    owner.fill("#model_interest", "极氪007 置换")
    owner.locator("#trade-in-form button[type=submit]").click()
    expect(owner).to_have_url(live_server.url + "/new-car/sent")
    assert_fits_phone(owner)

    manager = open_page("trade-in-manager", **DESKTOP)
    login(manager, DEMO_LOGINS[MANAGER], DEMO_PASSWORD[MANAGER])
    manager.goto("/admin/leads/?scope=store")
    row = manager.locator("#lead-list tbody tr").filter(has_text="极氪007 置换")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(re.compile(r"置换估价|Trade-in valuation"))
    row.locator("a").first.click()
    expect(manager.locator("body")).to_contain_text(car)  # the lead names the car to value
