"""Accounts: registration, login with staff lockout, password changes and resets, staff creation."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from portal import access, transitions
from portal.errors import NotAllowed, ValidationError
from portal.extensions import db
from portal.models import (
    AdvisorProfile,
    Brand,
    PasswordHistory,
    PasswordResetToken,
    Region,
    Store,
    User,
)
from portal.models.accounts import (
    ADMIN,
    ADVISOR,
    AGENT,
    GROUP_ROLES,
    MANAGER,
    MANUFACTURER,
    OWNER,
    REGION,
    STAFF_ROLES,
    TECHNICIAN,
)
from portal.services import audit, passwords, signin
from portal.timeutil import now

_PHONE = re.compile(r"^1[3-9]\d{9}$")


def normalize_phone(raw: str) -> str | None:
    """Return an 11-digit mainland mobile number, or None if it is not one.

    Full-width digits, spaces, dots, dashes, brackets and a +86, 0086 or 86 prefix all fold
    to the one form, so each spelling shares one rate limit and finds one account."""
    digits = re.sub(r"[\s\-().]", "", unicodedata.normalize("NFKC", raw or ""))
    digits = digits.removeprefix("+86").removeprefix("0086")
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits if _PHONE.match(digits) else None


def canonical_login(raw: str) -> str:
    """Return the login as phone or email in canonical form (else trimmed and lower-cased)."""
    return normalize_phone(raw) or normalize_email(raw) or (raw or "").strip().lower()


def normalize_email(raw: str) -> str | None:
    """Return the email lower-cased when it looks like one, else None."""
    value = unicodedata.normalize("NFKC", raw or "").strip().lower()
    return value if re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", value) else None


def find_by_login(login: str) -> User | None:
    """Return the user whose phone or email is this login, if any."""
    phone = normalize_phone(login)
    if phone:
        return db.session.scalar(select(User).where(User.phone == phone))
    email = normalize_email(login)
    if email:
        return db.session.scalar(select(User).where(User.email == email))
    return None


def pick_advisor(store: Store) -> User | None:
    """Return the active advisor of the store with the fewest bound customers."""
    load = (
        select(User.advisor_id, func.count().label("n"))
        .where(User.role == OWNER)
        .group_by(User.advisor_id)
        .subquery()
    )
    stmt = (
        select(User)
        .outerjoin(load, load.c.advisor_id == User.id)
        .where(User.role == ADVISOR, User.store_id == store.id, User.is_active.is_(True))
        .order_by(func.coalesce(load.c.n, 0), User.id)
        .limit(1)
    )
    return db.session.scalar(stmt)


def register_owner(
    *,
    name: str,
    phone: str | None,
    email: str | None,
    password: str,
    store: Store,
    referred_by: User | None = None,
) -> User | None:
    """Create an owner bound to an advisor of the chosen store; None if the login is taken.

    An owner referred by an active advisor of that store is bound to that advisor."""
    if not phone and not email:
        raise ValidationError(_("Give a mobile number or an email address."), field="phone")
    passwords.check_policy(password, context=(phone or "", email or "", name))
    existing = None
    if phone:
        existing = db.session.scalar(select(User).where(User.phone == phone))
    if existing is None and email:
        existing = db.session.scalar(select(User).where(User.email == email))
    if existing is not None:
        # Hash anyway: the answer for a taken login must cost what a new account costs.
        passwords.hash_password(password)
        audit.record("register_existing_login", target=existing)
        return None
    user = User(
        role=OWNER,
        name=name.strip(),
        phone=phone,
        email=email,
        password_hash=passwords.hash_password(password),
        store_id=store.id,
        advisor_id=_advisor_for(store, referred_by),
        referred_by_id=referred_by.id if referred_by else None,
        password_changed_at=now(),
    )
    if not transitions.insert_unique(user):  # the same login registered concurrently
        return None
    db.session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash))
    audit.record("register", actor=user, target=user)
    return user


def _advisor_for(store: Store, referred_by: User | None) -> int | None:
    if (
        referred_by is not None
        and referred_by.role == ADVISOR
        and referred_by.is_active
        and referred_by.store_id == store.id
    ):
        return referred_by.id
    advisor = pick_advisor(store)
    return advisor.id if advisor else None


def authenticate(login: str, password: str, device_cookie: str | None = None) -> User | None:
    """Return the user for valid credentials; staff failures count per device (see signin)."""
    user = find_by_login(login)
    if user is None or not user.is_active:
        passwords.burn_verify(password)
        audit.record("login_failed", login=(login or "")[:64], reason="unknown_or_inactive")
        return None
    ok = passwords.verify_password(user.password_hash, password)
    if user.is_staff:
        if not signin.check_staff_password(user, ok, password, device_cookie):
            return None
    elif not ok:
        audit.record("login_failed", target=user, reason="bad_password")
        return None
    user.last_login_at = now()
    if passwords.hasher().check_needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    audit.record("login", actor=user, target=user)
    return user


def password_expired(user: User) -> bool:
    """Return whether a staff password is past its maximum age (0 switches expiry off)."""
    days = current_app.config["STAFF_PASSWORD_MAX_AGE_DAYS"]
    if not user.is_staff or days <= 0:
        return False
    return user.password_changed_at + timedelta(days=days) < now()


def must_change_password(user: User) -> bool:
    """Return whether the user may only change the password or log out."""
    return user.must_change_password or password_expired(user)


def set_password(user: User, new_password: str, *, reason: str) -> None:
    """Apply a new password after the policy and reuse checks; end other sessions."""
    passwords.check_policy(new_password, context=(user.phone or "", user.email or "", user.name))
    keep = current_app.config["PASSWORD_HISTORY"]
    recent = db.session.scalars(
        select(PasswordHistory.password_hash)
        .where(PasswordHistory.user_id == user.id)
        .order_by(PasswordHistory.id.desc())
        .limit(keep)
    ).all()
    for old in {user.password_hash, *recent}:
        if passwords.verify_password(old, new_password):
            raise ValidationError(
                _("You used this password recently. Choose a new one."), field="new_password"
            )
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = now()
    user.must_change_password = False
    user.session_version = (user.session_version or 1) + 1
    db.session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash))
    audit.record("password_changed", actor=user, target=user, reason=reason)


def change_password(user: User, current: str, new_password: str) -> None:
    """Change the password of a logged-in user who proves the current one."""
    if not passwords.verify_password(user.password_hash, current):
        raise ValidationError(_("The current password is not correct."), field="current_password")
    set_password(user, new_password, reason="change")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_password_reset(login: str) -> str | None:
    """Create a single-use reset token and email it; return the token (None if no account)."""
    user = find_by_login(login)
    if user is None or not user.is_active or not user.email:
        audit.record("password_reset_unknown", login=(login or "")[:64])
        return None
    token = secrets.token_urlsafe(32)
    minutes = current_app.config["RESET_TOKEN_MINUTES"]
    db.session.add(
        PasswordResetToken(
            user_id=user.id,
            token_hash=_token_hash(token),
            expires_at=now() + timedelta(minutes=minutes),
        )
    )
    audit.record("password_reset_requested", target=user)
    return token


def consume_reset_token(token: str, new_password: str) -> User:
    """Use a reset token once to set a new password; raise ValidationError if it is not valid."""
    invalid = ValidationError(_("This reset link is invalid or has expired. Ask for a new one."))
    row = db.session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == _token_hash(token))
    )
    if row is None or row.used_at is not None or row.expires_at < now():
        raise invalid
    user = db.session.get(User, row.user_id)
    set_password(user, new_password, reason="reset")
    claimed = db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.id == row.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise invalid
    return user


def create_staff(
    actor: User,
    *,
    name: str,
    role: str,
    store: Store | None,
    phone: str | None,
    email: str | None,
    department: str = "",
    region: Region | None = None,
    brand: Brand | None = None,
) -> tuple[User, str]:
    """Create a staff account with a one-time initial password that must be changed.

    Administrators and the group's roles have no store; a regional manager has a region, a
    manufacturer's officer their brand."""
    if role not in STAFF_ROLES:
        raise ValidationError(_("Unknown staff role."), field="role")
    if actor.role == MANAGER and (
        role not in (ADVISOR, AGENT, TECHNICIAN) or store is None or store.id != actor.store_id
    ):
        raise NotAllowed(_("Managers create advisors of their own store only."))
    if actor.role not in (MANAGER, ADMIN):
        raise NotAllowed(_("Only managers and administrators create staff accounts."))
    storeless = role == ADMIN or role in GROUP_ROLES
    if not storeless and store is None:
        raise ValidationError(_("Staff belong to a store."), field="store")
    if role == REGION and region is None:
        raise ValidationError(_("A regional manager needs a region."), field="region")
    if role == MANUFACTURER and brand is None:
        raise ValidationError(_("A manufacturer's officer needs a brand."), field="brand")
    if not phone and not email:
        raise ValidationError(_("Give a mobile number or an email address."), field="phone")
    if (phone and find_by_login(phone)) or (email and find_by_login(email)):
        raise ValidationError(_("This mobile number or email is already in use."), field="phone")
    initial = secrets.token_urlsafe(12)
    user = User(
        role=role,
        name=name.strip(),
        phone=phone,
        email=email,
        password_hash=passwords.hash_password(initial),
        store_id=store.id if store and not storeless else None,
        region_id=region.id if region and role == REGION else None,
        brand_id=brand.id if brand and role == MANUFACTURER else None,
        must_change_password=True,
        password_changed_at=now(),
    )
    db.session.add(user)
    db.session.flush()
    if role == ADVISOR:
        db.session.add(
            AdvisorProfile(
                user_id=user.id, display_name=user.name, phone=phone or "", department=department
            )
        )
    audit.record("staff_created", actor=actor, target=user, role=role)
    return user, initial


def set_staff_active(actor: User, user: User, active: bool) -> None:
    """Activate or deactivate a staff account; deactivation ends its sessions at once."""
    if not user.is_staff or not access.in_store(actor, user.store_id):
        raise NotAllowed(_("You cannot change this account."))
    user.is_active = active
    user.session_version = (user.session_version or 1) + 1
    audit.record("staff_activated" if active else "staff_deactivated", actor=actor, target=user)
