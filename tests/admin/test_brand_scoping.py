"""Brands and their manufacturer officers: which stores and cars an officer compares, the page
they see, the administrators' brand and store forms, the database's rules and the demo."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from admin import group_stats
from portal import access
from portal.extensions import db
from portal.models import Brand, Store, User
from portal.timeutil import now

URL = "/admin/group_dashboard/"


def _compared(user) -> set[str]:
    stmt = access.compared_stores(select(Store.name), Store.id, user)
    return set(db.session.scalars(stmt))


def _world(f):
    """A group store A selling BYD and Toyota, store B selling Toyota, store C selling none."""
    a, b, c = f.store("A"), f.store("B"), f.store("C")
    byd = f.brand("BYD", (a,), name="比亚迪", name_en="BYD")
    toyota = f.brand("TOYOTA", (a, b), name="丰田", name_en="Toyota")
    return a, b, c, byd, toyota


def test_an_officer_compares_exactly_the_stores_selling_their_brand(f):
    a, b, c, byd, toyota = _world(f)
    assert _compared(f.manufacturer(byd)) == {"A"}
    assert _compared(f.manufacturer(toyota)) == {"A", "B"}
    assert _compared(f.manufacturer(f.brand("GEELY"))) == set()  # sold nowhere: nothing
    assert _compared(f.hq()) == {"A", "B", "C"}
    assert _compared(f.advisor(a)) == set()


def test_a_deactivated_officer_compares_nothing(f):
    _a, _b, _c, byd, _toyota = _world(f)
    officer = f.manufacturer(byd)
    officer.is_active = False
    db.session.commit()
    assert _compared(officer) == set()
    assert access.compared_brand(officer) is None


def test_an_officer_counts_the_bookings_of_their_brands_cars_only(f):
    a, b, _c, byd, toyota = _world(f)
    owner = f.owner(a)
    han = f.vehicle(owner, brand="比亚迪", series="汉EV")
    camry = f.vehicle(owner, brand="丰田", series="凯美瑞")
    song = f.vehicle(owner, brand=" byd ", series="宋PLUS")  # entered in English, any case
    for car in (han, camry, song):
        f.booking(owner, a, vehicle=car)
    f.booking(owner, b, vehicle=camry)
    start, end = now() - timedelta(days=1), now() + timedelta(days=1)

    def bookings(user) -> dict[str, int]:
        return {s.name: s.bookings for s in group_stats.figures(user, start, end)}

    assert bookings(f.manufacturer(byd)) == {"A": 2}
    assert bookings(f.manufacturer(toyota)) == {"A": 1, "B": 1}
    assert bookings(f.hq())["A"] == 3  # headquarters: every car of the store


def test_the_officers_dashboard_names_their_brand_and_their_stores_only(f, client, auth):
    _a, _b, _c, byd, _toyota = _world(f)
    auth.login(f.manufacturer(byd))
    page = client.get(URL)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert ">A<" in body and ">B<" not in body and ">C<" not in body
    assert 'id="group-brand"' in body and "比亚迪 BYD" in body
    assert client.get("/admin/").status_code == 302  # home sends them on to the dashboard
    assert client.get("/admin/stores/").status_code == 403
    assert client.get("/admin/brands/").status_code == 403


def test_headquarters_see_no_brand_note(f, client, auth):
    _world(f)
    auth.login(f.hq())
    assert 'id="group-brand"' not in client.get(URL).get_data(as_text=True)


def test_the_database_ties_each_officer_to_one_brand_and_no_store(f):
    brand, store = f.brand(), f.store()
    for bad in (
        {"role": "manufacturer"},  # an officer without a brand
        {"role": "hq", "brand_id": brand.id},  # a brand for someone else
        {"role": "manufacturer", "brand_id": brand.id, "store_id": store.id},  # no store
    ):
        db.session.add(User(name="x", phone="13711113333", password_hash="x", **bad))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_the_database_refuses_an_empty_or_twice_named_brand(f):
    f.brand("BYD", name="比亚迪", name_en="BYD")
    for bad in (
        {"code": " ", "name": "吉利", "name_en": "Geely"},
        {"code": "GEELY", "name": "吉利", "name_en": ""},
        {"code": "BYD", "name": "吉利", "name_en": "Geely"},
        {"code": "GEELY", "name": "比亚迪", "name_en": "Geely"},
        {"code": "geely", "name": "吉利", "name_en": "Geely"},  # codes are capitals
    ):
        db.session.add(Brand(**bad))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_an_admin_creates_an_officer_only_with_a_brand(f, client, auth):
    brand = f.brand("BYD", name="比亚迪", name_en="BYD")
    auth.login(f.admin())
    form = client.get("/admin/staff/new/").get_data(as_text=True)
    assert "Manufacturer (brand officer)" in form and "比亚迪 BYD" in form
    base = {"name": "厂家", "store": "0", "region": "0", "phone": "", "department": ""}
    base |= {"role": "manufacturer", "email": "m@x.cn"}
    for brand_id, message in (
        ("0", "A manufacturer&#39;s officer needs a brand."),
        (str(brand.id + 999), "Not a valid choice"),  # no such brand
        ("abc", "Invalid Choice"),
    ):
        refused = client.post("/admin/staff/new/", data=base | {"brand": brand_id})
        assert refused.status_code == 200
        assert message in refused.get_data(as_text=True)
        assert db.session.scalar(select(User).where(User.email == "m@x.cn")) is None
    made = client.post("/admin/staff/new/", data=base | {"brand": str(brand.id)})
    assert made.status_code == 302
    officer = db.session.scalar(select(User).where(User.email == "m@x.cn"))
    assert officer.role == "manufacturer" and officer.brand_id == brand.id
    assert officer.store_id is None and officer.region_id is None


def test_a_brand_given_to_another_role_is_not_kept(f, client, auth):
    brand = f.brand()
    auth.login(f.admin())
    data = {"name": "总部", "role": "hq", "store": "0", "region": "0", "brand": str(brand.id)}
    data |= {"email": "h@x.cn", "phone": "", "department": ""}
    assert client.post("/admin/staff/new/", data=data).status_code == 302
    assert db.session.scalar(select(User.brand_id).where(User.email == "h@x.cn")) is None


def test_a_manager_is_offered_no_brand(f, client, auth):
    store = f.store()
    brand = f.brand()
    auth.login(f.manager(store))
    form = client.get("/admin/staff/new/").get_data(as_text=True)
    assert "Manufacturer (brand officer)" not in form and str(brand) not in form
    data = {"name": "x", "role": "manufacturer", "store": str(store.id), "email": "m@x.cn"}
    client.post("/admin/staff/new/", data=data | {"brand": str(brand.id)})
    assert db.session.scalar(select(User).where(User.email == "m@x.cn")) is None


def _store_form(store: Store, **changes) -> dict:
    data = {
        "name": store.name,
        "address": store.address,
        "phone": store.phone,
        "rescue_phone": "",
        "timezone": store.timezone,
        "opens_at": "08:30",
        "closes_at": "18:00",
        "bays": str(store.bays),
        "is_active": "y",
    }
    return data | changes


def test_an_admin_chooses_the_brands_a_store_sells(f, client, auth):
    store = f.store("A")
    byd, toyota = f.brand("BYD"), f.brand("TOYOTA")
    auth.login(f.admin())
    url = f"/admin/stores/edit/?id={store.id}"
    saved = client.post(url, data=_store_form(store, brand_ids=[str(byd.id), str(toyota.id)]))
    assert saved.status_code == 302
    db.session.expire_all()
    assert {b.code for b in db.session.get(Store, store.id).brands} == {"BYD", "TOYOTA"}
    form = client.get(url).get_data(as_text=True)
    assert f'value="{byd.id}" selected' in form or f'selected value="{byd.id}"' in form
    refused = client.post(url, data=_store_form(store, brand_ids=[str(toyota.id + 999)]))
    assert refused.status_code == 200 and "not a valid choice" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert {b.code for b in db.session.get(Store, store.id).brands} == {"BYD", "TOYOTA"}
    assert client.post(url, data=_store_form(store)).status_code == 302  # none: sells none
    db.session.expire_all()
    assert db.session.get(Store, store.id).brands == []


def test_an_admin_creates_brands_with_a_clear_code_and_unique_names(f, client, auth):
    f.brand("BYD", name="比亚迪", name_en="BYD")
    auth.login(f.admin())
    for data, message in (
        ({"code": "byd", "name": "吉利", "name_en": "Geely"}, "Another brand already has this."),
        ({"code": "GEELY", "name": "比亚迪", "name_en": "Geely"}, "Another brand already has"),
        ({"code": "GEELY", "name": "吉利", "name_en": "byd"}, "Another brand already has this."),
        ({"code": "吉利", "name": "吉利", "name_en": "Geely"}, "Latin letters"),
        ({"code": "GEELY", "name": " ", "name_en": "Geely"}, "This field is required."),
    ):
        refused = client.post("/admin/brands/new/", data=data)
        assert refused.status_code == 200, data
        assert message in refused.get_data(as_text=True), data
        assert db.session.scalar(select(Brand).where(Brand.name == "吉利")) is None
    made = client.post("/admin/brands/new/", data={"code": " geely ", "name": "吉利 ",
                                                   "name_en": "Geely"})  # fmt: skip
    assert made.status_code == 302
    geely = db.session.scalar(select(Brand).where(Brand.code == "GEELY"))
    assert (geely.name, geely.name_en) == ("吉利", "Geely")
    renamed = client.post(
        f"/admin/brands/edit/?id={geely.id}",
        data={"code": "GEELY", "name": "吉利", "name_en": "Geely Auto"},
    )
    assert renamed.status_code == 302  # its own code and name are no clash
    db.session.expire_all()
    assert db.session.get(Brand, geely.id).name_en == "Geely Auto"


def test_the_demo_has_brands_and_a_manufacturer_officer(app, db):
    from portal.demo import DEMO_LOGINS, load_demo
    from portal.models.accounts import MANUFACTURER

    load_demo(owners=6)
    db.session.commit()
    officer = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[MANUFACTURER]))
    assert officer.role == MANUFACTURER and officer.brand.code == "BYD"
    assert _compared(officer) == {db.session.scalars(select(Store.name).order_by(Store.id)).first()}
    load_demo(owners=6)  # again: nothing more
    db.session.commit()
    assert db.session.scalar(select(Brand.id).where(Brand.code == "GEELY")) is not None
    assert len(db.session.scalars(select(Brand)).all()) == 4


def test_the_daily_rollup_still_counts_only_the_officers_brand(f):
    """The rollup keeps every car of a store; an officer's bookings are counted raw."""
    from admin import daily_stats

    a, _b, _c, byd, _toyota = _world(f)
    owner = f.owner(a)
    han = f.vehicle(owner, brand="比亚迪", series="汉EV")
    camry = f.vehicle(owner, brand="丰田", series="凯美瑞")
    for car in (han, camry, camry):
        booking = f.booking(owner, a, vehicle=car)
        booking.created_at = now() - timedelta(days=40)
    db.session.commit()
    daily_stats.refresh_daily_stats()
    db.session.commit()

    def bookings(user) -> dict[str, int]:
        return {s.name: s.bookings for s in daily_stats.period_figures(user, "90d", now())}

    assert bookings(f.hq())["A"] == 3  # from the rollup: every car of the store
    assert bookings(f.manufacturer(byd)) == {"A": 1}
