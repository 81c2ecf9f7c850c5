"""Quotes: priced lines in integer fen, totals computed here only, versions, and the manager's
approval of a discount above the store's limit (one decision wins)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from crm import leads as lead_svc
from crm.models import OPEN, QUOTE, STAGES, Lead, LeadEvent
from crm.pipeline_models import (
    ACCEPTED,
    APPROVED,
    AWAITING,
    DRAFT,
    REFUSED,
    SUPERSEDED,
    Quote,
    QuoteLine,
)
from crm.test_drives import settings_for
from portal import access
from portal.errors import Conflict, NotAllowed, ValidationError
from portal.extensions import db
from portal.models import User
from portal.money import MAX_FEN
from portal.services import audit, brands
from portal.timeutil import now
from shop.models import Product

VALID_DAYS = 7  # a quote holds for a week
MAX_QUANTITY = 20
FINANCE_TERMS = (12, 24, 36, 48, 60)  # months a car loan runs
LINE_LABELS = {
    "vehicle": _l("Vehicle"),
    "accessory": _l("Accessory"),
    "insurance": _l("Insurance (first year)"),
    "registration": _l("Registration and plates"),
    "discount": _l("Discount"),
}
QUOTE_STATE_LABELS = {
    DRAFT: _l("Ready to offer"),
    AWAITING: _l("Discount awaiting approval"),
    APPROVED: _l("Discount approved"),
    REFUSED: _l("Discount refused"),
    ACCEPTED: _l("Accepted by the customer"),
    SUPERSEDED: _l("Replaced by a newer version"),
}
OFFERABLE = (DRAFT, APPROVED)  # the states a customer may accept


@dataclass
class Totals:
    subtotal_fen: int
    discount_fen: int
    total_fen: int


def totals(lines: list[QuoteLine]) -> Totals:
    """Return a quote's subtotal, discount and total in fen: the one place they are computed."""
    subtotal = sum(line.amount_fen for line in lines if line.kind != "discount")
    discount = sum(line.amount_fen for line in lines if line.kind == "discount")
    if discount > subtotal:
        raise ValidationError(_("The discount cannot exceed the price."), field="discount")
    if subtotal > MAX_FEN:
        raise ValidationError(_("This amount is too large."), field="vehicle_price")
    return Totals(subtotal, discount, subtotal - discount)


@dataclass
class Draft:
    """What the advisor typed: the car, its price and the other lines, all in fen."""

    brand: str
    series: str
    vehicle_fen: int
    insurance_fen: int = 0
    registration_fen: int = 0
    discount_fen: int = 0
    accessories: tuple[tuple[int, int], ...] = ()  # (product id, quantity)
    note: str = ""
    trade_in_fen: int = 0  # the value of the customer's car taken in part exchange
    trade_in_car: str = ""
    finance_months: int | None = None  # a finance option: none, or all three below
    finance_down_fen: int = 0
    finance_monthly_fen: int = 0


def _finance(draft: Draft, due_fen: int) -> dict:
    """Return the quote's finance columns from the draft (all None without a finance option)."""
    if not draft.finance_months:
        if draft.finance_down_fen or draft.finance_monthly_fen:
            raise ValidationError(_("Choose the loan's term."), field="finance_months")
        return {"finance_months": None, "finance_down_fen": None, "finance_monthly_fen": None}
    if draft.finance_months not in FINANCE_TERMS:
        raise ValidationError(_("Choose the loan's term."), field="finance_months")
    if draft.finance_monthly_fen <= 0:
        raise ValidationError(_("Enter the monthly instalment."), field="finance_monthly")
    if not 0 <= draft.finance_down_fen <= due_fen:
        raise ValidationError(
            _("The down payment cannot exceed what the customer pays."), field="finance_down"
        )
    return {
        "finance_months": draft.finance_months,
        "finance_down_fen": draft.finance_down_fen,
        "finance_monthly_fen": draft.finance_monthly_fen,
    }


def _trade_in(draft: Draft, total_fen: int) -> int:
    if not 0 <= draft.trade_in_fen <= total_fen:
        raise ValidationError(_("The trade-in cannot exceed the total."), field="trade_in")
    if draft.trade_in_fen and not draft.trade_in_car.strip():
        raise ValidationError(_("Say which car is traded in."), field="trade_in_car")
    return draft.trade_in_fen


def _lines(draft: Draft) -> list[QuoteLine]:
    if not draft.brand.strip() or not draft.series.strip():
        raise ValidationError(_("Give the car's brand and model."), field="series")
    if draft.vehicle_fen <= 0:
        raise ValidationError(_("Enter the car's price."), field="vehicle_price")
    lines = [
        QuoteLine(
            kind="vehicle",
            label=f"{draft.brand} {draft.series}"[:120],
            quantity=1,
            unit_fen=draft.vehicle_fen,
        )
    ]
    for product_id, quantity in draft.accessories:
        product = db.session.get(Product, product_id)
        if product is None or not product.is_active:
            raise ValidationError(_("Choose accessories from the shop."), field="accessories")
        if not 1 <= quantity <= MAX_QUANTITY:
            raise ValidationError(
                _("A quantity is from 1 to %(n)d.", n=MAX_QUANTITY), field="accessories"
            )
        lines.append(
            QuoteLine(
                kind="accessory",
                product_id=product.id,
                label=product.name[:120],
                quantity=quantity,
                unit_fen=product.price_fen,
            )
        )
    for kind, fen in (
        ("insurance", draft.insurance_fen),
        ("registration", draft.registration_fen),
        ("discount", draft.discount_fen),
    ):
        if fen:
            lines.append(QuoteLine(kind=kind, label="", quantity=1, unit_fen=fen))
    for position, line in enumerate(lines):
        line.position = position
    return lines


