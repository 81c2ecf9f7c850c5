"""Trust follow-ups: staff note that they reached out to an owner who watches very often or long."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from portal import access
from portal.errors import NotFound, ValidationError
from portal.extensions import db
from portal.models import User
from portal.models.accounts import OWNER
from portal.services import audit
from workshop_video.models import TrustFollowUp, VideoSession


def watching_owner(staff: User, owner_id: int) -> User:
    """Return an owner who watched video of the staff member's store, or raise NotFound."""
    owner = db.session.get(User, owner_id)
    if owner is None or owner.role != OWNER:
        raise NotFound(_("Owner not found."))
    if not access.sees_all_stores(staff):
        watched = db.session.scalar(
            access.store_scope(
                select(VideoSession.id).where(VideoSession.viewer_id == owner.id),
                VideoSession.store_id,
                staff,
            ).limit(1)
        )
        if watched is None:
            raise NotFound(_("Owner not found."))
    return owner


def follow_up(staff: User, owner: User, note: str) -> TrustFollowUp:
    """Record that staff reached out to the owner, with what was said."""
    note = (note or "").strip()
    if not note:
        raise ValidationError(_("Write what you did or agreed."), field="note")
    if len(note) > 1000:
        raise ValidationError(_("Keep the note under 1000 characters."), field="note")
    row = TrustFollowUp(owner_id=owner.id, staff_id=staff.id, store_id=staff.store_id, note=note)
    db.session.add(row)
    db.session.flush()
    audit.record("video_trust_follow_up", actor=staff, target=row, owner=owner.id)
    return row


def follow_ups(owner_ids: list[int], store_id: int | None) -> dict[int, list[TrustFollowUp]]:
    """Return the follow-ups of these owners, newest first (one store's, or all for admins)."""
    stmt = select(TrustFollowUp).where(TrustFollowUp.owner_id.in_(owner_ids or [0]))
    if store_id is not None:
        stmt = stmt.where(TrustFollowUp.store_id == store_id)
    out: dict[int, list[TrustFollowUp]] = {}
    for row in db.session.scalars(stmt.order_by(TrustFollowUp.created_at.desc())):
        out.setdefault(row.owner_id, []).append(row)
    return out
