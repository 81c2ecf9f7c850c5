"""Change a customer's contact details as staff: name, email and phone, under the dedupe rule.

A phone or email is one customer's (UNIQUE on ``users``): a number that another record holds
is refused with a Conflict that says to merge the two records instead, and a race between two
edits ends in the same refusal when the database's unique index decides."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm.profiles import may_edit
from portal.errors import Conflict, NotAllowed, ValidationError
from portal.extensions import db
from portal.models import User
from portal.models.accounts import OWNER
from portal.services import audit
from portal.services.accounts import normalize_email, normalize_phone

NAME_MAX = 80


@dataclass(frozen=True)
class ContactChange:
    """What staff (or an integration) asked to change; None leaves a detail as it is."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None


def _clean(change: ContactChange) -> dict[str, str | None]:
    """Return the normalised new values, or raise ValidationError at the first bad field."""
    wanted: dict[str, str | None] = {}
    if change.name is not None:
        name = " ".join(change.name.split())
        if not name or len(name) > NAME_MAX:
            raise ValidationError(_("Give the customer's name (at most 80 characters)."), "name")
        wanted["name"] = name
    if change.phone is not None:
        phone = normalize_phone(change.phone)
        if phone is None:
            raise ValidationError(_("Enter an 11-digit mainland mobile number."), field="phone")
        wanted["phone"] = phone
    if change.email is not None:
        email = normalize_email(change.email) if change.email.strip() else None
        if change.email.strip() and email is None:
            raise ValidationError(_("Enter a valid email address."), field="email")
        wanted["email"] = email
    return wanted


def _holder(column, value: str, customer: User) -> User | None:
    return db.session.scalar(select(User).where(column == value, User.id != customer.id))


def _refuse_duplicates(customer: User, wanted: dict[str, str | None]) -> None:
    if wanted.get("phone") and _holder(User.phone, wanted["phone"], customer) is not None:
        raise Conflict(
            _("This number belongs to another customer record; merge the two instead."),
            field="phone",
        )
    if wanted.get("email") and _holder(User.email, wanted["email"], customer) is not None:
        raise Conflict(
            _("This email belongs to another customer record; merge the two instead."),
            field="email",
        )


def update_contact(actor: User, customer: User, change: ContactChange) -> list[str]:
    """Change the customer's name, email and phone; return the fields that changed."""
    if customer.role != OWNER or not may_edit(actor, customer):
        raise NotAllowed(_("You cannot change this customer's details."))
    wanted = _clean(change)
    if (
        "email" in wanted
        and wanted["email"] is None
        and not (wanted.get("phone") or customer.phone)
    ):
        raise ValidationError(_("A customer keeps a phone number or an email."), field="email")
    changed = {k: v for k, v in wanted.items() if getattr(customer, k) != v}
    if not changed:
        return []
    _refuse_duplicates(customer, changed)
    try:
        with db.session.begin_nested():  # a concurrent edit to the same number loses here
            for key, value in changed.items():
                setattr(customer, key, value)
            db.session.flush()
    except IntegrityError:
        raise Conflict(
            _("This number or email belongs to another customer record; merge the two instead.")
        ) from None
    audit.record(
        "customer_contact_changed",
        actor=actor,
        target=customer,
        store_id=customer.store_id,
        fields=sorted(changed),
    )
    return sorted(changed)
