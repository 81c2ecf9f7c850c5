"""The customer card's structured profile, its tags and the store's customer tiers.

Who may change a customer's card is the page's own rule: the customer's advisor, a manager of
the customer's store, and admins. A colleague's customer is read-only (and masked). Every
change is an audit event on the customer, which their timeline shows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from crm.models import TIMEFRAMES
from crm.profile_models import CustomerProfile, CustomerTag, CustomerTier, Tag
from crm.value_models import CustomerValue
from portal import access
from portal.errors import NotAllowed, NotFound, ValidationError
from portal.extensions import db
from portal.models import User
from portal.models.accounts import ADVISOR, MANAGER
from portal.services import audit
from portal.timeutil import now

MAX_TAGS = 12
TAG_LENGTH = 20
MAX_TIERS = 20
PROFILE_FIELDS = (
    "model_interest",
    "budget_fen",
    "timeframe",
    "trade_in",
    "driving",
    "competitors",
    "notes",
    "birthday",
    "tier_id",
)
FIELD_LABELS = {
    "model_interest": _l("Model of interest"),
    "budget_fen": _l("Budget"),
    "timeframe": _l("Purchase timeframe"),
    "trade_in": _l("Car to trade in"),
    "driving": _l("Driving preferences"),
    "competitors": _l("Competitors considered"),
    "notes": _l("Notes"),
    "birthday": _l("Birthday"),
    "tier_id": _l("Customer tier"),
    "tags": _l("Tags"),
    "household": _l("Family member"),
    "company": _l("Company and driver"),
    "referral": _l("Referral"),
}
CARD_LABELS = {
    "customer_profile_changed": _l("Profile changed"),
    "customer_relation_added": _l("Link added"),
    "customer_relation_removed": _l("Link removed"),
}
LIMITS = {"model_interest": 80, "trade_in": 120, "driving": 300, "competitors": 200, "notes": 4000}


@dataclass
class ProfileInput:
    """What staff typed on the profile form, already parsed (budget in fen)."""

    model_interest: str = ""
    budget_fen: int | None = None
    timeframe: str | None = None
    trade_in: str = ""
    driving: str = ""
    competitors: str = ""
    notes: str = ""
    tier_id: int | None = None
    tags: str = ""
    birthday: date | None = None


def may_edit(viewer: User, customer: User) -> bool:
    """Return whether the viewer may change this customer's card (not a colleague's customer)."""
    if not access.in_store(viewer, customer.store_id):
        return False
    return viewer.role != ADVISOR or customer.advisor_id == viewer.id


def profile_of(customer: User) -> CustomerProfile | None:
    """Return the customer's profile, if anyone has filled it in."""
    return db.session.get(CustomerProfile, customer.id)


def profile_and_value(customer: User) -> tuple[CustomerProfile | None, CustomerValue | None]:
    """Return the customer's profile and their value figures (either may be missing), in one
    statement."""
    row = db.session.execute(
        select(CustomerProfile, CustomerValue)
        .select_from(User)
        .outerjoin(CustomerProfile, CustomerProfile.customer_id == User.id)
        .outerjoin(CustomerValue, CustomerValue.customer_id == User.id)
        .where(User.id == customer.id)
    ).one()
    return row[0], row[1]


def tags_of(customer: User) -> list[str]:
    """Return the names of the customer's tags, sorted."""
    return list(
        db.session.scalars(
            select(Tag.name)
            .join(CustomerTag, CustomerTag.tag_id == Tag.id)
            .where(CustomerTag.customer_id == customer.id)
            .order_by(Tag.name)
        )
    )


def normalize_tag(raw: str) -> str:
    """Return a tag as stored: trimmed, inner spaces folded to one, lower case."""
    return " ".join((raw or "").split()).casefold()


