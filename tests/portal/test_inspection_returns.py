"""Stock coming back to the shelf (a refund's goods, a hold that expired or was released, a
missed pickup, a job's reservation given back) fills approved job lines waiting on order for
the part, as a delivery does: oldest first, each once, the ledger explaining the stock, the
advisor and the owner told; a refund racing a new approval loses no unit and no line."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from portal.models import Inspection, InspectionItem, Notification, User
from portal.services import inspections as svc
from portal.timeutil import now, to_local
from shop import cart as carts
from shop import orders, stock
from shop.models import Order, Product
from tests.portal.test_inspection_arrivals import fills_of, on_order_lines, states
from tests.portal.test_inspection_parts import inspection_with_part, product, stock_of


@pytest.fixture
def scene(f, db):
    store = f.store(bays=8)
    return store, f.advisor(store)


def shop_order(f, db, store, part, quantity=1, **kw) -> Order:
    """An owner's pickup order holding `quantity` units of the part."""
    buyer = f.owner(store)
    cart = carts.open_cart(buyer)
    carts.set_quantity(cart, part, quantity)
    order = orders.place_order(buyer, cart, delivery="pickup", store=store, **kw)
    db.session.commit()
    return order


def sold_out_with_a_waiting_line(f, db, store, advisor, **kw) -> tuple[Product, Order, int]:
    """The last unit held by a shop order, then a job line approved for it: on order."""
    part = product(db, left=1)
    order = shop_order(f, db, store, part, **kw)
    assert stock_of(db, part) == 0
    (line,) = on_order_lines(f, db, store, advisor, part, [1])
    return part, order, line


def _refund(advisor, order, clock):
    orders.mark_paid_at_store(advisor, order)
    orders.refund(advisor, order, order.total_fen, "changed their mind")


def _expire(advisor, order, clock):
    clock.advance(hours=2)
    assert orders.expire_holds() == 1


def _cancel(advisor, order, clock):
    orders.cancel(advisor, order)


def _payment_failed(advisor, order, clock):
    order.payment = "stripe"  # a card order (only those can fail); no Stripe call is made
    orders.payment_failed(order)


def _payment_cancelled(advisor, order, clock):
    orders.payment_canceled(order)


RETURNS = {
    "refund": _refund,
    "hold expired": _expire,
    "cancelled": _cancel,
    "payment failed": _payment_failed,
    "payment cancelled": _payment_cancelled,
}


@pytest.mark.parametrize("way", sorted(RETURNS))
def test_units_back_on_the_shelf_fill_the_waiting_line(scene, f, db, clock, way):
    store, advisor = scene
    part, order, line = sold_out_with_a_waiting_line(f, db, store, advisor)
    RETURNS[way](advisor, db.session.get(Order, order.id), clock)
    db.session.commit()
    assert states(db, [line]) == ["reserved"]
    assert stock_of(db, part) == 0 == stock.ledger_total(part.id)
    assert fills_of(db, line) == 1


def test_a_missed_pickup_fills_the_waiting_line(scene, f, db, clock):
    store, advisor = scene
    part, _order, line = sold_out_with_a_waiting_line(
        f, db, store, advisor, payment="store", pickup_on=to_local(now(), store.timezone).date()
    )
    clock.advance(days=2)
    assert orders.expire_pickups() == 1
    assert states(db, [line]) == ["reserved"]
    assert stock_of(db, part) == 0 == stock.ledger_total(part.id)


def test_the_refund_tells_the_advisor_and_the_owner(scene, f, db, clock):
    store, advisor = scene
    part, order, line = sold_out_with_a_waiting_line(f, db, store, advisor)
    booking = db.session.get(InspectionItem, line).inspection.booking
    last = db.session.scalar(select(Notification.id).order_by(Notification.id.desc()).limit(1))
    _refund(advisor, db.session.get(Order, order.id), clock)
    db.session.commit()
    told = db.session.scalars(select(Notification).where(Notification.id > (last or 0))).all()
    owner = db.session.get(User, booking.owner_id)
    assert {n.user_id for n in told} >= {owner.id, advisor.id}
    assert any(n.link == f"/admin/workshop/{booking.id}/card" for n in told)


def test_a_refund_of_goods_handed_over_returns_nothing_and_fills_nothing(scene, f, db):
    store, advisor = scene
    part, order, line = sold_out_with_a_waiting_line(f, db, store, advisor)
    order = db.session.get(Order, order.id)
    orders.mark_paid_at_store(advisor, order)
    orders.advance(advisor, order, "completed")
    orders.refund(advisor, order, order.total_fen, "goodwill")
    db.session.commit()
    assert states(db, [line]) == ["on_order"]
    assert stock_of(db, part) == 0 == stock.ledger_total(part.id)


def test_a_returned_order_fills_the_oldest_lines_and_shelves_the_rest(scene, f, db):
    store, advisor = scene
    part = product(db, left=3)
    order = shop_order(f, db, store, part, quantity=3)
    first, second = on_order_lines(f, db, store, advisor, part, [2, 2])
    orders.mark_paid_at_store(advisor, order)
    orders.refund(advisor, order, order.total_fen, "returned")
    db.session.commit()
    # Two units go to the first line; the one left cannot cover the second: it stays shelved.
    assert states(db, [first, second]) == ["reserved", "on_order"]
    assert stock_of(db, part) == 1 == stock.ledger_total(part.id)


def test_a_withdrawn_reservation_goes_to_the_next_waiting_line(scene, f, db):
    store, advisor = scene
    part = product(db, left=1)
    inspection = inspection_with_part(f, db, store, advisor, part)
    held = svc.decide(inspection, inspection.items[0].id, True)
    db.session.commit()
    assert held.part_state == "reserved"
    (waiting,) = on_order_lines(f, db, store, advisor, part, [1])
    booking = inspection.booking
    svc.withdraw(advisor, booking, booking.job_lines[0].id)
    db.session.commit()
    assert states(db, [held.id, waiting]) == ["released", "reserved"]
    assert stock_of(db, part) == 0 == stock.ledger_total(part.id)


def test_a_refund_racing_a_new_approval_loses_no_unit_and_no_line(app, scene, f, db):
    """Whichever commits first, the refunded unit ends on the new line (reserved either by
    the refund's fill or by the approval itself), never on the shelf beside a waiting line."""
    store, advisor = scene
    part = product(db, left=1)
    order = shop_order(f, db, store, part)
    orders.mark_paid_at_store(advisor, db.session.get(Order, order.id))
    db.session.commit()
    inspection = inspection_with_part(f, db, store, advisor, part)
    inspection_id, item_id = inspection.id, inspection.items[0].id
    advisor_id, order_id, part_id = advisor.id, order.id, part.id
    gate = threading.Barrier(2)
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

    def refund(tdb):
        staff = tdb.session.get(User, advisor_id)
        paid = tdb.session.get(Order, order_id)
        orders.refund(staff, paid, paid.total_fen, "returned")

    def approve(tdb):
        svc.decide(tdb.session.get(Inspection, inspection_id), item_id, True)

    threads = [threading.Thread(target=run, args=(job,)) for job in (refund, approve)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert states(db, [item_id]) == ["reserved"]
    assert stock_of(db, part) == 0 == stock.ledger_total(part_id)
    assert fills_of(db, item_id) == 1
    assert db.session.get(Order, order_id).status == "refunded"
