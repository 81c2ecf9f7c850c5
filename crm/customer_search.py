"""Find a customer from the search box: a phone, plate, VIN, order number or name, and a tag
and a tier, among the customers the staff member may open, decided in SQL."""

from __future__ import annotations

from sqlalchemy import select, union

from crm.models import Lead, customer_elsewhere
from crm.pipeline_models import SalesOrder
from crm.profile_models import CustomerProfile, CustomerTag, CustomerTier, Tag
from portal import access
from portal.extensions import db
from portal.models import User, Vehicle
from portal.models.accounts import OWNER
from portal.services.accounts import normalize_phone
from portal.validation import InvalidIdentifier, normalize_plate, normalize_vin
from shop.models import Order

# pg_trgm finds a name in the group by its three-character pieces: from this length a name
# typed in the search box is looked up through ix_users_name_trgm (PostgreSQL).
TRIGRAM_CHARS = 3


def find_customers(
    viewer: User, q: str, *, tag: str = "", tier_id: int | None = None
) -> list[User]:
    """Return customers matching a phone, plate, VIN, order number or name, and a tag and a
    tier if given, that the viewer may open: the newest 20.

    Who may be opened is decided in the SQL, not after it: the store's own customers and those
    with a lead there (``customer_visible``). Taking the group's newest matches first and then
    dropping other stores' customers would miss the store's own "王" among a million."""
    q = (q or "").strip()[:40]
    if not q and not tag and tier_id is None or not access.is_active_staff(viewer):
        return []
    base = _owners_tagged(viewer, tag, tier_id)
    led = access.store_scope(select(Lead.customer_id), Lead, viewer)
    found = []
    for exact in _exact_matches(q):
        # A handful of rows through a unique index: kept if of the store or with a lead there.
        found += [access.store_scope(base.where(exact), User.store_id, viewer),
                  base.where(exact, User.id.in_(led))]  # fmt: skip
    # A name is read store by store, never by walking the group's users: the store's customers
    # through ix_users_store_name. They are every customer of the store, so from the leads only
    # those whose customer belongs elsewhere are read (ix_crm_leads_store_visitors holds them),
    # and each one's name is read per lead, so the plan cannot turn into a scan of every user.
    if name_too_short(viewer, q):  # the group's names: exact identifiers only
        if not found:
            return []
        return _newest(found)
    named = base
    visitors = led.where(customer_elsewhere())
    if tag or tier_id is not None:
        visitors = visitors.where(Lead.customer_id.in_(base))
    if q:
        pattern = f"%{_like_escaped(q)}%"
        named = base.where(User.name.like(pattern, escape="\\"))
        if len(q) >= TRIGRAM_CHARS:
            # Few people in the group have this name, and a trigram index finds them: their
            # leads at the store are then a probe each, however many leads the store has.
            matching = select(User.id).where(
                User.role == OWNER, User.name.like(pattern, escape="\\")
            )
            visitors = visitors.where(Lead.customer_id.in_(matching))
        else:  # a surname: too many in the group, so the store's visitors are read one by one
            name_of = select(User.name).where(User.id == Lead.customer_id, User.role == OWNER)
            visitors = visitors.where(name_of.scalar_subquery().like(pattern, escape="\\"))
    found.append(access.store_scope(named, User.store_id, viewer))
    if not access.sees_all_stores(viewer):  # else every customer is the viewer's own already
        found.append(visitors)
    return _newest(found)


def _owners_tagged(viewer: User, tag: str, tier_id: int | None):
    """Select the owners' ids, with the tag and of the tier (of the viewer's store) if given."""
    base = select(User.id).where(User.role == OWNER)
    if tag:
        tagged = select(CustomerTag.customer_id).join(Tag, Tag.id == CustomerTag.tag_id)
        base = base.where(
            User.id.in_(access.store_scope(tagged.where(Tag.name == tag), Tag, viewer))
        )
    if tier_id is not None:
        tiered = select(CustomerProfile.customer_id).join(
            CustomerTier, CustomerTier.id == CustomerProfile.tier_id
        )
        tiered = access.store_scope(tiered.where(CustomerTier.id == tier_id), CustomerTier, viewer)
        base = base.where(User.id.in_(tiered))
    return base


def _newest(found: list) -> list[User]:
    """Return the newest 20 customers of the union of these id selects."""
    ids = union(*found).subquery()
    # The newest 20 ids first, then their rows: joining first lets the planner walk users
    # backwards until it has met 20 of them.
    top = select(ids.c[0].label("id")).order_by(ids.c[0].desc()).limit(20).subquery()
    stmt = select(User).join(top, top.c.id == User.id).order_by(User.id.desc())
    return list(db.session.scalars(stmt))


def name_too_short(viewer: User, q: str) -> bool:
    """Return whether q is a name too short to search every store by.

    Those who see every store find names of at least TRIGRAM_CHARS characters, through the
    trigram index; a surname alone would read a million names (6 s at 1M customers). Phone
    numbers, plates, VINs and order numbers still match in full."""
    q = (q or "").strip()
    return bool(q) and len(q) < TRIGRAM_CHARS and access.sees_all_stores(viewer)


def _exact_matches(q: str) -> list:
    """Return the conditions on users that q names one customer by: their phone, a car's plate
    or VIN, a shop order's or a new-car order's number. None for a q without a digit or a
    cased letter (full-width ones count), which every one of them has: a name ("王芳") adds
    no parts to the statement to be planned."""
    if not any(c.isdigit() or c.isupper() or c.islower() for c in q):
        return []
    # The spellings people type fold to the stored forms: "+86 138-0000-0001", "粤b 12345".
    plate, vin = _identifier(normalize_plate, q), _identifier(normalize_vin, q)
    number = q.upper()
    return [
        User.phone == (normalize_phone(q) or q),
        User.id.in_(select(Vehicle.owner_id).where(Vehicle.plate == plate)),
        User.id.in_(select(Vehicle.owner_id).where(Vehicle.vin == vin)),
        User.id.in_(select(Order.user_id).where(Order.number == number)),
        User.id.in_(select(SalesOrder.customer_id).where(SalesOrder.number == number)),
    ]


def _like_escaped(q: str) -> str:
    """Return q with LIKE's wildcards taken literally: "50%" finds "50%", not everyone."""
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _identifier(normalize, q: str) -> str:
    """Return q in the identifier's stored form, or upper-cased when it is not a valid one."""
    try:
        return normalize(q)
    except InvalidIdentifier:
        return q.upper()
