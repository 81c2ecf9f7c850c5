"""Shared test data of service quality: a finished job of a store, its owner and advisor."""

from __future__ import annotations

from portal.extensions import db
from portal.services import bookings as svc
from tests import factories


def finished_job(store, advisor, owner=None):
    """Book, accept, check in, work and complete a job at the store; return the booking."""
    owner = owner or factories.owner(store)
    vehicle = factories.vehicle(owner)
    booking = svc.book_repair(owner, vehicle, store, factories.slot(store), ["repair"])
    svc.accept(advisor, booking, bay=1)
    svc.check_in(advisor, booking, vehicle.current_km + 100)
    svc.start_work(advisor, booking)
    svc.complete(
        advisor,
        booking,
        [{"kind": "labour", "description": "更换刹车片", "quantity": 1, "unit_price_fen": 20000}],
        fault_category="brakes",
    )
    db.session.commit()
    return booking


def delivered_order(store, advisor, phone="13812340000"):
    """Take a phone lead at the store to a delivered new car; return the sales order."""
    from crm import delivery, leads, orders, quotes
    from crm.models import PHONE

    lead = leads.capture(leads.Inquiry(name="冯女士", phone=phone, store=store, source=PHONE)).lead
    lead.advisor_id = advisor.id
    quote = quotes.make_quote(
        advisor,
        lead,
        quotes.Draft(brand="丰田", series="凯美瑞", vehicle_fen=199_800_00, insurance_fen=5_600_00),
    )
    quotes.accept(advisor, quote)
    order = orders.sign(advisor, quote, 20_000_00, None)
    orders.allocate(advisor, order, factories.vin())
    orders.invoice(advisor, order, f"FP-{order.id:08d}")
    delivery.tick_all(advisor, order)
    orders.deliver(advisor, order, factories.plate())
    db.session.commit()
    return order
