"""A booking keeps its car's brand (issue 22): set when the booking is made, by the owner or by
staff, kept when the car's make is edited later; a manufacturer's officer counts their
brand's bookings only, a regional manager every booking of their region's stores; and the
migration gives existing bookings the brand of their car's make."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from admin import daily_stats, group_stats
from portal.extensions import db
from portal.models import Booking
from portal.models.bookings import PHONE
from portal.services.bookings import staff as staff_svc
from portal.timeutil import now
from tests.factories import slot


def _world(f):
    """Group store A selling BYD and Toyota in region 华南, 4S store B selling Toyota."""
    a, b = f.store("A"), f.store("B")
    byd = f.brand("BYD", (a,), name="比亚迪", name_en="BYD")
    toyota = f.brand("TOYOTA", (a, b), name="丰田", name_en="Toyota")
    region = f.region("华南", (a,))
    return a, b, byd, toyota, region


def _bookings(user) -> dict[str, int]:
    start, end = now() - timedelta(days=1), now() + timedelta(days=1)
    return {s.name: s.bookings for s in group_stats.figures(user, start, end)}


def test_a_booking_keeps_its_cars_brand_when_the_make_is_edited_later(f):
    a, _b, byd, toyota, _region = _world(f)
    owner = f.owner(a)
    car = f.vehicle(owner, brand="比亚迪", series="汉EV")
    booking = f.booking(owner, a, vehicle=car)
    assert booking.brand_id == byd.id
    car.brand = "丰田"  # the owner corrects the make afterwards
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).brand_id == byd.id
    assert _bookings(f.manufacturer(byd)) == {"A": 1}
    assert _bookings(f.manufacturer(toyota)) == {"A": 0, "B": 0}
    again = f.booking(owner, a, vehicle=car, days=2)  # booked after the edit: the new make
    assert again.brand_id == toyota.id


def test_a_job_staff_enter_gets_the_cars_brand_and_an_unknown_make_gets_none(f):
    a, _b, _byd, toyota, _region = _world(f)
    owner = f.owner(a)
    camry = f.vehicle(owner, brand=" TOYOTA ", series="凯美瑞")  # English, any case
    phoned = staff_svc.enter_job(
        f.advisor(a), owner, camry, source=PHONE, service_types=["repair"], slot_start=slot(a, 2)
    )
    other = f.booking(owner, a, vehicle=f.vehicle(owner, brand="大众"))  # sold by no store
    db.session.commit()
    assert phoned.brand_id == toyota.id and other.brand_id is None


def test_an_officer_counts_only_their_brands_bookings_and_a_region_every_one(f):
    a, b, byd, toyota, region = _world(f)
    owner = f.owner(a)
    han, camry = f.vehicle(owner, brand="比亚迪"), f.vehicle(owner, brand="丰田")
    golf = f.vehicle(owner, brand="大众")
    for i, car in enumerate((han, han, camry, golf)):
        f.booking(owner, a, vehicle=car, days=1 + i)
    f.booking(owner, b, vehicle=camry)
    assert _bookings(f.manufacturer(byd)) == {"A": 2}
    assert _bookings(f.manufacturer(toyota)) == {"A": 1, "B": 1}
    assert _bookings(f.regional(region)) == {"A": 4}  # every brand, their region's stores
    assert _bookings(f.hq()) == {"A": 4, "B": 1}


def test_with_the_rollup_filled_an_officer_still_counts_their_brand_only(f):
    a, _b, byd, toyota, _region = _world(f)
    owner = f.owner(a)
    han, camry = f.vehicle(owner, brand="比亚迪"), f.vehicle(owner, brand="丰田")
    for car in (han, camry, camry):
        f.booking(owner, a, vehicle=car).created_at = now() - timedelta(days=40)
    db.session.commit()
    han.brand = "丰田"  # edited after the bookings: they keep their brands
    db.session.commit()
    daily_stats.refresh_daily_stats()
    db.session.commit()

    def bookings(user) -> dict[str, int]:
        return {s.name: s.bookings for s in daily_stats.period_figures(user, "90d", now())}

    assert bookings(f.manufacturer(byd)) == {"A": 1}
    assert bookings(f.manufacturer(toyota))["A"] == 2
    assert bookings(f.hq())["A"] == 3


def _brands() -> list[tuple[int, int | None]]:
    return list(db.session.execute(select(Booking.id, Booking.brand_id).order_by(Booking.id)))


def test_the_migration_gives_existing_bookings_their_cars_brand(empty_database_app):
    """Bookings made at the head, their brands dropped by the downgrade and set again by the
    upgrade from their cars' makes: each gets the brand the service gave it."""
    from flask_migrate import downgrade, upgrade

    from tests import factories as f

    app = empty_database_app("bookingbrands")
    with app.app_context():
        upgrade()
        a, _b, byd, toyota, _region = _world(f)
        owner = f.owner(a)
        cars = [
            f.vehicle(owner, brand=make)
            for make in ("比亚迪", " byd 海豹", "Toyota", "丰田", "大众", "BYD-Toyota?")
        ]
        for i, car in enumerate(cars):
            f.booking(owner, a, vehicle=car, days=1 + i % 5)
        made = _brands()
        assert [brand for _id, brand in made] == [
            byd.id, byd.id, toyota.id, toyota.id, None, byd.id
        ]  # fmt: skip
        db.session.remove()
        downgrade(revision="0069_clip19_item_clips")
        upgrade()
        assert _brands() == made
        db.session.remove()
        db.engine.dispose()
