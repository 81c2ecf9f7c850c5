"""An inspection item's short video clip: staff upload one (obvious refusals at once), the
worker transcodes it (claimed so that two workers never transcode one twice), staff and the
owner play it.

The upload waits in the clip's row; the worker reads it outside any transaction, transcodes,
and writes the result with a conditional UPDATE that finds the clip still claimed: a clip
removed or replaced meanwhile is left alone. The upload is deleted whether the clip became
ready or was refused.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, func, or_, select, update

from portal.errors import ValidationError
from portal.extensions import db
from portal.models import InspectionClip, InspectionItem, User
from portal.models.inspections import CLIP_PENDING, CLIP_PROCESSING, CLIP_READY, CLIP_REFUSED
from portal.services import clip_media
from portal.timeutil import now

# A clip claimed this long ago whose worker said nothing since lost its worker: claimed again.
CLIP_LEASE = timedelta(minutes=15)
MAX_ATTEMPTS = 3  # a clip that took down its worker this often is refused

# Why a clip was refused, as staff read it (the row keeps the code).
REFUSALS = {
    "not_video": _l("This file is not a video clip we can read (MP4, MOV, 3GP or WebM)."),
    "no_video": _l("This file has no picture."),
    "too_long": _l("This clip is too long."),
    "unreadable": _l("This clip is damaged and could not be converted."),
    "failed": _l("This clip could not be converted."),
}


def refusal_text(code: str | None) -> str:
    """Return why a clip was refused, in the current language."""
    return str(REFUSALS.get(code or "failed", REFUSALS["failed"]))


def _refuse_upload(code: str) -> ValidationError:
    if code == "too_long":
        seconds = current_app.config["CLIP_MAX_SECONDS"]
        message = _("A clip is at most %(n)d seconds long.", n=seconds)
    else:
        message = refusal_text(code)
    return ValidationError(message, field="clip")


def max_bytes() -> int:
    """Return the largest clip upload accepted, in bytes (M4S_CLIP_MAX_MB)."""
    return int(current_app.config["CLIP_MAX_MB"] * 1024 * 1024)


def check_upload(data: bytes) -> clip_media.Probe:
    """Refuse an upload that is too large, not a video clip, without a picture or too long."""
    if len(data) > max_bytes():
        raise ValidationError(
            _("A clip is at most %(mb)s MB.", mb=current_app.config["CLIP_MAX_MB"]), field="clip"
        )
    try:
        return clip_media.probe(data, current_app.config["CLIP_MAX_SECONDS"])
    except clip_media.ClipRefused as refused:
        raise _refuse_upload(refused.code) from None


def attach(staff: User, item: InspectionItem, data: bytes) -> InspectionClip:
    """Give the item this (checked) upload as its clip, replacing any clip it had; the worker
    transcodes it."""
    check_upload(data)
    remove(item)
    clip = InspectionClip(
        item_id=item.id,
        status=CLIP_PENDING,
        uploaded_by_id=staff.id,
        original=data,
        created_at=now(),
    )
    db.session.add(clip)
    db.session.flush()
    db.session.expire(item, ["clip"])
    return clip


def remove(item: InspectionItem) -> None:
    """Delete the item's clip, whatever its state (a worker transcoding it drops its work)."""
    db.session.execute(
        delete(InspectionClip)
        .where(InspectionClip.item_id == item.id)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    db.session.expire(item, ["clip"])


def _claimable(at):
    return or_(
        InspectionClip.status == CLIP_PENDING,
        and_(
            InspectionClip.status == CLIP_PROCESSING,
            InspectionClip.started_at < at - CLIP_LEASE,
        ),
    )


def claim_next() -> int | None:
    """Claim the oldest clip waiting for a worker (SKIP LOCKED on PostgreSQL, then a
    conditional UPDATE: of workers racing for one clip, exactly one wins); commit and return
    its id, or None."""
    while True:
        at = now()
        stmt = select(InspectionClip.id).where(_claimable(at)).order_by(InspectionClip.id)
        clip_id = db.session.scalar(stmt.limit(1).with_for_update(skip_locked=True))
        if clip_id is None:
            db.session.rollback()
            return None
        claimed = db.session.execute(
            update(InspectionClip)
            .where(InspectionClip.id == clip_id, _claimable(at))
            .values(status=CLIP_PROCESSING, started_at=at, attempts=InspectionClip.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        if claimed == 1:
            return clip_id


def _finish(clip_id: int, **values) -> bool:
    """Record the worker's result on a clip it still holds; commit; False when the clip was
    removed or replaced meanwhile."""
    done = db.session.execute(
        update(InspectionClip)
        .where(InspectionClip.id == clip_id, InspectionClip.status == CLIP_PROCESSING)
        .values(original=None, finished_at=now(), **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return done == 1


def transcode_clip(clip_id: int) -> str:
    """Transcode one claimed clip and record the result; return its new state."""
    row = db.session.execute(
        select(InspectionClip.original, InspectionClip.attempts).where(InspectionClip.id == clip_id)
    ).first()
    db.session.rollback()  # no transaction stays open while the worker transcodes
    if row is None:
        return "gone"
    if row.original is None or row.attempts > MAX_ATTEMPTS:
        _finish(clip_id, status=CLIP_REFUSED, reason="failed")
        return CLIP_REFUSED
    config = current_app.config
    try:
        out = clip_media.transcode(
            row.original, config["CLIP_MAX_SECONDS"], config["CLIP_MAX_SIDE"]
        )
    except clip_media.ClipRefused as refused:
        _finish(clip_id, status=CLIP_REFUSED, reason=refused.code)
        return CLIP_REFUSED
    except Exception:  # the reason is logged; staff see that the clip could not be converted
        current_app.logger.exception("inspection clip %s failed to transcode", clip_id)
        _finish(clip_id, status=CLIP_REFUSED, reason="failed")
        return CLIP_REFUSED
    kept = _finish(
        clip_id,
        status=CLIP_READY,
        reason=None,
        video=out.video,
        poster=out.poster,
        content_type=out.content_type,
        video_bytes=len(out.video),
        sha256=hashlib.sha256(out.video).hexdigest(),
        width=out.width,
        height=out.height,
        duration_ms=out.duration_ms,
    )
    return CLIP_READY if kept else "gone"


def transcode_pending(limit: int = 1) -> dict:
    """The worker's job: transcode the clips waiting, one per run by default (the jobs share
    one thread: a rescue escalation due meanwhile waits for at most one clip)."""
    states: dict[str, int] = {}
    for _run in range(limit):
        clip_id = claim_next()
        if clip_id is None:
            break
        state = transcode_clip(clip_id)
        states[state] = states.get(state, 0) + 1
    return states or {"transcoded": 0}


def clip_part(clip: InspectionClip, poster: bool, start: int | None = None, length: int = 0):
    """Return the clip's poster, its whole video, or length bytes of the video from start
    (read in the database: a phone asking for a range does not load the whole clip)."""
    if poster:
        return db.session.scalar(select(InspectionClip.poster).where(InspectionClip.id == clip.id))
    if start is None:
        return db.session.scalar(select(InspectionClip.video).where(InspectionClip.id == clip.id))
    return db.session.scalar(
        select(func.substr(InspectionClip.video, start + 1, length)).where(
            InspectionClip.id == clip.id
        )
    )


def ready_clip(item: InspectionItem) -> InspectionClip | None:
    """Return the item's clip when it is ready to play."""
    clip = item.clip
    return clip if clip is not None and clip.status == CLIP_READY else None
