"""Staff sign-in: device cookies, lockouts that spare known devices, repeats that count once.

The spec's rule stays (two wrong passwords lock; two colleagues unlock) but is applied the
way OWASP's "device cookies" and Microsoft Entra's smart lockout apply it. A browser where the
staff member has signed in before holds a signed cookie naming a random nonce (stored here
only as a hash). Wrong passwords from it count against that device alone; it locks for
STAFF_DEVICE_LOCK_MINUTES, then the lock runs out (as Entra's familiar-location lockout does),
or two colleagues' unlock clears it at once. Wrong passwords from any other browser count
against the account's "unknown browsers" counter (users.failed_logins / users.locked_at), which
locks unknown browsers only, until two colleagues unlock it. The same wrong password twice
counts once: a keyed hash of each recent wrong password is kept for a while, never the password.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from portal import transitions
from portal.extensions import db
from portal.models import RecentLoginFailure, StaffDevice, UnlockRequest, User
from portal.services import audit
from portal.timeutil import now

DEVICE_COOKIE = "m4s_device"
_MAX_USERS_PER_BROWSER = 8  # a shared front-desk PC remembers this many staff


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="m4s-staff-device")


def _hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def _read_cookie(value: str | None) -> dict[str, str]:
    if not value:
        return {}
    try:
        data = _serializer().loads(value)
    except BadSignature:
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, str)}


def known_device(user: User, cookie: str | None) -> StaffDevice | None:
    """Return the user's live device named by this browser's device cookie, if any."""
    nonce = _read_cookie(cookie).get(str(user.id))
    if not nonce:
        return None
    return db.session.scalar(
        select(StaffDevice).where(
            StaffDevice.user_id == user.id,
            StaffDevice.nonce_hash == _hash(nonce),
            StaffDevice.revoked_at.is_(None),
        )
    )


def remember_device(user: User, cookie: str | None, user_agent: str = "") -> str:
    """Make this browser a known device of the user; return the new device cookie value."""
    entries = _read_cookie(cookie)
    device = known_device(user, cookie)
    if device is not None:
        device.last_used_at = now()
    else:
        nonce = secrets.token_urlsafe(32)
        db.session.add(
            StaffDevice(user_id=user.id, nonce_hash=_hash(nonce), user_agent=user_agent[:255])
        )
        entries.pop(str(user.id), None)
        entries[str(user.id)] = nonce
        audit.record("staff_device_added", actor=user, target=user)
    while len(entries) > _MAX_USERS_PER_BROWSER:
        entries.pop(next(iter(entries)))
    return _serializer().dumps(entries)


def revoke_devices(user: User) -> int:
    """Forget every known device of the user; return how many were live."""
    res = db.session.execute(
        update(StaffDevice)
        .where(StaffDevice.user_id == user.id, StaffDevice.revoked_at.is_(None))
        .values(revoked_at=now())
        .execution_options(synchronize_session=False)
    )
    return res.rowcount


def check_staff_password(user: User, ok: bool, password: str, cookie: str | None) -> bool:
    """Apply the staff lockout to one password check; return whether the sign-in may go on."""
    device = known_device(user, cookie)
    source = {"device_id": device.id if device else None}
    if _locked(user, device):
        # Same answer as a wrong password, even when this one is right.
        if not ok:
            _count_failure(user, device, password)
        audit.record("login_refused_locked", target=user, **source)
        return False
    if not ok:
        _count_failure(user, device, password)
        audit.record("login_failed", target=user, reason="bad_password", **source)
        return False
    if not _clear_failures(user, device):
        audit.record("login_refused_locked", target=user, **source)
        return False
    return True


def _locked(user: User, device: StaffDevice | None) -> bool:
    if device is None:
        return user.locked_at is not None
    return device.locked_until is not None and device.locked_until > now()


def _password_mac(user: User, source: int, password: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    message = f"{user.id}:{source}:".encode() + password.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _count_failure(user: User, device: StaffDevice | None, password: str) -> None:
    """Count a wrong password once per source and recent window; lock at the limit."""
    source = device.id if device else 0
    window = timedelta(minutes=current_app.config["STAFF_REPEAT_PASSWORD_MINUTES"])
    db.session.execute(
        delete(RecentLoginFailure).where(
            RecentLoginFailure.user_id == user.id, RecentLoginFailure.created_at < now() - window
        )
    )
    try:
        with db.session.begin_nested():
            db.session.add(
                RecentLoginFailure(
                    user_id=user.id,
                    source=source,
                    password_mac=_password_mac(user, source, password),
                    created_at=now(),
                )
            )
            db.session.flush()
    except IntegrityError:  # this wrong password was already counted
        audit.record("login_failed_repeat", target=user, device_id=device.id if device else None)
        return
    if device is None:
        _count_unknown_failure(user)
    else:
        _count_device_failure(device)


def _count_unknown_failure(user: User) -> None:
    """Add one failure from unknown browsers atomically; lock them out at the limit."""
    limit = current_app.config["STAFF_MAX_FAILED_LOGINS"]
    count = transitions.increment(User.failed_logins, User.id == user.id)
    if count < limit:
        return
    locked = db.session.execute(
        update(User)
        .where(User.id == user.id, User.locked_at.is_(None))
        .values(locked_at=now())
        .execution_options(synchronize_session=False)
    )
    if locked.rowcount == 1:
        db.session.add(UnlockRequest(user_id=user.id, store_id=user.store_id, status="open"))
        audit.record("account_locked", target=user, failed_logins=count)
    db.session.expire(user)


def _count_device_failure(device: StaffDevice) -> None:
    """Add one failure from a known device atomically; lock that device for a while."""
    cfg, t = current_app.config, now()
    # A lock that has run out starts a fresh count.
    db.session.execute(
        update(StaffDevice)
        .where(StaffDevice.id == device.id, StaffDevice.locked_until <= t)
        .values(locked_until=None, failed_logins=0)
        .execution_options(synchronize_session=False)
    )
    count = transitions.increment(StaffDevice.failed_logins, StaffDevice.id == device.id)
    if count >= cfg["STAFF_MAX_FAILED_LOGINS"]:
        locked = db.session.execute(
            update(StaffDevice)
            .where(StaffDevice.id == device.id, StaffDevice.locked_until.is_(None))
            .values(locked_until=t + timedelta(minutes=cfg["STAFF_DEVICE_LOCK_MINUTES"]))
            .execution_options(synchronize_session=False)
        )
        if locked.rowcount == 1:
            audit.record("staff_device_locked", target=device, failed_logins=count)
    db.session.expire(device)


def _clear_failures(user: User, device: StaffDevice | None) -> bool:
    """Reset the source's counter unless a concurrent failure locked it meanwhile."""
    t = now()
    if device is None:
        stmt = update(User).where(User.id == user.id, User.locked_at.is_(None))
    else:
        stmt = update(StaffDevice).where(
            StaffDevice.id == device.id,
            (StaffDevice.locked_until.is_(None)) | (StaffDevice.locked_until <= t),
        )
    values = {"failed_logins": 0} if device is None else {"failed_logins": 0, "locked_until": None}
    res = db.session.execute(stmt.values(**values).execution_options(synchronize_session=False))
    if res.rowcount != 1:
        return False
    db.session.refresh(device if device is not None else user)
    return True


def clear_device_locks(user_id: int) -> None:
    """Forget the failed logins and locks of every known device of a staff member."""
    db.session.execute(
        update(StaffDevice)
        .where(StaffDevice.user_id == user_id)
        .values(failed_logins=0, locked_until=None)
        .execution_options(synchronize_session=False)
    )


def unlock_by_operator(user: User) -> None:
    """Unlock a staff account from the server's command line (no admin can sign in)."""
    closed = db.session.execute(
        update(UnlockRequest)
        .where(UnlockRequest.user_id == user.id, UnlockRequest.status == "open")
        .values(status="broken_glass", resolved_at=now())
        .execution_options(synchronize_session=False)
    )
    clear_device_locks(user.id)
    user.locked_at = None
    user.failed_logins = 0
    user.must_change_password = True
    user.session_version = (user.session_version or 1) + 1
    audit.record("unlock_operator", target=user, via="cli", requests_closed=closed.rowcount)
