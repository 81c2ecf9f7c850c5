"""The one access rule: the helpers for each role, and images served by it."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from flask import url_for
from flask_login import AnonymousUserMixin
from PIL import Image as PILImage
from sqlalchemy import select

from portal import access
from portal.errors import NotFound
from portal.models import Booking, BookingPhoto, Vehicle
from portal.services import bookings as booking_svc
from portal.services import usedcars
from portal.services.media import store_image
from tests import factories

ANONYMOUS = AnonymousUserMixin()


@pytest.fixture
def two(f, db):
    """Two stores, a booking in each, and one person of every role (plus an inactive advisor)."""
    a, b = f.store("A"), f.store("B")
    people = {
        "owner": f.owner(a),
        "other_owner": f.owner(a),
        "advisor": f.advisor(a),
        "colleague": f.advisor(a),
        "advisor_b": f.advisor(b),
        "manager": f.manager(a),
        "manager_b": f.manager(b),
        "admin": f.admin(),
        "inactive": f.advisor(a, is_active=False),
        "inactive_admin": f.admin(is_active=False),
    }
    people["owner"].advisor_id = people["advisor"].id
    in_a = f.booking(people["owner"], a)
    in_b = f.booking(people["other_owner"], b)
    db.session.commit()
    return {"a": a, "b": b, "in_a": in_a, "in_b": in_b, **people}


# ---------------------------------------------------------------- the store rule, by role


@pytest.mark.parametrize(
    ("who", "sees_a", "sees_b"),
    [
        ("owner", False, False),  # an owner has a home store, but sees none of its records
        ("advisor", True, False),
        ("advisor_b", False, True),
        ("manager", True, False),
        ("admin", True, True),
        ("inactive", False, False),
        ("inactive_admin", False, False),
    ],
)
def test_in_store_by_role(two, who, sees_a, sees_b):
    user = two[who]
    assert access.in_store(user, two["a"].id) is sees_a
    assert access.in_store(user, two["b"].id) is sees_b
    assert access.in_store(user, None) is (who == "admin")  # the admins' own rows


def test_nobody_signed_in_sees_no_store(two):
    assert access.in_store(ANONYMOUS, two["a"].id) is False
    assert access.in_store(None, two["a"].id) is False
    assert access.is_active_staff(ANONYMOUS) is False
    assert access.owned_by(ANONYMOUS, two["in_a"]) is False


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("owner", set()),
        ("advisor", {"in_a"}),
        ("advisor_b", {"in_b"}),
        ("manager", {"in_a"}),
        ("admin", {"in_a", "in_b"}),
        ("inactive", set()),
    ],
)
def test_store_scope_filters_statements_and_queries(two, db, who, expected):
    want = {two[name].id for name in expected}
    stmt = access.store_scope(select(Booking.id), Booking, two[who])
    assert set(db.session.scalars(stmt)) == want
    # Flask-Admin's legacy Query goes through the same rule, by the store column.
    query = access.store_scope(db.session.query(Booking), Booking.store_id, two[who])
    assert {b.id for b in query} == want


def test_store_filter_is_none_for_admins_and_refuses_non_staff(two):
    assert access.store_filter(two["admin"]) is None
    assert access.store_filter(two["manager"]) == two["a"].id
    for who in ("owner", "inactive", "inactive_admin"):
        with pytest.raises(NotFound):
            access.store_filter(two[who])
    with pytest.raises(NotFound):
        access.store_filter(ANONYMOUS)


def test_store_record_hides_other_stores_and_bad_ids(two):
    assert access.store_record(two["advisor"], Booking, two["in_a"].id, "x") is two["in_a"]
    assert access.store_record(two["admin"], Booking, str(two["in_b"].id), "x") is two["in_b"]
    for who, booking_id in [
        ("advisor_b", two["in_a"].id),
        ("inactive", two["in_a"].id),
        ("owner", two["in_a"].id),  # the owner's own booking, but not through the staff rule
        ("admin", 10**30),  # beyond any integer column: no row, no overflow
        ("admin", "abc"),
        ("admin", None),
    ]:
        with pytest.raises(NotFound, match="gone"):
            access.store_record(two[who], Booking, booking_id, "gone")


def test_owned_record_is_the_owners_only(two, db):
    owner, vehicle = two["owner"], two["in_a"].vehicle
    assert access.owned_record(owner, Vehicle, vehicle.id, "x") is vehicle
    for who in ("other_owner", "advisor", "manager", "admin"):
        with pytest.raises(NotFound):
            access.owned_record(two[who], Vehicle, vehicle.id, "x")
    owner.is_active = False
    db.session.flush()
    with pytest.raises(NotFound):
        access.owned_record(owner, Vehicle, vehicle.id, "x")


@pytest.mark.parametrize(
    ("who", "expected"),
    [("owner", {"in_a"}), ("other_owner", {"in_b"}), ("advisor", set()), ("admin", set())],
)
def test_owner_scope_lists_my_own_rows_only(two, db, who, expected):
    stmt = access.owner_scope(select(Booking.id), Booking.owner_id, two[who])
    assert set(db.session.scalars(stmt)) == {two[name].id for name in expected}
    assert list(db.session.scalars(access.owner_scope(stmt, Booking.owner_id, ANONYMOUS))) == []


def test_services_use_the_rule(two, db):
    """The copies it replaced differed: one forgot the staff check, one the active check."""
    with pytest.raises(NotFound):  # an owner of store A is not store A's staff
        booking_svc.store_booking(two["owner"], two["in_a"].id)
    with pytest.raises(NotFound):  # an inactive advisor cannot act, even in their store
        booking_svc.accept(two["inactive"], two["in_a"])
    with pytest.raises(NotFound):
        booking_svc.accept(two["advisor_b"], two["in_a"])
    assert booking_svc.store_booking(two["manager"], two["in_a"].id) is two["in_a"]


# ---------------------------------------------------------------- masking


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13800000001", "138****0001"),
        ("+8613800000001", "+86*******0001"),
        ("1234567", "1******"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_phone(phone, masked):
    assert access.mask_phone(phone) == masked


def test_customer_phone_is_masked_for_colleagues(two):
    customer = two["owner"]
    phone = customer.phone
    assert access.customer_phone(two["advisor"], customer) == phone  # their own advisor
    assert access.customer_phone(two["manager"], customer) == phone
    assert access.customer_phone(two["admin"], customer) == phone
    assert access.customer_phone(two["colleague"], customer) == access.mask_phone(phone)
    assert "****" in access.customer_phone(two["colleague"], customer)
    assert access.customer_phone(two["advisor_b"], customer) == ""
    assert access.customer_phone(two["manager_b"], customer) == ""
    assert access.customer_phone(two["inactive"], customer) == ""


# ---------------------------------------------------------------- images


def _png() -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (32, 24), (9, 9, 9)).save(out, format="PNG")
    return out.getvalue()


def _client(app, user):
    client = app.test_client()
    if user is not None:
        response = client.post("/login", data={"login": user.login, "password": factories.PASSWORD})
        assert response.status_code == 303
    return client


def _status(app, user, url) -> int:
    return _client(app, user).get(url).status_code


def _car_under_review(two):
    car = usedcars.submit_request(
        two["owner"],
        vin=factories.vin(),
        brand="丰田",
        series="凯美瑞",
        model_year=2020,
        mileage_km=40_000,
        first_registered_on=date(2020, 5, 1),
        asking_price_fen=10_000_000,
        photos=[_png()],
    )
    usedcars.start_review(two["advisor"], car, two["advisor"])
    return car


def _urls(image_id: int) -> list[str]:
    return [url_for(e, image_id=image_id) for e in ("media.image_show", "media.image_thumb")]


def test_photo_of_a_car_under_review_is_for_its_owner_and_store(app, two, db):
    car = _car_under_review(two)
    db.session.commit()
    with app.test_request_context():
        urls = _urls(car.photos[0].image_id)
    expected = {
        None: 404,
        "owner": 200,
        "other_owner": 404,
        "advisor": 200,
        "manager": 200,
        "admin": 200,
        "advisor_b": 404,  # the audit's finding: another store's advisor
        "manager_b": 404,
    }
    for who, want in expected.items():
        for url in urls:
            assert (who, _status(app, two.get(who), url)) == (who, want)


def test_booking_photo_is_for_its_owner_and_store(app, two, db):
    image = store_image(_png(), owner=two["owner"], field="photos")
    db.session.add(BookingPhoto(booking_id=two["in_a"].id, image_id=image.id))
    db.session.commit()
    with app.test_request_context():
        url = _urls(image.id)[0]
    got = {who: _status(app, two.get(who), url) for who in (None, "owner", "advisor", "admin")}
    assert got == {None: 404, "owner": 200, "advisor": 200, "admin": 200}
    got = {who: _status(app, two[who], url) for who in ("other_owner", "advisor_b", "manager_b")}
    assert got == {"other_owner": 404, "advisor_b": 404, "manager_b": 404}


def test_an_unattached_owner_image_is_the_owners_only(app, two, db):
    image = store_image(_png(), owner=two["owner"])
    db.session.commit()
    with app.test_request_context():
        url = _urls(image.id)[0]
    assert _status(app, two["owner"], url) == 200
    assert _status(app, two["advisor"], url) == 404
    assert _status(app, two["admin"], url) == 404


def test_public_images_and_listed_cars_are_for_everyone(app, two, db):
    portrait = store_image(_png())  # no owner: an advisor's portrait or a product photo
    car = _car_under_review(two)
    usedcars.approve(
        two["advisor"],
        car,
        grade="A",
        checked_items=["engine"],
        valuation_low_fen=9_000_000,
        valuation_high_fen=10_000_000,
    )
    usedcars.list_car(two["advisor"], car)
    db.session.commit()
    with app.test_request_context():
        urls = _urls(portrait.id) + _urls(car.photos[0].image_id)
    for url in urls:
        assert _status(app, None, url) == 200
        assert _status(app, two["advisor_b"], url) == 200


def test_image_addresses_cannot_be_guessed(app, two, db):
    image = store_image(_png())  # public: only the address is under test
    db.session.commit()
    with app.test_request_context():
        url = _urls(image.id)[0]
        other = _urls(image.id + 1)[0]
    key = url.rsplit("/", 1)[1]
    assert key.startswith(f"{image.id}.") and len(key) > 20
    assert _status(app, None, url) == 200
    assert _status(app, None, f"/media/{image.id}") == 404  # the bare id of the old addresses
    assert _status(app, None, f"/media/{image.id}/thumb") == 404
    forged = f"/media/{image.id + 1}.{key.split('.', 1)[1]}"  # another id, this signature
    assert _status(app, None, forged) == 404
    assert other != url and other.rsplit(".", 1)[1] != key.rsplit(".", 1)[1]
    assert _status(app, None, "/media/" + "9" * 18 + "." + "A" * 27) == 404


def test_pages_link_images_at_addresses_that_answer(app, two, db):
    car = _car_under_review(two)
    usedcars.approve(
        two["advisor"],
        car,
        grade="A",
        checked_items=["engine"],
        valuation_low_fen=9_000_000,
        valuation_high_fen=10_000_000,
    )
    usedcars.list_car(two["advisor"], car)
    db.session.commit()
    client = _client(app, None)
    with app.test_request_context():
        pages = (url_for("usedcars.market_list"), url_for("usedcars.market_show", car_id=car.id))
    for page in pages:
        html = client.get(page).get_data(as_text=True)
        sources = re.findall(r'src="(/media/[^"]+)"', html)
        assert sources, page
        assert all(client.get(src).status_code == 200 for src in sources)
