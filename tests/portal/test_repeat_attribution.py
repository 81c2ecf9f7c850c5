"""Repeat repairs attributed to technicians and parts, on constructed data with a known answer
(SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from portal.extensions import db
from portal.models import Booking, BookingTechnician, ServiceItem, ServiceRecord
from portal.services import repeat_attribution as attribution
from shop.models import Category, Product

T0 = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)
START, END, DAYS = T0 - timedelta(days=1), T0 + timedelta(days=60), 30


def job(store, car, fault, day, *, assigned=(), labour=(), parts=()):
    """A completed job: technicians assigned to its booking, labour items by technician,
    parts as (part_no, description, product or None, quantity)."""
    at = T0 + timedelta(days=day)
    booking = Booking(
        owner_id=car.owner_id,
        vehicle_id=car.id,
        store_id=store.id,
        slot_start=at,
        status="completed",
        service_types=["repair"],
    )
    db.session.add(booking)
    db.session.flush()
    db.session.add_all(
        BookingTechnician(booking_id=booking.id, technician_id=t.id) for t in assigned
    )
    items = [
        ServiceItem(kind="labour", description="工时", unit_price_fen=100, technician_id=t.id)
        for t in labour
    ]
    items += [
        ServiceItem(
            kind="part",
            description=d,
            part_no=no,
            quantity=q,
            unit_price_fen=100,
            product_id=p.id if p else None,
        )
        for no, d, p, q in parts
    ]
    record = ServiceRecord(
        booking_id=booking.id,
        vehicle_id=car.id,
        store_id=store.id,
        mileage_km=1000,
        fault_category=fault,
        completed_at=at,
        items=items,
    )
    db.session.add(record)
    db.session.commit()
    return record


def test_repeats_are_attributed_to_the_first_jobs_technicians_and_parts(f):
    a, b = f.store("A"), f.store("B")
    owner = f.owner(a)
    car1, car2, car3 = f.vehicle(owner), f.vehicle(owner), f.vehicle(owner)
    li, wang, zhao = (f.technician(a, name=n) for n in ("李师傅", "王师傅", "赵师傅"))
    pads = Product(sku="BP-1", name="刹车片", category=Category(name="刹车"), price_fen=100)
    db.session.add(pads)
    db.session.commit()
    pad = ("BP-1", "刹车片", pads, 1)
    sensor = ("X-1", "传感器", None, 1)
    # Car 1 comes back with its brakes after 10 days: the first job had Li and Wang (Li also
    # on a labour line: counted once), the pads twice (two lines: one job) and the sensor.
    job(a, car1, "brakes", 0, assigned=(li, wang), labour=(li,), parts=(pad, pad, sensor))
    job(a, car1, "brakes", 10, labour=(zhao,), parts=(pad,))
    # Car 2: an engine job by Li that does not come back; brakes by Wang back after 45 days,
    # later than the 30 that make a repeat.
    job(a, car2, "engine", 2, labour=(li,), parts=(sensor,))
    job(a, car2, "brakes", 5, assigned=(wang,), parts=(("", "机油", None, 2),))
    job(a, car2, "brakes", 50)
    # Store B: Li (lent out) fits a sensor that comes back after 3 days; the job before the
    # period is not counted.
    job(b, car3, "brakes", 0, labour=(li,), parts=(sensor,))
    job(b, car3, "brakes", 3)
    job(a, car3, "tyres", -20, labour=(zhao,))

    def rates(rows):
        return {x["label"]: (x["jobs"], x["repeated"]) for x in rows}

    assert rates(attribution.by_technician(a.id, START, END, DAYS)) == {
        "李师傅": (2, 1),
        "王师傅": (2, 1),
        "赵师傅": (1, 0),
    }
    assert rates(attribution.by_part(a.id, START, END, DAYS)) == {
        "刹车片 · BP-1": (2, 1),
        "传感器 · X-1": (2, 1),
        "机油": (1, 0),
    }
    every_store = attribution.by_technician(None, START, END, DAYS)
    assert rates(every_store)["李师傅"] == (3, 2)
    assert [x["label"] for x in every_store][0] == "李师傅"  # the highest rate first
    assert every_store[0]["rate"] == 2 / 3
    parts = rates(attribution.by_part(None, START, END, DAYS))
    assert parts["传感器 · X-1"] == (3, 2) and parts["刹车片 · BP-1"] == (2, 1)
    assert {x["key"] for x in attribution.by_part(a.id, START, END, DAYS)} >= {(pads.id, "BP-1")}
    # A shorter window: nothing came back within 5 days in store A.
    assert all(x["repeated"] == 0 for x in attribution.by_technician(a.id, START, END, 5))


def test_the_analytics_page_shows_the_rates_with_their_sample_size(f, client, auth):
    a = f.store("A")
    owner = f.owner(a)
    car = f.vehicle(owner)
    li = f.technician(a, name="李师傅")
    now = datetime.now(UTC)
    record = job(a, car, "brakes", 0, labour=(li,))
    record.completed_at = now - timedelta(days=10)
    again = job(a, car, "brakes", 1)
    again.completed_at = now - timedelta(days=5)
    db.session.commit()
    auth.login(f.manager(a))
    page = client.get("/admin/booking_analytics/").get_data(as_text=True)
    assert 'id="chart-repeat-technicians"' in page and 'id="chart-repeat-parts"' in page
    assert "李师傅 (n=1)" in page and "100%" in page
