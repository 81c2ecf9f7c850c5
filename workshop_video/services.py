"""Video verbs: request, assign, token, and the viewing record kept from the media reports.

Viewing records are written here only. The media server knows when a connection really plays
and when it breaks, so it reports connection states (and, every few seconds, the sessions still
playing) to one signed internal endpoint; its answer tells the media server which sessions to
cut. A session that no report mentions for VIDEO_STALE_SECONDS (media server gone, network cut)
is closed at the last time it was seen, so durations never count time nobody could watch.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from portal import access
from portal.errors import Conflict, ValidationError
from portal.extensions import db
from portal.models import Booking, User
from portal.models.bookings import IN_PROGRESS
from portal.services import audit
from portal.timeutil import now
from workshop_video.models import ASSIGNED, ENDED, LIVE, OPEN, REQUESTED, Camera, VideoSession
from workshop_video.tokens import make_token


def bay_camera(booking: Booking) -> Camera | None:
    """Return the active camera over the booking's bay, if there is one."""
    if booking.bay is None:
        return None
    return db.session.scalar(
        select(Camera).where(
            Camera.store_id == booking.store_id,
            Camera.bay == booking.bay,
            Camera.is_active.is_(True),
        )
    )


def open_session(viewer: User, booking: Booking) -> VideoSession | None:
    """Return the viewer's open session for this booking, if any."""
    return db.session.scalar(
        select(VideoSession).where(
            VideoSession.booking_id == booking.id,
            VideoSession.viewer_id == viewer.id,
            VideoSession.status.in_(OPEN),
        )
    )


def owned_session(owner: User, session_id: int) -> VideoSession:
    """Return the owner's session or raise NotFound."""
    return access.owned_record(owner, VideoSession, session_id, _("Video not found."), "viewer_id")


def store_session(staff: User, session_id: int) -> VideoSession:
    """Return a session of the staff member's store, or raise NotFound."""
    return access.store_record(staff, VideoSession, session_id, _("Video not found."))


def request_video(owner: User, booking: Booking) -> VideoSession:
    """Record the owner's wish to watch the car; assign the bay camera at once if there is one."""
    access.require_owner(owner, booking, _("Booking not found."))
    if booking.status != IN_PROGRESS:
        raise ValidationError(_("Live video is available while the work is in progress."))
    existing = open_session(owner, booking)
    if existing is not None:
        return existing
    at = now()
    session = VideoSession(
        booking_id=booking.id,
        viewer_id=owner.id,
        store_id=booking.store_id,
        status=REQUESTED,
        requested_at=at,
    )
    camera = bay_camera(booking)
    if camera is not None:
        session.camera_id, session.status, session.assigned_at = camera.id, ASSIGNED, at
    try:
        with db.session.begin_nested():
            db.session.add(session)
    except IntegrityError:  # a second tap won the race: that request stands
        existing = open_session(owner, booking)
        if existing is None:
            raise
        return existing
    return session


