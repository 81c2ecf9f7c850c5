"""Leads and shop orders: read the store's leads and orders; capture a lead from a channel."""

from __future__ import annotations

from flask import g
from flask_babel import gettext as _
from spectree import Response
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from api import idempotency, schemas
from api.paging import page
from api.problems import Problem
from api.spec import spec
from api.views import bp, needs, shown_phone
from crm import leads as crm_leads
from crm.models import Lead
from portal import access
from portal.errors import NotFound
from portal.extensions import db
from portal.models import Store
from shop.models import Order

READ_ERRORS = {f"HTTP_{code}": Problem for code in (400, 401, 403, 422, 429)}
WRITE_ERRORS = {f"HTTP_{code}": Problem for code in (400, 401, 403, 404, 409, 415, 422, 429)}


def lead_answer(lead: Lead) -> schemas.Lead:
    """The lead as the API shows it; the phone whole only for a full_phones token."""
    phone = shown_phone(lead.customer)
    return schemas.Lead(
        id=lead.id,
        store_id=lead.store_id,
        customer_id=lead.customer_id,
        customer_name=lead.customer.name,
        phone=phone,
        advisor_id=lead.advisor_id,
        advisor_name=lead.advisor.name if lead.advisor is not None else None,
        source=lead.source,
        model_interest=lead.model_interest,
        campaign=lead.utm_campaign,
        timeframe=lead.timeframe,
        grade=lead.grade,
        stage=lead.stage,
        state=lead.state,
        created_at=lead.created_at,
        updated_at=lead.updated_at,
    )


def _leads():
    stmt = select(Lead).options(selectinload(Lead.customer), selectinload(Lead.advisor))
    return access.store_scope(stmt, Lead.store_id, g.api_actor)


@bp.get("/leads")
@needs("leads:read")
@spec.validate(
    query=schemas.LeadQuery,
    resp=Response("HTTP_304", HTTP_200=schemas.LeadPage, **READ_ERRORS),
    tags=["leads"],
)
def lead_list(query: schemas.LeadQuery):
    """List the new-car leads of the token's stores, newest first; filter by state, source
    and last change. Phones are masked unless the token was made with whole phone numbers."""
    stmt = _leads()
    if query.state is not None:
        stmt = stmt.where(Lead.state == query.state)
    if query.source is not None:
        stmt = stmt.where(Lead.source == query.source)
    if query.updated_since is not None:
        stmt = stmt.where(Lead.updated_at >= query.updated_since)
    rows, cursor = page(stmt, Lead.id, "leads", query)
    return schemas.LeadPage(items=[lead_answer(x) for x in rows], next_cursor=cursor)


@bp.get("/leads/<int:lead_id>")
@needs("leads:read")
@spec.validate(
    resp=Response("HTTP_304", HTTP_200=schemas.Lead, HTTP_404=Problem, **READ_ERRORS),
    tags=["leads"],
)
def lead_show(lead_id: int):
    """Show one lead with its routed advisor."""
    lead = db.session.scalar(_leads().where(Lead.id == lead_id))
    if lead is None:
        raise NotFound(_("Lead not found."))
    return lead_answer(lead)


@bp.post("/leads")
@needs("leads:write")
@spec.validate(
    json=schemas.LeadCreate,
    headers=schemas.IdempotencyHeaders,
    resp=Response(HTTP_201=schemas.LeadCaptured, HTTP_200=schemas.LeadCaptured, **WRITE_ERRORS),
    tags=["leads"],
)
def lead_create(json: schemas.LeadCreate, headers: schemas.IdempotencyHeaders):
    """Capture an inquiry from an external channel as the store's web form does: one customer
    per phone, one open lead per customer and store (201 new, 200 the open lead updated),
    routed to an advisor with a first-contact task."""

    def work():
        access.require_store(g.api_actor, json.store_id, _("Store not found."))
        store = db.session.get(Store, json.store_id)
        if store is None:
            raise NotFound(_("Store not found."))
        inquiry = crm_leads.Inquiry(
            name=json.name.strip(),
            phone=json.phone,
            store=store,
            source=json.source,
            model_interest=json.model_interest,
            timeframe=json.timeframe,
            wants_test_drive=json.wants_test_drive,
            note=json.note,
            utm_campaign=json.campaign,
        )
        captured = crm_leads.capture(inquiry)
        db.session.flush()  # the lead's columns are all set in Python: nothing to read back
        shown = lead_answer(captured.lead)
        body = schemas.LeadCaptured(**shown.model_dump(), created=captured.created)
        return body.model_dump(mode="json"), 201 if captured.created else 200

    return idempotency.once(g.api_token, headers.idempotency_key, work)


def _orders():
    stmt = select(Order).options(selectinload(Order.lines))
    return access.store_scope(stmt, Order.store_id, g.api_actor)


@bp.get("/shop/orders")
@needs("orders:read")
@spec.validate(
    query=schemas.OrderQuery,
    resp=Response("HTTP_304", HTTP_200=schemas.OrderPage, **READ_ERRORS),
    tags=["shop"],
)
def order_list(query: schemas.OrderQuery):
    """List the shop orders of the token's stores, newest first, with lines and totals in fen."""
    stmt = _orders()
    if query.status is not None:
        stmt = stmt.where(Order.status == query.status)
    rows, cursor = page(stmt, Order.id, "orders", query)
    return schemas.OrderPage(
        items=[schemas.Order.model_validate(o) for o in rows], next_cursor=cursor
    )


@bp.get("/shop/orders/<int:order_id>")
@needs("orders:read")
@spec.validate(
    resp=Response("HTTP_304", HTTP_200=schemas.Order, HTTP_404=Problem, **READ_ERRORS),
    tags=["shop"],
)
def order_show(order_id: int):
    """Show one shop order: status, totals in fen and its lines."""
    order = db.session.scalar(_orders().where(Order.id == order_id))
    if order is None:
        raise NotFound(_("Order not found."))
    return schemas.Order.model_validate(order)
