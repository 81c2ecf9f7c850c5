"""New-car orders: signed from an accepted quote with a deposit, then allocated (VIN),
invoiced and delivered. Delivery makes the car the customer's vehicle and wins the lead."""

from __future__ import annotations

import re
from datetime import date
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from crm import delivery
from crm import leads as lead_svc
from crm.models import DELIVERED, OPEN, ORDER, STAGES, LeadEvent
from crm.pipeline_models import (
    ACCEPTED,
    ALLOCATED,
    DELIVERED_ORDER,
    INVOICED,
    ORDER_STAGES,
    ORDERED,
    Quote,
    SalesOrder,
)
from portal.errors import Conflict, NotAllowed, ValidationError
from portal.extensions import db
from portal.i18n import in_language_of
from portal.models import User, Vehicle
from portal.services import brands
from portal.services.notify import notify
from portal.services.vehicles import add_vehicle
from portal.timeutil import now
from portal.validation import InvalidIdentifier, normalize_vin

ORDER_STAGE_LABELS = {
    ORDERED: _l("Ordered"),
    ALLOCATED: _l("Car allocated"),
    INVOICED: _l("Invoiced"),
    DELIVERED_ORDER: _l("Delivered"),
}
_INVOICE = re.compile(r"^[0-9A-Za-z-]{4,32}$")


def _require_worker(actor: User, order_or_quote) -> None:
    if not lead_svc.may_work(actor, order_or_quote.lead):
        raise NotAllowed(_("Only the lead's advisor or a manager may change it."))


def sign(actor: User, quote: Quote, deposit_fen: int, delivery_date: date | None) -> SalesOrder:
    """Turn an accepted quote into a signed order with the deposit paid (one order per lead)."""
    _require_worker(actor, quote)
    lead = quote.lead
    if quote.status != ACCEPTED or lead.state != OPEN:
        raise ValidationError(_("Only a quote the customer accepted becomes an order."))
    if not 0 < deposit_fen <= quote.total_fen:
        raise ValidationError(
            _("The deposit is above zero and at most the total."), field="deposit"
        )
    today = now().astimezone(ZoneInfo(lead.store.timezone)).date()
    if delivery_date is not None and delivery_date < today:
        raise ValidationError(_("The delivery date cannot be in the past."), field="delivery_date")
    at = now()
    order = SalesOrder(
        number=f"XS{today:%Y%m%d}{quote.id:06d}",
        lead_id=lead.id,
        quote_id=quote.id,
        store_id=lead.store_id,
        customer_id=lead.customer_id,
        advisor_id=lead.advisor_id,
        stage=ORDERED,
        total_fen=quote.total_fen,
        deposit_fen=deposit_fen,
        brand_id=brands.asked_brand(f"{quote.brand} {quote.series}", lead.store_id),
        delivery_date=delivery_date,
        signed_at=at,
        created_at=at,
    )
    try:
        with db.session.begin_nested():  # one order per lead, even when signed twice at once
            db.session.add(order)
    except IntegrityError as exc:
        raise Conflict(_("This lead already has an order.")) from exc
    if STAGES.index(lead.stage) < STAGES.index(ORDER):
        lead_svc.advance(actor, lead, ORDER)
    db.session.add(
        LeadEvent(lead_id=lead.id, kind="order_signed", actor_id=actor.id, note=order.number)
    )
    return order


def _move(order: SalesOrder, before: str, **values) -> None:
    """Move the order one stage on, only from the stage it is in (one step wins)."""
    done = db.session.execute(
        update(SalesOrder)
        .where(SalesOrder.id == order.id, SalesOrder.stage == before)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        raise Conflict(_("Someone moved this order first: reload."))
    db.session.refresh(order)


def allocate(actor: User, order: SalesOrder, vin: str) -> None:
    """Allocate a car to the order by its VIN (a VIN goes to one order and one owner)."""
    _require_worker(actor, order)
    _expect(order, ORDERED)
    try:
        vin = normalize_vin(vin)
    except InvalidIdentifier as exc:
        raise ValidationError(_(str(exc)), field="vin") from exc
    if db.session.scalar(select(Vehicle.id).where(Vehicle.vin == vin)):
        raise ValidationError(_("This VIN is already registered to an owner."), field="vin")
    try:
        with db.session.begin_nested():
            _move(order, ORDERED, stage=ALLOCATED, vin=vin, allocated_at=now())
    except IntegrityError as exc:
        raise ValidationError(_("This VIN is allocated to another order."), field="vin") from exc
    _log(actor, order, "order_allocated", vin)


def invoice(actor: User, order: SalesOrder, invoice_no: str) -> None:
    """Record the vehicle invoice (机动车销售统一发票) number."""
    _require_worker(actor, order)
    _expect(order, ALLOCATED)
    number = (invoice_no or "").strip()
    if not _INVOICE.match(number):
        raise ValidationError(
            _("An invoice number has 4 to 32 letters, digits or dashes."), field="invoice_no"
        )
    _move(order, ALLOCATED, stage=INVOICED, invoice_no=number, invoiced_at=now())
    _log(actor, order, "order_invoiced", number)


def deliver(actor: User, order: SalesOrder, plate: str) -> Vehicle:
    """Hand the car over, its checklist complete: it becomes the customer's vehicle, and the
    lead is won."""
    _require_worker(actor, order)
    _expect(order, INVOICED)
    delivery.require_complete(order)
    customer, quote, lead = order.customer, order.quote, order.lead
    today = now().astimezone(ZoneInfo(lead.store.timezone)).date()
    vehicle = add_vehicle(
        customer,
        vin=order.vin or "",
        plate=plate,
        brand=quote.brand,
        series=quote.series,
        model_year=today.year,
        purchase_date=today,
    )
    _move(order, INVOICED, stage=DELIVERED_ORDER, vehicle_id=vehicle.id, delivered_at=now())
    if customer.store_id is None:
        customer.store_id = order.store_id
    if customer.advisor_id is None:
        customer.advisor_id = order.advisor_id
    if lead.state == OPEN and lead.stage != DELIVERED:
        lead_svc.advance(actor, lead, DELIVERED)
    _log(actor, order, "order_delivered", vehicle.plate)
    with in_language_of(customer):
        text = _(
            "Congratulations on your new %(car)s! It is in your portal now.", car=vehicle.label
        )
    notify(customer, text, link=f"/vehicles/{vehicle.id}", kind="booking")
    return vehicle


def _expect(order: SalesOrder, stage: str) -> None:
    if order.stage != stage:
        raise ValidationError(_("This step does not follow the order's current stage."))


def _log(actor: User, order: SalesOrder, kind: str, note: str) -> None:
    db.session.add(LeadEvent(lead_id=order.lead_id, kind=kind, actor_id=actor.id, note=note))


def order_of(lead_id: int) -> SalesOrder | None:
    """Return the lead's order, if it has one."""
    return db.session.scalar(select(SalesOrder).where(SalesOrder.lead_id == lead_id))


def next_stage(order: SalesOrder) -> str | None:
    """Return the stage after the order's current one (None once delivered)."""
    i = ORDER_STAGES.index(order.stage)
    return ORDER_STAGES[i + 1] if i + 1 < len(ORDER_STAGES) else None
