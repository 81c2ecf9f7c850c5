"""Read endpoints: customers and vehicles, service records, bookings, products, cameras."""

from __future__ import annotations

from flask import g
from flask_babel import gettext as _
from spectree import Response
from sqlalchemy import select
from sqlalchemy.orm import selectinload, undefer

from api import schemas
from api.paging import PageQuery, page
from api.problems import Problem
from api.spec import spec
from api.views import bp, needs, shown_phone
from portal import access
from portal.errors import NotFound
from portal.extensions import db
from portal.models import Booking, ServiceRecord, User, Vehicle
from portal.models.accounts import OWNER
from shop.models import Product
from workshop_video.models import Camera

ERRORS = {f"HTTP_{code}": Problem for code in (400, 401, 403, 429)}


def _answers(model, *, one: bool = False) -> Response:
    codes = {**ERRORS, "HTTP_200": model}
    if one:
        codes["HTTP_404"] = Problem
    return Response("HTTP_304", **codes)


def customer_answer(user: User) -> schemas.Customer:
    phone = shown_phone(user)
    vehicles = [schemas.Vehicle.model_validate(v) for v in user.vehicles]
    return schemas.Customer(
        id=user.id,
        name=user.name,
        phone=phone,
        store_id=user.store_id,
        advisor_id=user.advisor_id,
        created_at=user.created_at,
        vehicles=vehicles,
    )


def _customers():
    stmt = select(User).where(User.role == OWNER).options(selectinload(User.vehicles))
    return access.store_scope(stmt, User.store_id, g.api_actor)


@bp.get("/customers")
@needs("customers:read")
@spec.validate(query=PageQuery, resp=_answers(schemas.CustomerPage), tags=["customers"])
def customer_list(query: PageQuery):
    """List the customers (car owners) of the token's stores, newest first."""
    rows, cursor = page(_customers(), User.id, "customers", query)
    return schemas.CustomerPage(items=[customer_answer(u) for u in rows], next_cursor=cursor)


@bp.get("/customers/<int:customer_id>")
@needs("customers:read")
@spec.validate(resp=_answers(schemas.Customer, one=True), tags=["customers"])
def customer_show(customer_id: int):
    """Show one customer with their vehicles."""
    user = db.session.scalar(_customers().where(User.id == customer_id))
    if user is None:
        raise NotFound(_("Customer not found."))
    return customer_answer(user)


@bp.get("/vehicles")
@needs("customers:read")
@spec.validate(query=PageQuery, resp=_answers(schemas.VehiclePage), tags=["customers"])
def vehicle_list(query: PageQuery):
    """List the vehicles of the token's stores' customers, newest first."""
    stmt = select(Vehicle).join(User, User.id == Vehicle.owner_id)
    stmt = access.store_scope(stmt, User.store_id, g.api_actor)
    rows, cursor = page(stmt, Vehicle.id, "vehicles", query)
    return schemas.VehiclePage(
        items=[schemas.Vehicle.model_validate(v) for v in rows], next_cursor=cursor
    )


@bp.get("/service-records")
@needs("service_records:read")
@spec.validate(query=PageQuery, resp=_answers(schemas.ServiceRecordPage), tags=["service"])
def service_record_list(query: PageQuery):
    """List the service records (work done) of the token's stores, newest first."""
    stmt = select(ServiceRecord).options(selectinload(ServiceRecord.items))
    stmt = access.store_scope(stmt, ServiceRecord.store_id, g.api_actor)
    rows, cursor = page(stmt, ServiceRecord.id, "service-records", query)
    return schemas.ServiceRecordPage(
        items=[schemas.ServiceRecord.model_validate(r) for r in rows], next_cursor=cursor
    )


def _bookings():
    return access.store_scope(select(Booking), Booking.store_id, g.api_actor)


@bp.get("/bookings")
@needs("bookings:read")
@spec.validate(query=PageQuery, resp=_answers(schemas.BookingPage), tags=["bookings"])
def booking_list(query: PageQuery):
    """List the bookings of the token's stores, newest first."""
    rows, cursor = page(_bookings(), Booking.id, "bookings", query)
    return schemas.BookingPage(
        items=[schemas.Booking.model_validate(b) for b in rows], next_cursor=cursor
    )


@bp.get("/bookings/<int:booking_id>")
@needs("bookings:read")
@spec.validate(resp=_answers(schemas.Booking, one=True), tags=["bookings"])
def booking_show(booking_id: int):
    """Show one booking."""
    booking = access.store_record(g.api_actor, Booking, booking_id, _("Booking not found."))
    return schemas.Booking.model_validate(booking)


@bp.get("/products")
@needs("shop:read")
@spec.validate(query=PageQuery, resp=_answers(schemas.ProductPage), tags=["shop"])
def product_list(query: PageQuery):
    """List the shop's products (one catalog for the group) with the group's total stock,
    newest first."""
    rows, cursor = page(select(Product).options(undefer(Product.stock)), Product.id, "products",
                        query)  # fmt: skip
    return schemas.ProductPage(
        items=[schemas.Product.model_validate(p) for p in rows], next_cursor=cursor
    )


@bp.get("/cameras")
@needs("cameras:read")
@spec.validate(query=PageQuery, resp=_answers(schemas.CameraPage), tags=["cameras"])
def camera_list(query: PageQuery):
    """List the workshop cameras of the token's stores and their state (no stream address)."""
    stmt = access.store_scope(select(Camera), Camera.store_id, g.api_actor)
    rows, cursor = page(stmt, Camera.id, "cameras", query)
    return schemas.CameraPage(
        items=[schemas.Camera.model_validate(c) for c in rows], next_cursor=cursor
    )