def parse_tags(raw: str) -> list[str]:
    """Return the distinct normalised tags of a comma-separated list, or raise ValidationError."""
    names: list[str] = []
    for part in re.split(r"[,，、;；\n]", raw or ""):
        name = normalize_tag(part)
        if not name or name in names:
            continue
        if len(name) > TAG_LENGTH:
            raise ValidationError(
                _("A tag has at most %(n)d characters.", n=TAG_LENGTH), field="tags"
            )
        names.append(name)
    if len(names) > MAX_TAGS:
        raise ValidationError(_("A customer has at most %(n)d tags.", n=MAX_TAGS), field="tags")
    return names


def save_profile(actor: User, customer: User, data: ProfileInput) -> list[str]:
    """Store the profile and tags; return the names of the fields that changed (audited)."""
    if not may_edit(actor, customer):
        raise NotAllowed(_("Only the customer's advisor or a manager may change this record."))
    values = _clean(customer, data)
    names = parse_tags(data.tags)
    profile = profile_of(customer)
    if profile is None:
        blank = dict.fromkeys(LIMITS, "")  # so that only what was typed counts as a change
        profile = CustomerProfile(customer_id=customer.id, **blank)
        db.session.add(profile)
    changed = [k for k in PROFILE_FIELDS if getattr(profile, k, None) != values[k]]
    for key in PROFILE_FIELDS:
        setattr(profile, key, values[key])
    if _set_tags(customer, names):
        changed.append("tags")
    if changed:
        profile.updated_by_id, profile.updated_at = actor.id, now()
        audit.record(
            "customer_profile_changed",
            actor=actor,
            target=customer,
            store_id=customer.store_id,
            fields=changed,
        )
    db.session.flush()
    return changed


def _clean(customer: User, data: ProfileInput) -> dict:
    values: dict = {}
    for key, limit in LIMITS.items():
        text = (getattr(data, key) or "").strip()
        if len(text) > limit:
            raise ValidationError(_("This is too long (at most %(n)d characters).", n=limit), key)
        values[key] = text
    if data.budget_fen is not None and data.budget_fen < 0:
        raise ValidationError(_("Enter the budget in yuan, e.g. 250000."), field="budget")
    values["budget_fen"] = data.budget_fen
    if data.timeframe and data.timeframe not in TIMEFRAMES:
        raise ValidationError(_("Choose a purchase timeframe from the list."), field="timeframe")
    values["timeframe"] = data.timeframe or None
    if data.birthday is not None and not date(1900, 1, 1) <= data.birthday <= now().date():
        raise ValidationError(_("Enter a birthday between 1900 and today."), field="birthday")
    values["birthday"] = data.birthday
    if data.tier_id is not None:
        tier = db.session.get(CustomerTier, data.tier_id)
        if tier is None or tier.store_id != customer.store_id:
            raise ValidationError(_("Choose one of the store's customer tiers."), field="tier")
    values["tier_id"] = data.tier_id
    return values


def _set_tags(customer: User, names: list[str]) -> bool:
    """Make the customer's tags exactly these; return whether anything changed."""
    if set(names) == set(tags_of(customer)):
        return False
    ids = [_tag_id(customer.store_id, name) for name in names]
    stmt = delete(CustomerTag).where(CustomerTag.customer_id == customer.id)
    if ids:
        stmt = stmt.where(CustomerTag.tag_id.not_in(ids))
    db.session.execute(stmt)
    have = set(
        db.session.scalars(select(CustomerTag.tag_id).where(CustomerTag.customer_id == customer.id))
    )
    db.session.add_all(CustomerTag(customer_id=customer.id, tag_id=i) for i in ids if i not in have)
    return True


def _tag_id(store_id: int | None, name: str) -> int:
    """Return the store's tag of this name, adding it (two staff adding it at once get one)."""
    find = select(Tag.id).where(Tag.store_id == store_id, Tag.name == name)
    found = db.session.scalar(find)
    if found is not None:
        return found
    try:
        with db.session.begin_nested():
            tag = Tag(store_id=store_id, name=name)
            db.session.add(tag)
        return tag.id
    except IntegrityError:
        return db.session.scalar(find)


