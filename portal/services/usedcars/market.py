"""Search the listed cars and hand a buyer's lead to the store's next advisor."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.errors import NotFound, ValidationError
from portal.extensions import db
from portal.models import (
    Store,
    UsedCarLead,
    UsedCarRequest,
    User,
)
from portal.models.accounts import ADVISOR
from portal.models.usedcars import (
    LISTED,
)
from portal.services.usedcars.workflow import (
    PAGE_SIZE,
    _notify,
)
from portal.timeutil import now


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


def next_lead_advisor(store_id: int) -> User | None:
    """Return the store's active advisor who got a lead least recently (round robin)."""
    # Serialise assignments per store (row lock on PostgreSQL; BEGIN IMMEDIATE on SQLite).
    db.session.execute(select(Store.id).where(Store.id == store_id).with_for_update())
    last = (
        select(UsedCarLead.advisor_id, func.max(UsedCarLead.id).label("last_id"))
        .where(UsedCarLead.store_id == store_id)
        .group_by(UsedCarLead.advisor_id)
        .subquery()
    )
    return db.session.scalar(
        select(User)
        .outerjoin(last, last.c.advisor_id == User.id)
        .where(User.role == ADVISOR, User.store_id == store_id, User.is_active.is_(True))
        .order_by(func.coalesce(last.c.last_id, 0), User.id)
        .limit(1)
    )


def add_lead(
    req: UsedCarRequest, *, name: str, phone: str | None, message: str, ip: str = ""
) -> UsedCarLead:
    """Record a buyer's inquiry about a listed car and assign it to an advisor."""
    if req.status != LISTED:
        raise NotFound(_("This car is not for sale."))
    if not (name or "").strip():
        raise ValidationError(_("Give your name."), field="name")
    if not phone:
        raise ValidationError(_("Enter an 11-digit mainland mobile number."), field="phone")
    advisor = next_lead_advisor(req.store_id)
    lead = UsedCarLead(
        request_id=req.id,
        store_id=req.store_id,
        advisor_id=advisor.id if advisor else None,
        name=name.strip()[:80],
        phone=phone,
        message=(message or "").strip()[:2000],
        ip=(ip or "")[:64],
        created_at=now(),
    )
    db.session.add(lead)
    db.session.flush()
    _notify(req, "lead")
    return lead
