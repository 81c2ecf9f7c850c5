"""Owner sign-in with a one-time code sent by SMS: 6 digits, short-lived, single use."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from portal.channels.sealed import seal
from portal.errors import ValidationError
from portal.extensions import db
from portal.models import SmsLoginCode, User
from portal.models.accounts import OWNER
from portal.services import audit
from portal.services.accounts import normalize_phone
from portal.services.outbox import enqueue
from portal.timeutil import now

LOGIN_CODE_KIND = "login_code"


def code_hash(phone: str, code: str) -> str:
    """Return the keyed hash kept for a code (HMAC with the app secret: a leaked table is
    no list of working codes, and 10^6 guesses need the key)."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"sms-login:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def clean_phone(raw: str) -> str:
    """Return the normalised mainland number, or raise a form error."""
    phone = normalize_phone(raw or "")
    if not phone:
        raise ValidationError(_("Enter an 11-digit mainland mobile number."), field="phone")
    return phone


def request_code(raw_phone: str) -> None:
    """Issue a new code for the number; send it by SMS only when an active owner has it.

    The same rows are written for unknown numbers (a code nobody receives), so the answer
    and its cost say nothing about whether the account exists."""
    phone = clean_phone(raw_phone)
    at = now()
    minutes = current_app.config["SMS_CODE_MINUTES"]
    owner = db.session.scalar(
        select(User).where(User.phone == phone, User.role == OWNER, User.is_active.is_(True))
    )
    # A new code retires the earlier ones: only the latest SMS works.
    db.session.execute(
        update(SmsLoginCode)
        .where(SmsLoginCode.phone == phone, SmsLoginCode.used_at.is_(None))
        .values(used_at=at)
        .execution_options(synchronize_session=False)
    )
    code = f"{secrets.randbelow(10**6):06d}"
    db.session.add(
        SmsLoginCode(
            phone=phone,
            user_id=owner.id if owner else None,
            code_hash=code_hash(phone, code),
            created_at=at,
            expires_at=at + timedelta(minutes=minutes),
        )
    )
    if owner is None:
        db.session.flush()
        return
    text = _(
        "Your M4S sign-in code is %(code)s. It works once, for %(m)d minutes. Do not tell anyone.",
        code=code,
        m=minutes,
    )
    enqueue(
        "sms",
        phone,
        kind=LOGIN_CODE_KIND,
        data=seal({"params": {"code": code}, "body": text}, ttl_seconds=minutes * 60),
        store_id=owner.store_id,
        user_id=owner.id,
    )


def verify_code(raw_phone: str, code: str) -> User | None:
    """Return the owner when the code is the number's live code, and use it up; else None.

    Each try counts against the code (M4S_SMS_CODE_ATTEMPTS), counted by a conditional
    UPDATE so concurrent guesses cannot exceed it; the caller commits either way."""
    phone = normalize_phone(raw_phone or "")
    code = (code or "").strip()
    if not phone or len(code) != 6 or not code.isdigit():
        return None
    at = now()
    live = (
        SmsLoginCode.phone == phone,
        SmsLoginCode.used_at.is_(None),
        SmsLoginCode.expires_at > at,
        SmsLoginCode.attempts < current_app.config["SMS_CODE_ATTEMPTS"],
    )
    row = db.session.scalar(
        select(SmsLoginCode).where(*live).order_by(SmsLoginCode.id.desc()).limit(1)
    )
    if row is None:
        return None
    counted = db.session.execute(
        update(SmsLoginCode)
        .where(SmsLoginCode.id == row.id, *live)
        .values(attempts=SmsLoginCode.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if counted != 1 or not hmac.compare_digest(row.code_hash, code_hash(phone, code)):
        audit.record("login_failed", login=phone, reason="bad_sms_code")
        return None
    used = db.session.execute(
        update(SmsLoginCode)
        .where(SmsLoginCode.id == row.id, SmsLoginCode.used_at.is_(None))
        .values(used_at=at)
        .execution_options(synchronize_session=False)
    ).rowcount
    user = db.session.get(User, row.user_id) if row.user_id else None
    if used != 1 or user is None or not user.is_active or user.role != OWNER:
        return None
    user.last_login_at = at
    audit.record("login", actor=user, target=user, method="sms_code")
    return user