def store_tags(store_id: int | None) -> list[str]:
    """Return the store's tags in use, for the list's filter."""
    return list(
        db.session.scalars(select(Tag.name).where(Tag.store_id == store_id).order_by(Tag.name))
    )


# ---------------------------------------------------------------- tiers (managers)


def tiers(store_id: int | None) -> list[CustomerTier]:
    """Return the store's tiers in their order."""
    return list(
        db.session.scalars(
            select(CustomerTier)
            .where(CustomerTier.store_id == store_id)
            .order_by(CustomerTier.position, CustomerTier.id)
        )
    )


def _require_manager(actor: User) -> int:
    if actor.role != MANAGER or not actor.is_active or actor.store_id is None:
        raise NotAllowed(_("Only the store's managers define customer tiers."))
    return actor.store_id


def _tier_values(name_zh: str, name_en: str, position: int | None) -> tuple[str, str, int]:
    zh, en = " ".join((name_zh or "").split()), " ".join((name_en or "").split())
    if not zh or len(zh) > 30:
        raise ValidationError(_("Give the tier a Chinese name of up to 30 characters."), "name_zh")
    if len(en) > 30:
        raise ValidationError(_("The English name has at most 30 characters."), field="name_en")
    if position is None or not 1 <= position <= 99:
        raise ValidationError(_("The order is a whole number from 1 to 99."), field="position")
    return zh, en, position


def add_tier(actor: User, name_zh: str, name_en: str, position: int | None) -> CustomerTier:
    """Add a tier to the manager's store."""
    store_id = _require_manager(actor)
    zh, en, pos = _tier_values(name_zh, name_en, position)
    count = db.session.scalar(
        select(func.count(CustomerTier.id)).where(CustomerTier.store_id == store_id)
    )
    if count >= MAX_TIERS:
        raise ValidationError(_("A store keeps at most 20 customer tiers."), field="name_zh")
    tier = CustomerTier(store_id=store_id, name_zh=zh, name_en=en, position=pos)
    _flush_unique(tier, add=True)
    audit.record("customer_tier_added", actor=actor, target=tier, name=zh)
    return tier


def _flush_unique(tier: CustomerTier, add: bool = False) -> None:
    flush_named(tier, _("The store already has a tier of this name."), add)


def flush_named(row, taken: str, add: bool = False) -> None:
    """Add (or change) a store's named row in a savepoint; a name the store already uses is
    refused with the message ``taken`` on the Chinese name's field, changing nothing."""
    try:
        with db.session.begin_nested():
            if add:
                db.session.add(row)
            db.session.flush()
    except IntegrityError as exc:
        raise ValidationError(taken, "name_zh") from exc


def _tier(actor: User, tier_id: int) -> CustomerTier:
    store_id = _require_manager(actor)
    tier = db.session.get(CustomerTier, tier_id)
    if tier is None or tier.store_id != store_id:
        raise NotFound(_("No such customer tier."))
    return tier


def update_tier(
    actor: User, tier_id: int, name_zh: str, name_en: str, position: int | None
) -> CustomerTier:
    """Rename or reorder one of the store's tiers."""
    tier = _tier(actor, tier_id)
    tier.name_zh, tier.name_en, tier.position = _tier_values(name_zh, name_en, position)
    _flush_unique(tier)
    audit.record("customer_tier_changed", actor=actor, target=tier, name=tier.name_zh)
    return tier


def remove_tier(actor: User, tier_id: int) -> None:
    """Delete one of the store's tiers; its customers are left without a tier."""
    tier = _tier(actor, tier_id)
    audit.record("customer_tier_removed", actor=actor, target=tier, name=tier.name_zh)
    db.session.execute(
        CustomerProfile.__table__.update()
        .where(CustomerProfile.tier_id == tier.id)
        .values(tier_id=None)
    )
    db.session.delete(tier)
    db.session.flush()
