"""One customer record group-wide: find a customer by phone, VIN or email, or add a prospect.

A customer is a ``users`` row with the owner role: the portal account the car owner already
has. A prospect who never signed up gets the same row with no usable password (``!`` is no
Argon2 hash, so nobody can sign in with it until the owner sets one through "forgot
password"). The UNIQUE phone and email of ``users`` make "never a second record" a database
rule, and a race between two inquiries of one person ends in the same row."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm import merge
from crm.staffing_models import CustomerMerge
from portal.errors import Conflict, ValidationError
from portal.extensions import db
from portal.models import Store, User, Vehicle
from portal.models.accounts import OWNER
from portal.services.accounts import normalize_email, normalize_phone
from portal.transitions import insert_or_skip
from portal.validation import InvalidIdentifier, normalize_vin

NO_PASSWORD = "!"  # noqa: S105  (not an Argon2 hash: verification always fails)


def find_customer(
    phone: str | None, email: str | None = None, vin: str | None = None
) -> User | None:
    """Return the known customer with this (normalised) phone, VIN or email, in that order;
    a record merged into another stands for the one it was merged into."""
    found = _find(phone, email, vin)
    if found is None:
        return None
    customer, merged = found
    if not merged:
        return customer
    current = merge.resolve(customer.id)
    return customer if current == customer.id else db.session.get(User, current)


def _find(phone: str | None, email: str | None, vin: str | None) -> tuple[User, bool] | None:
    # Each lookup also says whether the record was merged into another, and brings the
    # customer's advisor (routing asks for them first): one statement, and the merge table is
    # read again only for a merged record (rare).
    merged = select(CustomerMerge.merged_id).where(CustomerMerge.merged_id == User.id).exists()
    customer = select(User, merged).options(joinedload(User.advisor))
    found = None
    if phone:
        found = db.session.execute(customer.where(User.phone == phone)).first()
    if found is None and vin:
        found = db.session.execute(
            customer.join(Vehicle, Vehicle.owner_id == User.id).where(Vehicle.vin == vin)
        ).first()
    if found is None and email:
        found = db.session.execute(customer.where(User.email == email)).first()
    return (found[0], bool(found[1])) if found is not None else None


def clean_contact(phone: str, email: str = "", vin: str = "") -> tuple[str, str | None, str | None]:
    """Return the normalised phone, email and VIN, or raise ValidationError at the bad field."""
    mobile = normalize_phone(phone)
    if not mobile:
        raise ValidationError(_("Enter an 11-digit mainland mobile number."), field="phone")
    mail = None
    if (email or "").strip():
        mail = normalize_email(email)
        if mail is None:
            raise ValidationError(_("Enter a valid email address."), field="email")
    car = None
    if (vin or "").strip():
        try:
            car = normalize_vin(vin)
        except InvalidIdentifier as exc:
            raise ValidationError(_(str(exc)), field="vin") from exc
    return mobile, mail, car


def customer_for(name: str, phone: str, email: str | None, vin: str | None, store: Store) -> User:
    """Return the existing customer for these details, or add a prospect (never a duplicate)."""
    return find_or_add(name, phone, email, vin, store)[0]


def find_or_add(
    name: str,
    phone: str,
    email: str | None,
    vin: str | None,
    store: Store,
    advisor: User | None = None,
) -> tuple[User, bool]:
    """Return the customer for these details and whether they were added now (as a prospect
    of the store, and of the advisor if one is given); an existing record is never doubled."""
    found = known_customer(phone, email, vin)
    if found is not None:
        return found, False
    prospect = add_prospect(name, phone, email, store, advisor.id if advisor else None)
    if prospect is not None:
        return prospect, True
    found = known_customer(phone, email, vin)  # a concurrent inquiry added them first
    if found is None:
        raise Conflict(_("The customers changed meanwhile. Try again."))
    return found, False


def known_customer(phone: str, email: str | None = None, vin: str | None = None) -> User | None:
    """Return the known customer for these details (find_customer), or None; refuse a number
    that belongs to a staff account."""
    found = find_customer(phone, email, vin)
    if found is not None and found.role != OWNER:
        raise ValidationError(_("This number belongs to a staff account."), field="phone")
    return found


def add_prospect(
    name: str, phone: str, email: str | None, store: Store, advisor_id: int | None = None
) -> User | None:
    """Add a prospect of the store (and of the advisor, if given) in one statement; return
    None, writing nothing, when the phone or email is taken (a concurrent inquiry of the same
    person won: on PostgreSQL this waits for its commit, on SQLite for its write lock)."""
    return db.session.scalars(
        insert_or_skip(User)
        .values(
            role=OWNER,
            name=(name or "").strip()[:80] or phone,
            phone=phone,
            email=email,
            password_hash=NO_PASSWORD,
            store_id=store.id,
            advisor_id=advisor_id,
        )
        .returning(User)
    ).first()
