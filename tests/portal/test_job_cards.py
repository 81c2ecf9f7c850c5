"""Technicians and job cards: assignment within the store, lines that become the service record,
and the technician's own jobs (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from portal.errors import NotFound, ValidationError
from portal.models import Booking, BookingTechnician, JobLabourLine, ServiceItem
from portal.services import bookings as svc
from portal.services.bookings import job_card
from shop.models import Category, Product
from tests.factories import slot


@pytest.fixture
def shop(f):
    store = f.store(bays=3)
    advisor = f.advisor(store)
    owner = f.owner(store)
    vehicle = f.vehicle(owner)
    return store, advisor, owner, vehicle


@pytest.fixture
def pads(db):
    product = Product(
        sku="BP-CAMRY-F", name="前刹车片", category=Category(name="刹车"), price_fen=38000
    )
    db.session.add(product)
    db.session.commit()
    return product


def _in_progress(shop, db):
    store, advisor, owner, vehicle = shop
    b = svc.book_repair(owner, vehicle, store, slot(store), ["repair"])
    svc.accept(advisor, b)
    svc.check_in(advisor, b, vehicle.current_km + 100)
    svc.start_work(advisor, b)
    db.session.commit()
    return b


def test_the_job_card_becomes_the_service_record(shop, db, f, pads, smtp):
    store, advisor, _owner, _vehicle = shop
    li, zhao = f.technician(store, name="李师傅"), f.technician(store, name="赵师傅")
    b = _in_progress(shop, db)
    job_card.assign(advisor, b, li.id)
    job_card.assign(advisor, b, zhao.id)
    job_card.add_labour(
        advisor, b, operation="更换前刹车片", hours_tenths=15, rate_fen=12000, technician_id=li.id
    )
    job_card.add_labour(
        advisor, b, operation="制动液检查", hours_tenths=3, rate_fen=12345, technician_id=zhao.id
    )
    job_card.add_part(
        advisor,
        b,
        part_no="bp-camry-f",
        description="前刹车片",
        quantity=2,
        unit_price_fen=38000,
        product_id=pads.id,
    )
    job_card.add_part(
        advisor, b, part_no="x-99", description="刹车油", quantity=1, unit_price_fen=6000
    )
    db.session.commit()

    # The completion form's rows are not used when the job has a card.
    other = [{"kind": "labour", "description": "不用", "quantity": 1, "unit_price_fen": 1}]
    record = svc.complete(advisor, b, other, fault_category="brakes")
    db.session.commit()

    items = db.session.scalars(
        select(ServiceItem).where(ServiceItem.record_id == record.id).order_by(ServiceItem.id)
    ).all()
    rows = [
        (i.kind, i.description, i.part_no, i.quantity, i.unit_price_fen, i.technician_id)
        + (i.product_id,)
        for i in items
    ]
    assert rows == [
        ("labour", "更换前刹车片 (1.5 h)", "", 1, 18000, li.id, None),
        # 0.3 h x 123.45 yuan = 37.035 yuan: rounded half up to the fen
        ("labour", "制动液检查 (0.3 h)", "", 1, 3704, zhao.id, None),
        ("part", "前刹车片", "BP-CAMRY-F", 2, 38000, None, pads.id),
        ("part", "刹车油", "X-99", 1, 6000, None, None),
    ]
    assert record.total_fen == 18000 + 3704 + 76000 + 6000
    with pytest.raises(ValidationError):  # a completed job's card is closed
        job_card.add_part(advisor, b, part_no="", description="x", quantity=1, unit_price_fen=1)


def test_without_a_job_card_the_completion_form_still_makes_the_record(shop, db, smtp):
    _store, advisor, _owner, _vehicle = shop
    b = _in_progress(shop, db)
    items = [{"kind": "part", "description": "机油滤芯", "quantity": 1, "unit_price_fen": 4500}]
    record = svc.complete(advisor, b, items, fault_category="maintenance")
    db.session.commit()
    assert [(i.description, i.technician_id, i.product_id) for i in record.items] == [
        ("机油滤芯", None, None)
    ]
    assert record.total_fen == 4500


def test_only_technicians_of_the_bookings_store_are_assigned(shop, db, f):
    store, advisor, _owner, _vehicle = shop
    b = _in_progress(shop, db)
    mine, elsewhere = f.technician(store), f.technician(f.store())
    for wrong in (elsewhere.id, advisor.id, 999_999, None):
        with pytest.raises(ValidationError):
            job_card.assign(advisor, b, wrong)
    with pytest.raises(NotFound):  # staff of another store do not see the booking
        job_card.assign(f.advisor(f.store()), b, mine.id)
    with pytest.raises(ValidationError):  # nor name a technician of another store on a line
        job_card.add_labour(
            advisor, b, operation="x", hours_tenths=10, rate_fen=100, technician_id=elsewhere.id
        )
    job_card.assign(advisor, b, mine.id)
    job_card.assign(advisor, b, mine.id)  # twice is once
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(BookingTechnician)) == 1
    job_card.unassign(advisor, b, mine.id)
    db.session.commit()
    assert b.technicians == []


def test_hours_are_read_in_tenths_and_nonsense_is_refused():
    assert job_card.parse_hours("1.5") == 15
    assert job_card.parse_hours(" 2 ") == 20
    assert job_card.parse_hours("0，5") == 5
    for bad in ("", "abc", "0", "1.25", "-1", "100", "1e3"):
        with pytest.raises(ValidationError):
            job_card.parse_hours(bad)


def test_two_advisors_assigning_the_same_technician_at_once_make_one_row(app, db, f, shop):
    store, _advisor, _owner, _vehicle = shop
    b = _in_progress(shop, db)
    tech = f.technician(store)
    advisors = [f.advisor(store).id for _ in range(6)]
    booking_id, tech_id = b.id, tech.id
    db.session.commit()
    barrier = threading.Barrier(len(advisors))
    results: list = []

    def run(i):
        with app.test_request_context(method="POST"):
            from portal.extensions import db as tdb
            from portal.models import User

            barrier.wait(timeout=30)
            try:
                me = tdb.session.get(User, advisors[i])
                bk = tdb.session.get(Booking, booking_id)
                job_card.assign(me, bk, tech_id)
                tdb.session.commit()
                results.append("ok")
            except Exception as exc:  # noqa: BLE001 - the test reports whatever went wrong
                tdb.session.rollback()
                results.append(exc)
            finally:
                tdb.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(advisors))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["ok"] * len(advisors)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(BookingTechnician)) == 1


def test_the_card_page_adds_lines_matches_the_shop_and_refuses_bad_input(
    shop, db, f, client, auth, pads
):
    store, advisor, _owner, _vehicle = shop
    tech = f.technician(store, name="钱师傅")
    b = _in_progress(shop, db)
    auth.login(advisor)
    url = f"/admin/workshop/{b.id}/card"
    assert client.post(url, data={"action": "assign", "technician": tech.id}).status_code == 303
    bad = client.post(
        url,
        data={"action": "labour", "operation": "换片", "hours": "abc", "rate": "100"}
        | {"technician": tech.id},
        follow_redirects=True,
    )
    assert bad.status_code == 200 and db.session.scalar(select(func.count(JobLabourLine.id))) == 0
    client.post(
        url,
        data={"action": "labour", "operation": "换片", "hours": "1.5", "rate": "120"}
        | {"technician": tech.id},
    )
    # The part number is found in the shop: its name and price fill in.
    client.post(url, data={"action": "part", "part_no": " bp-camry-f ", "quantity": "2"})
    db.session.expire_all()
    part = b.part_lines[0]
    assert (part.product_id, part.description, part.unit_price_fen) == (pads.id, "前刹车片", 38000)
    assert [(x.hours_tenths, x.rate_fen, x.technician_id) for x in b.labour_lines] == [
        (15, 12000, tech.id)
    ]
    page = client.get(url).get_data(as_text=True)
    assert "钱师傅" in page and "¥940.00" in page.replace(",", "")
    assert client.post(url, data={"action": "nonsense"}).status_code == 400


def test_a_technician_sees_their_own_jobs_only(shop, db, f, client, auth):
    store, advisor, owner, _vehicle = shop
    me, colleague = f.technician(store), f.technician(store)
    mine = _in_progress(shop, db)
    theirs = svc.book_repair(owner, f.vehicle(owner), store, slot(store, 1, 14), ["repair"])
    svc.accept(advisor, theirs)
    job_card.assign(advisor, mine, me.id)
    job_card.assign(advisor, theirs, colleague.id)
    db.session.commit()
    response = auth.login(me)
    assert response.headers["Location"].endswith("/admin/my_jobs/")
    page = client.get("/admin/my_jobs/").get_data(as_text=True)
    assert f'id="my-job-{mine.id}"' in page and f'id="my-job-{theirs.id}"' not in page
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/workshop/").status_code == 403
    assert client.get(f"/admin/workshop/{mine.id}/card").status_code == 403


def test_a_manager_creates_a_technician_of_their_own_store_only(f, db):
    from portal.errors import NotAllowed
    from portal.services import accounts

    store, other = f.store(), f.store()
    manager = f.manager(store)
    tech, _initial = accounts.create_staff(
        manager, name="孙师傅", role="technician", store=store, phone="13712340001", email=None
    )
    db.session.commit()
    assert (tech.role, tech.store_id, tech.is_staff) == ("technician", store.id, True)
    with pytest.raises(NotAllowed):
        accounts.create_staff(
            manager, name="周师傅", role="technician", store=other, phone="13712340002", email=None
        )
