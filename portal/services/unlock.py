"""Unlocking a locked staff account: two colleagues of the same store, or an admin's break-glass."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from portal import access, transitions
from portal.errors import Conflict, NotAllowed
from portal.extensions import db
from portal.models import UnlockApproval, UnlockRequest, User
from portal.models.accounts import ADMIN, STAFF_ROLES
from portal.services import audit, signin
from portal.timeutil import now

REQUIRED_APPROVALS = 2


def open_requests(viewer: User) -> list[UnlockRequest]:
    """Return the open unlock requests the viewer may act on (admin sees all stores)."""
    stmt = select(UnlockRequest).where(UnlockRequest.status == "open")
    stmt = access.store_scope(stmt, UnlockRequest.store_id, viewer)
    return list(db.session.scalars(stmt.order_by(UnlockRequest.created_at)))


def eligible_colleagues(request: UnlockRequest) -> int:
    """Count active, unlocked staff of the request's store other than the locked user."""
    stmt = select(func.count(User.id)).where(
        User.role.in_(STAFF_ROLES),
        User.is_active.is_(True),
        User.id != request.user_id,
    )
    if request.store_id is None:
        stmt = stmt.where(User.role == ADMIN)
    else:
        stmt = stmt.where(User.store_id == request.store_id)
    return db.session.scalar(stmt) or 0


def _check_approver(approver: User, request: UnlockRequest) -> None:
    if request.status != "open":
        raise Conflict(_("This unlock request is already closed."))
    if approver.id == request.user_id:
        raise NotAllowed(_("You cannot approve the unlock of your own account."))
    # A colleague whose unknown browsers are locked out still approves from a known device.
    if not approver.is_staff or not approver.is_active:
        raise NotAllowed(_("Only active staff can approve an unlock."))
    if request.store_id is None:
        if approver.role != ADMIN:
            raise NotAllowed(_("Only administrators approve an administrator's unlock."))
    elif approver.store_id != request.store_id:
        raise NotAllowed(_("Only colleagues of the same store can approve this unlock."))


def approve(approver: User, request: UnlockRequest) -> bool:
    """Record one approval; apply the unlock when two recent ones exist. Return True if applied."""
    # Serialise approvals of one request (PostgreSQL row lock; SQLite's BEGIN IMMEDIATE), so
    # that two approvals in flight at once still see each other when counting.
    db.session.execute(
        select(UnlockRequest.id).where(UnlockRequest.id == request.id).with_for_update()
    )
    db.session.refresh(request)
    _check_approver(approver, request)
    approval = UnlockApproval(request_id=request.id, approver_id=approver.id, created_at=now())
    if not transitions.insert_unique(approval):
        raise Conflict(_("You have already approved this unlock."))
    audit.record("unlock_approved", actor=approver, target=request.user, request_id=request.id)
    window = timedelta(hours=current_app.config["UNLOCK_APPROVAL_HOURS"])
    recent = db.session.scalar(
        select(func.count(func.distinct(UnlockApproval.approver_id))).where(
            UnlockApproval.request_id == request.id,
            UnlockApproval.created_at >= now() - window,
        )
    )
    if recent < REQUIRED_APPROVALS:
        return False
    return _apply(request, status="applied", actor=approver)


def break_glass(admin: User, request: UnlockRequest, reason: str) -> None:
    """Let an admin unlock an account whose store has too few colleagues to approve it."""
    if admin.role != ADMIN or not admin.is_active or admin.id == request.user_id:
        raise NotAllowed(_("Only another administrator can break the glass."))
    if request.status != "open":
        raise Conflict(_("This unlock request is already closed."))
    if eligible_colleagues(request) >= REQUIRED_APPROVALS:
        raise NotAllowed(_("This store has enough colleagues to approve the unlock."))
    if not reason.strip():
        raise NotAllowed(_("Give a reason for breaking the glass."))
    if not _apply(request, status="broken_glass", actor=admin):
        raise Conflict(_("This unlock request is already closed."))
    audit.record("unlock_break_glass", actor=admin, target=request.user, reason=reason.strip())


def _apply(request: UnlockRequest, *, status: str, actor: User) -> bool:
    """Close the request and unlock the account in the same transaction; one caller wins."""
    closed = db.session.execute(
        update(UnlockRequest)
        .where(UnlockRequest.id == request.id, UnlockRequest.status == "open")
        .values(status=status, resolved_at=now(), resolved_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    if closed.rowcount != 1:
        return False
    db.session.execute(
        update(User)
        .where(User.id == request.user_id)
        .values(
            locked_at=None,
            failed_logins=0,
            must_change_password=True,
            session_version=User.session_version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    signin.clear_device_locks(request.user_id)
    db.session.expire(request)
    db.session.expire(request.user)
    audit.record("account_unlocked", actor=actor, target=request.user, via=status)
    return True
