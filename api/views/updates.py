"""Update endpoints: a customer's contact details, a lead's step along the pipeline and a
product's stock, each through the service the back office uses (and so under its rules)."""

from __future__ import annotations

from flask import g
from flask_babel import gettext as _
from spectree import Response
from sqlalchemy import select

from api import idempotency, schemas
from api.problems import Problem
from api.spec import spec
from api.views import bp, needs
from api.views.leads import lead_answer
from api.views.reads import customer_answer
from crm import contacts
from crm import leads as crm_leads
from crm.models import Lead
from portal import access
from portal.errors import NotFound, ValidationError
from portal.extensions import db
from portal.models import Store, User
from portal.models.accounts import OWNER
from shop import stock
from shop.models import Product, StoreStock

ERRORS = {f"HTTP_{code}": Problem for code in (400, 401, 403, 404, 409, 415, 422, 429)}


@bp.patch("/customers/<int:customer_id>")
@needs("customers:write")
@spec.validate(
    json=schemas.CustomerUpdate,
    resp=Response(**ERRORS, HTTP_200=schemas.Customer),
    tags=["customers"],
)
def customer_update(customer_id: int, json: schemas.CustomerUpdate):
    """Change a customer's name, email or phone as staff would (a phone that another customer
    record holds is refused with 409: merge the records instead); a repeat changes nothing."""
    customer = access.store_record(g.api_actor, User, customer_id, _("Customer not found."))
    if customer.role != OWNER:
        raise NotFound(_("Customer not found."))
    change = contacts.ContactChange(name=json.name, email=json.email, phone=json.phone)
    contacts.update_contact(g.api_actor, customer, change)
    db.session.commit()
    return customer_answer(customer)


@bp.post("/leads/<int:lead_id>/stage")
@needs("leads:write")
@spec.validate(
    json=schemas.LeadStageMove,
    headers=schemas.IdempotencyHeaders,
    resp=Response(**ERRORS, HTTP_200=schemas.Lead),
    tags=["leads"],
)
def lead_stage(lead_id: int, json: schemas.LeadStageMove, headers: schemas.IdempotencyHeaders):
    """Move a lead to a later stage, or ask to close it as lost with a reason (it then waits
    for a manager's approval in the back office, as a request from the lead's page does)."""

    def work():
        lead = access.store_record(g.api_actor, Lead, lead_id, _("Lead not found."))
        if json.stage == "lost":
            crm_leads.request_lost(g.api_actor, lead, json.lost_reason or "", json.note)
        else:
            crm_leads.advance(g.api_actor, lead, json.stage, json.note)
        db.session.flush()
        db.session.refresh(lead)
        return lead_answer(lead).model_dump(mode="json"), 200

    return idempotency.once(g.api_token, headers.idempotency_key, work)


@bp.post("/products/<int:product_id>/stock")
@needs("shop:write")
@spec.validate(
    json=schemas.StockChange,
    headers=schemas.IdempotencyHeaders,
    resp=Response(**ERRORS, HTTP_200=schemas.StoreStock),
    tags=["shop"],
)
def product_stock(product_id: int, json: schemas.StockChange, headers: schemas.IdempotencyHeaders):
    """Adjust a store's stock of a product by a delta, or set it from a count of its shelf (less
    the units its open orders hold); never below zero, with the reason in the stock ledger."""

    def work():
        product = db.session.get(Product, product_id)
        if product is None:
            raise NotFound(_("Product not found."))
        store_id = access.acting_store(g.api_actor, json.store_id)
        if store_id is None:
            raise ValidationError(_("Name the store whose stock changed."), field="store_id")
        if json.store_id is not None and json.store_id != store_id:
            raise NotFound(_("Store not found."))
        if db.session.get(Store, store_id) is None:
            raise NotFound(_("Store not found."))
        if json.count is not None:
            stock.count(g.api_actor, store_id, product, json.count, json.reason)
        else:
            stock.adjust(g.api_actor, store_id, product, json.delta, json.reason)
        row = db.session.scalar(
            select(StoreStock).where(
                StoreStock.store_id == store_id, StoreStock.product_id == product.id
            )
        )
        return schemas.StoreStock.model_validate(row).model_dump(mode="json"), 200

    return idempotency.once(g.api_token, headers.idempotency_key, work)