def make_quote(actor: User, lead: Lead, draft: Draft) -> Quote:
    """Price a new version of the lead's quote; older open versions are replaced by it."""
    if not lead_svc.may_work(actor, lead):
        raise NotAllowed(_("Only the lead's advisor or a manager may change it."))
    if lead.state != OPEN:
        raise ValidationError(_("Only an open lead moves through the stages."))
    lines = _lines(draft)
    sums = totals(lines)
    trade_in_fen = _trade_in(draft, sums.total_fen)
    finance = _finance(draft, sums.total_fen - trade_in_fen)
    limit = settings_for(lead.store_id).discount_limit_fen
    latest = db.session.scalar(select(func.max(Quote.version)).where(Quote.lead_id == lead.id))
    if db.session.scalar(
        select(Quote.id).where(Quote.lead_id == lead.id, Quote.status == ACCEPTED)
    ):
        raise ValidationError(_("The customer has accepted a quote: make the order from it."))
    at = now()
    quote = Quote(
        lead_id=lead.id,
        store_id=lead.store_id,
        version=(latest or 0) + 1,
        author_id=actor.id,
        brand=draft.brand.strip()[:40],
        series=draft.series.strip()[:60],
        status=AWAITING if sums.discount_fen > limit else DRAFT,
        subtotal_fen=sums.subtotal_fen,
        discount_fen=sums.discount_fen,
        total_fen=sums.total_fen,
        valid_until=(at + timedelta(days=VALID_DAYS)).date(),
        note=draft.note.strip()[:2000],
        trade_in_fen=trade_in_fen,
        trade_in_car=draft.trade_in_car.strip()[:120] if trade_in_fen else "",
        **finance,
        created_at=at,
        lines=lines,
    )
    try:
        with db.session.begin_nested():  # two versions made at once: the second is refused
            db.session.add(quote)
    except IntegrityError as exc:
        raise Conflict(_("Someone made a quote for this lead at the same moment: reload.")) from exc
    db.session.execute(
        update(Quote)
        .where(Quote.lead_id == lead.id, Quote.id != quote.id, Quote.status.in_(_REPLACEABLE))
        .values(status=SUPERSEDED)
        .execution_options(synchronize_session=False)
    )
    if lead.brand_id is None:  # a lead that named no model is about the car quoted
        lead.brand_id = brands.brand_of(quote.brand)
    if STAGES.index(lead.stage) < STAGES.index(QUOTE):
        lead_svc.advance(actor, lead, QUOTE)
    db.session.add(
        LeadEvent(
            lead_id=lead.id,
            kind="quote_made",
            actor_id=actor.id,
            note=f"v{quote.version} {quote.brand} {quote.series}",
        )
    )
    return quote


_REPLACEABLE = (DRAFT, AWAITING, APPROVED, REFUSED)


def decide(actor: User, quote: Quote, approve: bool) -> None:
    """Approve or refuse a discount above the store's limit: managers only, one decision wins."""
    if not (lead_svc.is_manager(actor) and access.in_store(actor, quote.store_id)):
        raise NotAllowed(_("Only a manager approves a discount."))
    done = db.session.execute(
        update(Quote)
        .where(Quote.id == quote.id, Quote.status == AWAITING)
        .values(status=APPROVED if approve else REFUSED, decided_by_id=actor.id, decided_at=now())
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        raise Conflict(_("This quote is not awaiting a decision (someone may have decided it)."))
    db.session.refresh(quote)
    kind = "quote_approved" if approve else "quote_refused"
    db.session.add(
        LeadEvent(lead_id=quote.lead_id, kind=kind, actor_id=actor.id, note=f"v{quote.version}")
    )
    audit.record(kind, actor=actor, target=quote, discount_fen=quote.discount_fen)


def accept(actor: User, quote: Quote) -> None:
    """Record that the customer accepted this quote (ready to offer, or its discount approved)."""
    if not lead_svc.may_work(actor, quote.lead):
        raise NotAllowed(_("Only the lead's advisor or a manager may change it."))
    if quote.lead.state != OPEN:
        raise ValidationError(_("Only an open lead moves through the stages."))
    done = db.session.execute(
        update(Quote)
        .where(Quote.id == quote.id, Quote.status.in_(OFFERABLE))
        .values(status=ACCEPTED)
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        raise Conflict(_("Only the current quote, ready to offer, can be accepted."))
    db.session.refresh(quote)
    db.session.add(
        LeadEvent(
            lead_id=quote.lead_id,
            kind="quote_accepted",
            actor_id=actor.id,
            note=f"v{quote.version}",
        )
    )


def quotes_of(lead: Lead) -> list[Quote]:
    """Return the lead's quotes, newest version first."""
    return list(
        db.session.scalars(
            select(Quote).where(Quote.lead_id == lead.id).order_by(Quote.version.desc())
        )
    )


def accessories() -> list[Product]:
    """Return the shop's active products an advisor may add to a quote."""
    return list(
        db.session.scalars(
            select(Product).where(Product.is_active.is_(True)).order_by(Product.name).limit(200)
        )
    )
