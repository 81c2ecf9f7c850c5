"""Stock arriving for approved inspection lines on order: the oldest waiting lines are reserved
first, each once, never below zero, with the ledger explaining the stock; the advisor and the
owner are told through the outbox; arrivals racing approvals lose no unit and no line."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from portal.models import Inspection, InspectionItem, Notification, OutboxMessage, User
from portal.services import inspections as svc
from shop import stock
from shop.models import Product, StockMove
from tests.portal.test_inspection_parts import inspection_with_part, product, stock_of


@pytest.fixture
def scene(f, db):
    store = f.store(bays=8)  # room for every test's bookings in the factory's one slot
    manager = f.manager(store)
    return store, f.advisor(store), manager


def on_order_lines(f, db, store, advisor, part, quantities):
    """One approved pads line per quantity, each found short of stock: on order, in order."""
    item_ids = []
    for quantity in quantities:
        inspection = inspection_with_part(f, db, store, advisor, part, quantity=quantity)
        item = svc.decide(inspection, inspection.items[0].id, True)
        db.session.commit()
        assert item.part_state == "on_order"
        item_ids.append(item.id)
    return item_ids


def states(db, item_ids):
    db.session.rollback()
    db.session.expire_all()
    return [db.session.get(InspectionItem, i).part_state for i in item_ids]


def fills_of(db, item_id) -> int:
    """How many ledger rows took units for this line."""
    return db.session.scalar(
        select(func.count(StockMove.id)).where(
            StockMove.reason == "workshop", StockMove.note.like(f"% inspection item #{item_id}%")
        )
    )


def test_received_stock_fills_the_oldest_waiting_lines_first(scene, f, db):
    store, advisor, manager = scene
    part = product(db, left=0)
    first, second, third = on_order_lines(f, db, store, advisor, part, [1, 2, 1])
    stock.adjust(manager, store.id, part, 2, "delivery from the supplier")
    db.session.commit()
    # The first line takes one; the second needs two, one is left: the round stops there so
    # the third (newer, smaller) line does not overtake it.
    assert states(db, [first, second, third]) == ["reserved", "on_order", "on_order"]
    assert stock_of(db, part) == 1 == stock.ledger_total(part.id)
    stock.adjust(manager, store.id, part, 2, "second delivery")
    db.session.commit()
    assert states(db, [first, second, third]) == ["reserved", "reserved", "reserved"]
    assert stock_of(db, part) == 0 == stock.ledger_total(part.id)
    stock.adjust(manager, store.id, part, 5, "third delivery")  # nothing waits any more
    db.session.commit()
    assert stock_of(db, part) == 5 == stock.ledger_total(part.id)
    assert [fills_of(db, i) for i in (first, second, third)] == [1, 1, 1]


def test_a_shelf_count_above_the_stock_fills_waiting_lines(scene, f, db):
    store, advisor, manager = scene
    part = product(db, left=0)
    (line,) = on_order_lines(f, db, store, advisor, part, [1])
    stock.count(manager, store.id, part, 3, "stock take")
    db.session.commit()
    assert states(db, [line]) == ["reserved"]
    assert stock_of(db, part) == 2 == stock.ledger_total(part.id)


def test_lines_of_closed_or_withdrawn_jobs_are_not_filled(scene, f, db):
    store, advisor, manager = scene
    part = product(db, left=0)
    withdrawn, kept = on_order_lines(f, db, store, advisor, part, [1, 1])
    booking = db.session.get(InspectionItem, withdrawn).inspection.booking
    svc.withdraw(advisor, booking, booking.job_lines[0].id)
    db.session.commit()
    stock.adjust(manager, store.id, part, 1, "delivery")
    db.session.commit()
    assert states(db, [withdrawn, kept]) == ["released", "reserved"]
    assert stock_of(db, part) == 0 == stock.ledger_total(part.id)


def test_the_advisor_and_the_owner_are_told_in_their_language(scene, f, db):
    store, advisor, manager = scene
    part = product(db, left=0)
    (line,) = on_order_lines(f, db, store, advisor, part, [1])
    booking = db.session.get(InspectionItem, line).inspection.booking
    owner = db.session.get(User, booking.owner_id)
    owner.locale = "en"
    advisor.locale = "zh_Hans_CN"
    db.session.commit()
    last = db.session.scalar(select(func.max(Notification.id))) or 0
    stock.adjust(manager, store.id, part, 1, "delivery")
    db.session.commit()
    told = {
        n.user_id: n for n in db.session.scalars(select(Notification).where(Notification.id > last))
    }
    assert set(told) == {owner.id, advisor.id}
    assert told[owner.id].text == "The part for your Brake pads has arrived. Book a time with us."
    assert told[owner.id].link == "/bookings/new"
    assert "已到货" in told[advisor.id].text and f"#{booking.id}" in told[advisor.id].text
    assert told[advisor.id].link == f"/admin/workshop/{booking.id}/card"
    queued = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.user_id.in_([owner.id, advisor.id]))
    ).all()
    assert {m.user_id for m in queued if "arrived" in m.body or "到货" in m.body} == {
        owner.id,
        advisor.id,
    }


def test_arrivals_and_approvals_racing_lose_no_unit_and_fill_each_line_once(app, scene, f, db):
    store, advisor, manager = scene
    part = product(db, left=0)
    waiting = on_order_lines(f, db, store, advisor, part, [1, 1, 1])
    pending = []
    for _n in range(2):
        inspection = inspection_with_part(f, db, store, advisor, part)
        pending.append((inspection.id, inspection.items[0].id))
    manager_id, part_id = manager.id, part.id
    gate = threading.Barrier(4)
    errors: list = []

    def run(work):
        with app.test_request_context(method="POST"):
            from portal.extensions import db as tdb

            gate.wait()
            try:
                work(tdb)
                tdb.session.commit()
            except Exception as exc:  # noqa: BLE001  (the assert below reports it)
                tdb.session.rollback()
                errors.append(repr(exc))
            finally:
                tdb.session.remove()

    def arrive(units):
        def work(tdb):
            staff = tdb.session.get(User, manager_id)
            product = tdb.session.get(Product, part_id)
            stock.adjust(staff, staff.store_id, product, units, "delivery")

        return work

    def approve(inspection_id, item_id):
        def work(tdb):
            svc.decide(tdb.session.get(Inspection, inspection_id), item_id, True)

        return work

    jobs = [arrive(2), arrive(1), *(approve(i, item) for i, item in pending)]
    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    lines = waiting + [item for _i, item in pending]
    got = states(db, lines)
    left = stock_of(db, part)
    assert left >= 0 and left == stock.ledger_total(part.id)  # the ledger explains the stock
    assert got.count("reserved") + left == 3  # every unit received is on a line or the shelf
    assert set(got) <= {"reserved", "on_order"}
    assert got[:3] == ["reserved"] * 3  # the lines waiting before the race came first
    assert left == 0 or "on_order" not in got  # no unit on the shelf while a line waits
    assert [fills_of(db, i) for i in lines] == [int(s == "reserved") for s in got]
