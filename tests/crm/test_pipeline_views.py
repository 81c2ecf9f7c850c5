"""The sales pipeline's pages through the client: from the lead page to a delivered car."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, select

from crm import delivery
from crm import leads as svc
from crm import test_drives as drive_svc
from crm.models import PHONE, Lead
from crm.pipeline_models import DriveBooking, Quote, SalesOrder
from portal.models import Vehicle
from tests import factories


def _setup(f, db):
    store = f.store()
    adv = f.advisor(store)
    owner = f.owner(store)
    lead = svc.capture(
        svc.Inquiry(
            name=owner.name,
            phone=owner.phone,
            store=store,
            source=PHONE,
            model_interest="丰田 凯美瑞",
        )
    ).lead
    car = drive_svc.add_car(f.manager(store), store, "丰田", "丰田 凯美瑞", "Toyota Camry", "")
    db.session.commit()
    return store, adv, owner, lead, car


def test_an_advisor_walks_a_lead_from_test_drive_to_delivery_and_the_owner_sees_the_car(
    client, auth, f, db
):
    store, adv, owner, lead, car = _setup(f, db)
    assert lead.customer_id == owner.id  # the inquiry found the owner's record
    auth.login(adv)
    page = client.get(f"/admin/leads/{lead.id}").get_data(as_text=True)
    assert 'id="drive-form"' in page and "丰田 凯美瑞" in page
    slot = re.search(r'name="slot"[^>]*>\s*<option value="(\d+)"', page).group(1)
    booked = client.post(
        f"/admin/test_drives/book/{lead.id}",
        data={
            "car": str(car.id),
            "slot": slot,
            "licence_no": "110101199003074477",
            "licence_valid_until": "2099-01-01",
            "licence_seen": "y",
        },
    )
    assert booked.status_code == 303
    assert db.session.scalar(select(func.count(DriveBooking.id))) == 1
    calendar = client.get("/admin/test_drives/?day=" + _local_day(int(slot)))
    assert owner.name in calendar.get_data(as_text=True)

    made = client.post(
        f"/admin/quotes/new/{lead.id}",
        data={"brand": "丰田", "series": "凯美瑞", "vehicle_price": "199800", "discount": "3000"},
    )
    assert made.status_code == 303
    quote = db.session.scalar(select(Quote))
    sheet = client.get(f"/admin/quotes/{quote.id}").get_data(as_text=True)
    assert "¥196,800.00" in sheet or "196,800" in sheet
    assert client.post(f"/admin/quotes/{quote.id}/accept").status_code == 303
    signed = client.post(f"/admin/sales_orders/sign/{quote.id}", data={"deposit": "20000"})
    assert signed.status_code == 303
    order = db.session.scalar(select(SalesOrder))
    vin = factories.vin()
    for data in (
        {"stage": "allocated", "vin": vin},
        {"stage": "invoiced", "invoice_no": "FP12345678"},
    ):
        assert client.post(f"/admin/sales_orders/{order.id}/step", data=data).status_code == 303
    early = client.post(
        f"/admin/sales_orders/{order.id}/step",
        data={"stage": "delivered", "plate": "粤B6C789"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Tick the delivery checklist first" in early and "Insurance in force" in early
    for item in delivery.ITEMS:
        ticked = client.post(
            f"/admin/sales_orders/{order.id}/check",
            data={"item": item.code, "done": "1"},
            headers={"HX-Request": "true"},
        )
        assert ticked.status_code == 200 and 'id="delivery-checklist"' in ticked.get_data(True)
    delivered = client.post(
        f"/admin/sales_orders/{order.id}/step", data={"stage": "delivered", "plate": "粤B6C789"}
    )
    assert delivered.status_code == 303
    db.session.refresh(order)
    assert order.stage == "delivered"
    db.session.refresh(lead)
    assert (lead.state, lead.stage) == ("won", "delivered")
    auth.logout()
    auth.login(owner)
    vehicles = client.get("/").get_data(as_text=True)
    assert "粤B6C789" in vehicles
    assert db.session.scalar(select(Vehicle.owner_id).where(Vehicle.vin == vin)) == owner.id


def _local_day(stamp: int) -> str:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    return (
        datetime.fromtimestamp(stamp, UTC).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    )


def test_a_bad_quote_says_why_and_writes_nothing(client, auth, f, db):
    _store, adv, _owner, lead, _car = _setup(f, db)
    auth.login(adv)
    for bad in (
        {"brand": "丰田", "series": "凯美瑞", "vehicle_price": ""},
        {"brand": "丰田", "series": "凯美瑞", "vehicle_price": "1e9"},
        {"brand": "丰田", "series": "凯美瑞", "vehicle_price": "100", "discount": "500"},
        {"brand": "", "series": "", "vehicle_price": "100000"},
        {"brand": "丰田", "series": "凯美瑞", "vehicle_price": "100000", "accessory_1": "999"},
        {"brand": "丰田", "series": "X", "vehicle_price": "9", "accessory_1": "1", "qty_1": "-3"},
    ):
        page = client.post(f"/admin/quotes/new/{lead.id}", data=bad)
        assert page.status_code == 422 and 'class="error' in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Quote.id))) == 0
    assert db.session.get(Lead, lead.id).stage == "new"


def test_a_double_booking_through_the_page_says_so_and_keeps_one(client, auth, f, db):
    store, adv, _owner, lead, car = _setup(f, db)
    other = svc.capture(
        svc.Inquiry(name="王先生", phone="13911112222", store=store, source=PHONE)
    ).lead
    other.advisor_id = adv.id
    db.session.commit()
    auth.login(adv)
    page = client.get(f"/admin/leads/{lead.id}").get_data(as_text=True)
    slot = re.search(r'name="slot"[^>]*>\s*<option value="(\d+)"', page).group(1)
    data = {
        "car": str(car.id),
        "slot": slot,
        "licence_no": "110101199003074477",
        "licence_valid_until": "2099-01-01",
        "licence_seen": "y",
    }
    assert client.post(f"/admin/test_drives/book/{lead.id}", data=data).status_code == 303
    again = client.post(f"/admin/test_drives/book/{other.id}", data=data, follow_redirects=True)
    assert "already booked" in again.get_data(as_text=True) or "已被预约" in again.get_data(
        as_text=True
    )
    assert db.session.scalar(select(func.count(DriveBooking.id))) == 1


def test_the_manager_board_shows_the_funnel_and_the_pipeline(client, auth, f, db):
    store, adv, _owner, lead, _car = _setup(f, db)
    svc.mark_contacted(adv, lead)
    db.session.commit()
    auth.login(f.manager(store))
    page = client.get("/admin/sales_board/?period=30d")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="sales-funnel"' in body
    assert 'id="board-pipeline"' in body and adv.name in body and 'id="board-error"' not in body
    odd = client.get("/admin/sales_board/?period=%27%3B--").get_data(as_text=True)
    assert 'id="board-error"' in odd and "Unknown period; showing this month." in odd
    saved = client.post(
        "/admin/sales_board/settings", data={"discount_limit": "8000", "slot_minutes": "30"}
    )
    assert saved.status_code == 303
    assert drive_svc.settings_for(store.id).discount_limit_fen == 8_000_00
    assert len(drive_svc.slots(store, date(2026, 12, 4))) == 19  # 08:30 .. 17:30, 30 minutes
    refused = client.post(
        "/admin/sales_board/settings", data={"discount_limit": "-1", "slot_minutes": "30"}
    )
    assert refused.status_code == 303
    assert drive_svc.settings_for(store.id).discount_limit_fen == 8_000_00


def test_the_group_admin_sees_one_stores_board_at_a_time(client, auth, f, db):
    store, adv, _owner, lead, _car = _setup(f, db)
    other = f.store()
    their = f.advisor(other)
    db.session.commit()
    first = min((store, other), key=lambda s: (s.name, s.id))
    second = other if first is store else store
    auth.login(f.admin())
    body = client.get("/admin/sales_board/").get_data(as_text=True)
    assert f'<option value="{first.id}" selected>' in body
    chosen = client.get(f"/admin/sales_board/?store={store.id}").get_data(as_text=True)
    assert f'<option value="{store.id}" selected>' in chosen
    assert f'value="{adv.id}"' in chosen and f'value="{their.id}"' not in chosen
    assert f"/admin/leads/{lead.id}" in chosen
    elsewhere = client.get(f"/admin/sales_board/?store={other.id}").get_data(as_text=True)
    assert f"/admin/leads/{lead.id}" not in elsewhere and f'value="{their.id}"' in elsewhere
    odd = client.get("/admin/sales_board/?store=abc")
    assert odd.status_code == 200 and f'<option value="{first.id}" selected>' in odd.get_data(
        as_text=True
    )
    assert second.id != first.id
