"""Links between customers: a household, a company with its drivers, and who referred whom.

A referral made through a referral code (``users.referred_by_id``: an advisor's or another
owner's link at sign-up) is shown beside the referrals staff record here, as one list."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from crm import timeline
from crm.profile_models import COMPANY, HOUSEHOLD, REFERRAL, CustomerRelation
from crm.profiles import may_edit
from portal import access
from portal.errors import Conflict, NotAllowed, NotFound, ValidationError
from portal.extensions import db
from portal.models import User
from portal.models.accounts import OWNER
from portal.services import audit

# What the other customer is to this one -> (kind, whether this customer is the source).
LINKS = {
    "household": (HOUSEHOLD, True),
    "driver": (COMPANY, True),  # this customer is the company, the other drives its car
    "employer": (COMPANY, False),
    "referred": (REFERRAL, True),  # this customer referred the other
    "referrer": (REFERRAL, False),
}
LINK_LABELS = {
    "household": _l("Family member"),
    "driver": _l("Driver of this company"),
    "employer": _l("Their company"),
    "referred": _l("Referred by this customer"),
    "referrer": _l("Referred this customer"),
}
MAX_LINKS = 50


@dataclass
class Related:
    """One linked customer as the viewer may see them."""

    link: str  # a key of LINKS
    name: str
    phone: str
    customer_id: int | None  # None when the viewer may not open the record
    relation_id: int | None = None  # None for a referral code's link (not removable here)


def _shown(viewer: User, other: User, link: str, relation_id: int | None) -> Related:
    if other.role == OWNER and timeline.customer_visible(viewer, other):
        return Related(
            link, other.name, access.customer_phone(viewer, other), other.id, relation_id
        )
    name = (other.name or "")[:1] + "**"  # another store's customer: not even the full name
    return Related(link, name, "", None, relation_id)


def related(viewer: User, customer: User) -> list[Related]:
    """Return the customer's household, company links and referrals, masked for the viewer."""
    rows = db.session.scalars(
        select(CustomerRelation)
        .where(or_(CustomerRelation.low_id == customer.id, CustomerRelation.high_id == customer.id))
        .order_by(CustomerRelation.id)
        .limit(MAX_LINKS)
    ).all()
    found = []
    for rel in rows:
        mine_low = rel.low_id == customer.id
        other = rel.high if mine_low else rel.low
        is_source = rel.low_first == mine_low
        link = "household"
        if rel.kind != HOUSEHOLD:
            link = next(k for k, v in LINKS.items() if v == (rel.kind, is_source))
        found.append(_shown(viewer, other, link, rel.id))
    if customer.referred_by_id is not None:
        referrer = db.session.get(User, customer.referred_by_id)
        if referrer is not None and referrer.role != OWNER:
            found.append(Related("referrer", referrer.name, "", None))  # an advisor's link
        elif referrer is not None:
            found.append(_shown(viewer, referrer, "referrer", None))
    invited = db.session.scalars(
        select(User).where(User.referred_by_id == customer.id).order_by(User.id).limit(MAX_LINKS)
    )
    found.extend(_shown(viewer, user, "referred", None) for user in invited)
    return found


def add_relation(actor: User, customer: User, other: User | None, link: str) -> CustomerRelation:
    """Link two customers; the database refuses a second link between them, or to oneself."""
    if not may_edit(actor, customer):
        raise NotAllowed(_("Only the customer's advisor or a manager may change this record."))
    if link not in LINKS:
        raise ValidationError(_("Choose how the two customers are related."), field="link")
    if other is None or other.role != OWNER or not timeline.customer_visible(actor, other):
        raise ValidationError(
            _("No customer record you may open has this number or id."), field="other"
        )
    if other.id == customer.id:
        raise ValidationError(_("A customer cannot be related to themselves."), field="other")
    kind, customer_is_source = LINKS[link]
    low, high = sorted((customer.id, other.id))
    rel = CustomerRelation(
        low_id=low,
        high_id=high,
        kind=kind,
        low_first=(low == customer.id) == customer_is_source,
        created_by_id=actor.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(rel)
    except IntegrityError as exc:
        raise Conflict(_("These two customers are already linked.")) from exc
    audit.record(
        "customer_relation_added",
        actor=actor,
        target=customer,
        store_id=customer.store_id,
        other_id=other.id,
        kind=kind,
    )
    return rel


def remove_relation(actor: User, customer: User, relation_id: int) -> None:
    """Remove a link of this customer's."""
    rel = db.session.get(CustomerRelation, relation_id)
    if rel is None or customer.id not in (rel.low_id, rel.high_id):
        raise NotFound(_("No such link."))
    if not may_edit(actor, customer):
        raise NotAllowed(_("Only the customer's advisor or a manager may change this record."))
    other_id = rel.high_id if rel.low_id == customer.id else rel.low_id
    audit.record(
        "customer_relation_removed",
        actor=actor,
        target=customer,
        store_id=customer.store_id,
        other_id=other_id,
        kind=rel.kind,
    )
    db.session.delete(rel)
    db.session.flush()


def move(survivor_id: int, merged_id: int) -> tuple[int, int]:
    """Give the merged customer's links to the survivor; return (moved, stayed).

    A link between the two records themselves is dropped (it would be a link to oneself); a
    link to someone the survivor is already linked with stays with the merged record."""
    rows = db.session.scalars(
        select(CustomerRelation).where(
            or_(CustomerRelation.low_id == merged_id, CustomerRelation.high_id == merged_id)
        )
    ).all()
    moved = stayed = 0
    for rel in rows:
        other = rel.high_id if rel.low_id == merged_id else rel.low_id
        if other == survivor_id:
            db.session.delete(rel)
            continue
        low, high = sorted((survivor_id, other))
        taken = db.session.scalar(
            select(CustomerRelation.id).where(
                CustomerRelation.low_id == low, CustomerRelation.high_id == high
            )
        )
        if taken is not None:
            stayed += 1
            continue
        source = rel.source_id()
        source = survivor_id if source == merged_id else source
        rel.low_id, rel.high_id, rel.low_first = low, high, source == low
        db.session.flush()
        moved += 1
    db.session.flush()
    return moved, stayed
