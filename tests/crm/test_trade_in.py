"""Trade-in valuation on the portal: a routed lead that carries the car, refused whole when
the car is not described, and never written over what staff put on the card."""

from __future__ import annotations

from sqlalchemy import func, select

from crm import trade_in
from crm.leads import Inquiry
from crm.models import FIRST_CONTACT, TRADE_IN_VALUATION, Lead, Task
from crm.profile_models import CustomerProfile
from portal.models import User
from tests.threads import at_once

FORM = {
    "name": "孙女士",
    "phone": "13722223333",
    "brand": "大众",
    "series": "朗逸",
    "model_year": "2017",
    "mileage_km": "86000",
    "model_interest": "ID.4",
    "note": "想换电车",
}


def _form(shop, **kw) -> dict:
    return {**FORM, "store": str(shop.id), **kw}


def test_a_visitor_describes_the_car_and_gets_a_routed_lead(f, db, client):
    store = f.store()
    advisor = f.advisor(store)
    assert client.get("/new-car/trade-in").status_code == 200
    r = client.post("/new-car/trade-in", data=_form(store))
    assert r.status_code == 303 and r.headers["Location"].endswith("/new-car/sent")
    lead = db.session.scalars(select(Lead)).one()
    assert lead.source == TRADE_IN_VALUATION and lead.advisor_id == advisor.id
    assert lead.model_interest == "ID.4"
    assert lead.note.splitlines() == ["大众 朗逸 2017 · 86,000 km", "想换电车"]
    task = db.session.scalars(select(Task).where(Task.lead_id == lead.id)).one()
    assert task.kind == FIRST_CONTACT and task.owner_id == advisor.id
    card = db.session.get(CustomerProfile, lead.customer_id)
    assert card.trade_in == "大众 朗逸 2017 · 86,000 km"


def test_an_owner_picks_their_own_car_and_cannot_pick_anothers(f, db, client, auth):
    store = f.store()
    f.advisor(store)
    owner, stranger = f.owner(store), f.owner(store)
    mine = f.vehicle(owner)
    theirs = f.vehicle(stranger)
    db.session.commit()
    auth.login(owner)
    page = client.get("/new-car/trade-in").get_data(as_text=True)
    assert mine.plate in page and theirs.plate not in page
    r = client.post("/new-car/trade-in", data=_form(store, vehicle=str(theirs.id), name=owner.name))
    assert r.status_code == 422 and "Choose one of your cars" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Lead.id))) == 0
    r = client.post(
        "/new-car/trade-in",
        data=_form(store, vehicle=str(mine.id), name=owner.name, phone=owner.phone),
    )
    assert r.status_code == 303
    lead = db.session.scalars(select(Lead)).one()
    assert lead.customer_id == owner.id
    expected = f"{mine.brand} {mine.series} {mine.model_year} · {mine.current_km:,} km"
    assert lead.note.startswith(expected)
    assert db.session.get(CustomerProfile, owner.id).trade_in == expected


def test_a_car_not_described_is_refused_whole(f, db, client):
    store = f.store()
    f.advisor(store)
    for bad, field_text in [
        ({"brand": ""}, "Enter the brand"),
        ({"model_year": "1970"}, "model year from 1980"),
        ({"model_year": ""}, "model year from 1980"),
        ({"mileage_km": "-5"}, "Enter the mileage"),
        ({"mileage_km": "99999999999"}, "Enter the mileage"),
        ({"mileage_km": "abc"}, "Not a valid integer"),
        ({"phone": "12345"}, "11-digit"),
        ({"store": "999999"}, "Choose a store"),
    ]:
        r = client.post("/new-car/trade-in", data=_form(store, **bad))
        assert r.status_code == 422, bad
        assert field_text in r.get_data(as_text=True), bad
    assert db.session.scalar(select(func.count(Lead.id))) == 0
    assert db.session.scalar(select(func.count()).select_from(CustomerProfile)) == 0


def test_what_staff_wrote_on_the_card_is_kept(f, db):
    store = f.store()
    owner = f.owner(store)
    db.session.add(CustomerProfile(customer_id=owner.id, trade_in="老款雅阁，已看过车"))
    db.session.commit()
    car = trade_in.TradeInCar("本田", "雅阁", 2015, 150_000)
    trade_in.ask_valuation(Inquiry(owner.name, owner.phone, store, "portal"), car)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(CustomerProfile, owner.id).trade_in == "老款雅阁，已看过车"


def test_the_same_request_twice_at_once_makes_one_lead_and_one_card(app, f, db):
    store = f.store()
    f.advisor(store)
    store_id = store.id

    def ask():
        from portal.models import Store

        here = db.session.get(Store, store_id)
        car = trade_in.TradeInCar("丰田", "卡罗拉", 2018, 70_000)
        got = trade_in.ask_valuation(Inquiry("周先生", "13799990000", here, "portal"), car)
        return got.lead.id

    results = at_once(app, ask, 3)
    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == 1
    customer = db.session.scalar(select(User).where(User.phone == "13799990000"))
    assert db.session.scalar(select(func.count(Lead.id))) == 1
    card = db.session.get(CustomerProfile, customer.id)
    assert card.trade_in == "丰田 卡罗拉 2018 · 70,000 km"


def test_the_car_reads_the_same_in_both_languages():
    car = trade_in.TradeInCar("比亚迪", "秦PLUS", 2021, 1_234)
    assert trade_in.describe(car) == "比亚迪 秦PLUS 2021 · 1,234 km"
