"""The delivery checklist of a new-car order (交车确认单): what a store checks and hands over
before the customer drives away. Items are ticked over the days before delivery by whoever
did them; the car cannot be delivered while a required item is open."""

from __future__ import annotations

from dataclasses import dataclass

from babel.lists import format_list
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from crm import leads as lead_svc
from crm.pipeline_models import DELIVERED_ORDER, DeliveryCheck, SalesOrder
from portal import transitions
from portal.errors import NotAllowed, ValidationError
from portal.extensions import db
from portal.models import User


@dataclass(frozen=True)
class Item:
    code: str
    label: object  # a lazy string: Chinese or English at render time
    required: bool = True


ITEMS: tuple[Item, ...] = (
    Item("pdi", _l("Pre-delivery inspection (PDI) passed")),
    Item("cleaned", _l("Car cleaned, protective film removed")),
    Item("documents", _l("Invoice, certificate of conformity and warranty manual handed over")),
    Item("insurance", _l("Insurance in force")),
    Item("plates", _l("Plates or temporary plates fitted")),
    Item("keys", _l("All keys handed over")),
    Item("walkthrough", _l("Features and controls explained")),
    Item("first_service", _l("First service explained"), required=False),
    Item("app", _l("Owner's app set up with the customer"), required=False),
    Item("photo", _l("Delivery photo taken"), required=False),
)
BY_CODE = {item.code: item for item in ITEMS}


def checks(order: SalesOrder) -> dict[str, DeliveryCheck]:
    """Return the order's ticked items by code."""
    rows = db.session.scalars(select(DeliveryCheck).where(DeliveryCheck.order_id == order.id))
    return {row.item: row for row in rows}


def _lock(order: SalesOrder) -> None:
    """Lock the order's row: a delivery and a change to its checklist happen one after the other."""
    db.session.execute(select(SalesOrder.id).where(SalesOrder.id == order.id).with_for_update())


def missing(order: SalesOrder) -> list[Item]:
    """Return the required items not ticked yet."""
    done = checks(order)
    return [item for item in ITEMS if item.required and item.code not in done]


def tick(actor: User, order: SalesOrder, code: str, done: bool) -> None:
    """Tick an item (or untick it) before the car is delivered; ticking twice keeps the first."""
    if not lead_svc.may_work(actor, order.lead):
        raise NotAllowed(_("Only the lead's advisor or a manager may change it."))
    if code not in BY_CODE:
        raise ValidationError(_("Choose an item of the checklist."), field="item")
    _lock(order)
    db.session.refresh(order)
    if order.stage == DELIVERED_ORDER:
        raise ValidationError(_("The car is delivered: its checklist is closed."))
    if done:
        transitions.insert_unique(DeliveryCheck(order_id=order.id, item=code, done_by_id=actor.id))
    else:
        db.session.execute(
            delete(DeliveryCheck).where(
                DeliveryCheck.order_id == order.id, DeliveryCheck.item == code
            )
        )


def require_complete(order: SalesOrder) -> None:
    """Refuse the delivery while a required item is open, naming them."""
    _lock(order)
    open_items = missing(order)
    if open_items:
        names = format_list([str(item.label) for item in open_items], locale=get_locale())
        raise ValidationError(_("Tick the delivery checklist first: %(items)s.", items=names))


def tick_all(actor: User, order: SalesOrder) -> None:
    """Tick every item (the demo data and tests that walk an order to delivery)."""
    for item in ITEMS:
        tick(actor, order, item.code, True)
