"""A buyer's inquiry about a listed used car: a lead of the CRM like every other one.

It is deduplicated against the customer record (one customer, one active lead per store),
routed by the store's rules to a named advisor with a first-contact task, and masked for
colleagues; the lead remembers the car, and the seller is told that someone asked."""

from __future__ import annotations

from flask_babel import gettext as _

from crm.leads import Captured, Inquiry, capture
from crm.models import USED_CAR
from portal.errors import ValidationError
from portal.extensions import db
from portal.models import Store, UsedCarRequest
from portal.services import usedcars as usedcar_svc


def inquire(
    req: UsedCarRequest, *, name: str, phone: str, message: str = "", language: str = ""
) -> Captured:
    """Record a buyer's inquiry about a listed car as a lead of the car's store."""
    if not (name or "").strip():
        raise ValidationError(_("Give your name."), field="name")
    if not phone:
        raise ValidationError(_("Enter an 11-digit mainland mobile number."), field="phone")
    usedcar_svc.tell_seller_of_inquiry(req)  # refuses a car that is not for sale
    store = db.session.get(Store, req.store_id)
    captured = capture(
        Inquiry(
            name=name.strip()[:80],
            phone=phone,
            store=store,
            source=USED_CAR,
            model_interest=car_label(req),
            note=(message or "").strip()[:2000],
            language=language,
        )
    )
    if captured.lead.used_car_id is None:
        captured.lead.used_car_id = req.id  # a repeat inquiry about another car keeps the first
    return captured


def car_label(req: UsedCarRequest) -> str:
    """What the buyer asked about, as the lead's model of interest."""
    return f"{req.label} · #{req.id}"[:80]
