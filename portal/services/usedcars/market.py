"""Search the listed cars; tell a seller that a buyer asked about their car."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.errors import NotFound
from portal.extensions import db
from portal.models import UsedCarRequest
from portal.models.usedcars import LISTED
from portal.services.usedcars.workflow import PAGE_SIZE, _notify


def search_listed(
    *,
    brand: str | None = None,
    price_min_fen: int | None = None,
    price_max_fen: int | None = None,
    year_min: int | None = None,
    year_max: int | None = None,
    km_max: int | None = None,
    page: int = 1,
) -> tuple[list[UsedCarRequest], int]:
    """Return one page of listed cars matching the filters, and the total count."""
    conds = [UsedCarRequest.status == LISTED]
    if brand:
        conds.append(UsedCarRequest.brand == brand)
    if price_min_fen is not None:
        conds.append(UsedCarRequest.asking_price_fen >= price_min_fen)
    if price_max_fen is not None:
        conds.append(UsedCarRequest.asking_price_fen <= price_max_fen)
    if year_min is not None:
        conds.append(UsedCarRequest.model_year >= year_min)
    if year_max is not None:
        conds.append(UsedCarRequest.model_year <= year_max)
    if km_max is not None:
        conds.append(UsedCarRequest.mileage_km <= km_max)
    total = db.session.scalar(select(func.count(UsedCarRequest.id)).where(*conds))
    rows = db.session.scalars(
        select(UsedCarRequest)
        .where(*conds)
        .order_by(UsedCarRequest.listed_at.desc(), UsedCarRequest.id.desc())
        .limit(PAGE_SIZE)
        .offset((max(page, 1) - 1) * PAGE_SIZE)
    ).all()
    return list(rows), total


def listed_brands() -> list[str]:
    """Return the brands that have a listed car, for the filter."""
    stmt = select(UsedCarRequest.brand).where(UsedCarRequest.status == LISTED).distinct()
    return sorted(db.session.scalars(stmt))


def tell_seller_of_inquiry(req: UsedCarRequest) -> None:
    """Record on the car's page that a buyer asked about it, and tell the seller.

    The inquiry itself is a lead of the CRM (crm.used_car_leads): it is deduplicated against
    the customer record and routed by the store's rules like every other lead."""
    if req.status != LISTED:
        raise NotFound(_("This car is not for sale."))
    _notify(req, "lead")