def assign_camera(staff: User, session: VideoSession, camera: Camera) -> None:
    """Point a waiting request at a camera of its store (one advisor wins a race)."""
    access.require_store(staff, session.store_id, _("Video not found."))
    if camera.store_id != session.store_id or not camera.is_active:
        raise ValidationError(_("Choose an active camera of this store."), field="camera")
    result = db.session.execute(
        update(VideoSession)
        .where(VideoSession.id == session.id, VideoSession.status == REQUESTED)
        .values(status=ASSIGNED, camera_id=camera.id, assigned_by_id=staff.id, assigned_at=now())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(_("This request was already handled."))
    audit.record("video_camera_assigned", actor=staff, target=session, camera=camera.id)
    db.session.flush()
    db.session.refresh(session)


def issue_token(viewer: User, session: VideoSession) -> str:
    """Return a short-lived signed token that lets this viewer play this session's camera."""
    booking = db.session.get(Booking, session.booking_id)
    access.require_owner(viewer, session, _("Video not found."), "viewer_id")
    if booking.status != IN_PROGRESS:
        raise ValidationError(_("Live video is available while the work is in progress."))
    if session.status not in (ASSIGNED, LIVE) or session.camera is None:
        raise Conflict(_("No camera is assigned yet."))
    if not session.camera.is_active:
        raise Conflict(_("The camera is switched off."))
    cfg = current_app.config
    return make_token(
        cfg["SECRET_KEY"],
        session_id=session.id,
        camera_id=session.camera_id,
        viewer_id=viewer.id,
        booking_id=booking.id,
        source=session.camera.source,
        ttl=cfg["VIDEO_TOKEN_SECONDS"],
        now=now().timestamp(),
    )


def _end(session_ids, reason: str, at=None, *, since_seen: bool = False) -> int:
    """End open sessions with a conditional UPDATE, then fill their durations."""
    at = at or now()
    ids = list(session_ids)
    if not ids:
        return 0
    rows = db.session.scalars(
        select(VideoSession).where(VideoSession.id.in_(ids), VideoSession.status.in_(OPEN))
    ).all()
    ended = 0
    for s in rows:
        end = (s.last_seen_at or s.started_at or s.requested_at) if since_seen else at
        end = max(end, s.requested_at)
        duration = int((end - s.started_at).total_seconds()) if s.started_at else 0
        result = db.session.execute(
            update(VideoSession)
            .where(VideoSession.id == s.id, VideoSession.status.in_(OPEN))
            .values(status=ENDED, ended_at=end, end_reason=reason, duration_s=max(duration, 0))
            .execution_options(synchronize_session=False)
        )
        ended += result.rowcount
    db.session.flush()
    for s in rows:
        db.session.refresh(s)
    return ended


def stop_session(viewer: User, session: VideoSession) -> None:
    """End the viewer's session now (the stop button); the media server cuts it next report."""
    access.require_owner(viewer, session, _("Video not found."), "viewer_id")
    _end([session.id], "stopped")


def apply_report(report: dict) -> list[int]:
    """Apply the media server's report; return the sessions it must stop now."""
    at = now()
    states = {}
    for event in report.get("events", []):
        states[int(event["session"])] = str(event["state"])
    alive = {int(i) for i in report.get("alive", [])}
    for session_id, state in states.items():
        if state == "connected":
            db.session.execute(
                update(VideoSession)
                .where(VideoSession.id == session_id, VideoSession.status.in_((ASSIGNED, LIVE)))
                .values(status=LIVE, started_at=at, last_seen_at=at)
                .execution_options(synchronize_session=False)
            )
        elif session_id not in alive:
            _end([session_id], state if state in ("closed", "failed") else "closed", at)
    if alive:
        db.session.execute(
            update(VideoSession)
            .where(VideoSession.id.in_(alive), VideoSession.status == LIVE)
            .values(last_seen_at=at)
            .execution_options(synchronize_session=False)
        )
    db.session.expire_all()  # the bulk updates above bypassed the loaded objects
    finished = db.session.scalars(
        select(VideoSession.id)
        .join(Booking, Booking.id == VideoSession.booking_id)
        .where(VideoSession.id.in_(alive), VideoSession.status.in_(OPEN))
        .where(Booking.status != IN_PROGRESS)
    ).all()
    _end(finished, "job_done", at)
    close_stale(at)
    stop = db.session.scalars(
        select(VideoSession.id).where(VideoSession.id.in_(alive), VideoSession.status == ENDED)
    ).all()
    return sorted(stop)


def close_stale(at=None) -> int:
    """End sessions nobody reported for VIDEO_STALE_SECONDS, at the time they were last seen;
    end assigned requests never played within VIDEO_STALE_SECONDS after the token lifetime."""
    at = at or now()
    cfg = current_app.config
    stale = at - timedelta(seconds=cfg["VIDEO_STALE_SECONDS"])
    gone = db.session.scalars(
        select(VideoSession.id).where(
            VideoSession.status == LIVE, VideoSession.last_seen_at < stale
        )
    ).all()
    unused = at - timedelta(seconds=cfg["VIDEO_TOKEN_SECONDS"] + cfg["VIDEO_STALE_SECONDS"])
    never = db.session.scalars(
        select(VideoSession.id).where(
            VideoSession.status.in_((REQUESTED, ASSIGNED)),
            VideoSession.booking.has(Booking.status != IN_PROGRESS)
            | (VideoSession.assigned_at < unused),
        )
    ).all()
    return _end(gone, "timeout", since_seen=True) + _end(never, "expired", at)
