"""The optional TOTP second factor for staff (pyotp): enrolment, checks, recovery codes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import pyotp
from flask import current_app
from sqlalchemy import delete, select, update

from portal import transitions
from portal.extensions import db
from portal.models import StaffTotp, TotpRecoveryCode, User
from portal.services import audit
from portal.timeutil import now

ISSUER = "M4S"
RECOVERY_CODES = 10
MAX_WRONG_CODES = 5  # wrong codes in a row, from any browser, before the code step pauses
PAUSE_MINUTES = 15


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _clean(code: str) -> str:
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())


def enabled(user: User) -> bool:
    """Return whether the user has a confirmed second factor."""
    return bool(
        db.session.scalar(
            select(StaffTotp.user_id).where(
                StaffTotp.user_id == user.id, StaffTotp.confirmed_at.is_not(None)
            )
        )
    )


def required(user: User) -> bool:
    """Return whether the user's role must have a second factor (M4S_STAFF_TOTP_REQUIRED_ROLES)."""
    roles = {r.strip() for r in current_app.config["STAFF_TOTP_REQUIRED_ROLES"].split(",")}
    return user.is_staff and user.role in roles


def start_enrolment(user: User) -> StaffTotp:
    """Return the user's pending secret, creating one; a confirmed factor is not replaced."""
    row = db.session.get(StaffTotp, user.id)
    if row is None:
        row = StaffTotp(user_id=user.id, secret=pyotp.random_base32(), created_at=now())
        db.session.add(row)
        db.session.flush()
    return row


def provisioning_uri(user: User, row: StaffTotp) -> str:
    """Return the otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(row.secret).provisioning_uri(name=user.login, issuer_name=ISSUER)


def _accept(row: StaffTotp, code: str) -> bool:
    """Accept a current code once: its time step must be newer than the last one used."""
    code = _clean(code)
    if not (code.isdigit() and len(code) == 6):
        return False
    totp, t = pyotp.TOTP(row.secret), now()
    for offset in (0, -1, 1):  # one step of clock drift either way (RFC 6238 5.2)
        step = totp.timecode(t) + offset
        if secrets.compare_digest(totp.generate_otp(step), code):
            claimed = db.session.execute(
                update(StaffTotp)
                .where(StaffTotp.user_id == row.user_id, StaffTotp.last_step < step)
                .values(last_step=step)
                .execution_options(synchronize_session=False)
            )
            return claimed.rowcount == 1
    return False


def confirm_enrolment(user: User, code: str) -> list[str] | None:
    """Confirm the pending secret with a code; return new recovery codes (None if wrong)."""
    row = db.session.get(StaffTotp, user.id)
    if row is None or row.confirmed_at is not None or not _accept(row, code):
        return None
    row.confirmed_at = now()
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    db.session.execute(delete(TotpRecoveryCode).where(TotpRecoveryCode.user_id == user.id))
    db.session.add_all(TotpRecoveryCode(user_id=user.id, code_hash=_hash(_clean(c))) for c in codes)
    audit.record("totp_enrolled", actor=user, target=user)
    return codes


def verify(user: User, code: str) -> bool:
    """Check a sign-in code, or use up one recovery code; wrong codes in a row pause the step."""
    row = db.session.get(StaffTotp, user.id)
    if row is None or row.confirmed_at is None:
        return False
    if row.locked_until is not None and row.locked_until > now():
        audit.record("totp_refused_paused", target=user)
        return False
    if _accept(row, code) or _use_recovery_code(user, code):
        db.session.execute(
            update(StaffTotp).where(StaffTotp.user_id == user.id).values(failed_codes=0)
        )
        audit.record("totp_ok", actor=user, target=user)
        return True
    _count_wrong_code(user)
    return False


def _use_recovery_code(user: User, code: str) -> bool:
    used = db.session.execute(
        update(TotpRecoveryCode)
        .where(
            TotpRecoveryCode.user_id == user.id,
            TotpRecoveryCode.code_hash == _hash(_clean(code)),
            TotpRecoveryCode.used_at.is_(None),
        )
        .values(used_at=now())
        .execution_options(synchronize_session=False)
    )
    if used.rowcount == 1:
        audit.record("totp_recovery_code_used", actor=user, target=user)
    return used.rowcount == 1


def _count_wrong_code(user: User) -> None:
    """Count a wrong code atomically; at MAX_WRONG_CODES pause the code step for a while."""
    count = transitions.increment(StaffTotp.failed_codes, StaffTotp.user_id == user.id)
    audit.record("totp_failed", target=user, failed_codes=count)
    if count >= MAX_WRONG_CODES:
        db.session.execute(
            update(StaffTotp)
            .where(StaffTotp.user_id == user.id)
            .values(failed_codes=0, locked_until=now() + timedelta(minutes=PAUSE_MINUTES))
            .execution_options(synchronize_session=False)
        )


def remove(user: User, actor: User | None = None) -> None:
    """Remove the user's second factor and recovery codes (a lost phone); audited."""
    db.session.execute(delete(TotpRecoveryCode).where(TotpRecoveryCode.user_id == user.id))
    db.session.execute(delete(StaffTotp).where(StaffTotp.user_id == user.id))
    audit.record("totp_removed", actor=actor, target=user)
