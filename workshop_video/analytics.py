"""Count viewing for the trust analytics: sessions per day and store, and who watches most."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from portal import access
from portal.extensions import db
from portal.models import Booking, Store, User
from portal.models.bookings import IN_PROGRESS
from portal.timeutil import now
from workshop_video import trust
from workshop_video.models import ENDED, VideoSession


def sessions_by_day(ids, limit: int = 5000) -> tuple[list, list]:
    """Return sessions per local day and their average minutes, of the sessions `ids` selects."""
    zone = ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])
    rows = db.session.execute(
        select(VideoSession.requested_at, VideoSession.duration_s)
        .where(VideoSession.id.in_(ids.subquery().select()))
        .order_by(VideoSession.requested_at.desc())
        .limit(limit)
    ).all()
    days: dict[str, list[int]] = {}
    for at, seconds in reversed(rows):
        days.setdefault(at.astimezone(zone).strftime("%m-%d"), []).append(seconds)
    per_day = [(d, float(len(v))) for d, v in days.items()][-31:]
    avg = [
        (d, round(sum(s for s in v if s) / 60.0 / max(sum(1 for s in v if s is not None), 1), 1))
        for d, v in days.items()
    ][-31:]
    return per_day, avg


def per_day(staff: User, days: int = 14) -> list[tuple[str, float, float]]:
    """Return (day, sessions, average seconds) of the ended sessions of the last `days` days."""
    since = now() - timedelta(days=days)
    rows = db.session.execute(
        access.store_scope(
            select(
                func.date(VideoSession.requested_at),
                func.count(VideoSession.id),
                func.avg(VideoSession.duration_s),
            )
            .where(VideoSession.requested_at >= since, VideoSession.status == ENDED)
            .group_by(func.date(VideoSession.requested_at))
            .order_by(func.date(VideoSession.requested_at)),
            VideoSession.store_id,
            staff,
        )
    ).all()
    return [(str(d)[5:10], float(n), float(avg or 0)) for d, n, avg in rows]


PER_STORE_DAYS = 90


def per_store(staff: User, days: int = PER_STORE_DAYS) -> list[tuple[str, float, float, float]]:
    """Return (store, views per watched booking and minutes watched over the last `days` days,
    share of the jobs in progress watched %). Over a period, not all time: the group's every
    session ever (172k at 1M customers) was read on each view, and old habits hide new ones."""
    since = now() - timedelta(days=days)
    sessions = access.store_scope(
        select(
            VideoSession.store_id,
            func.count(VideoSession.id),
            func.count(func.distinct(VideoSession.booking_id)),
            func.coalesce(func.sum(VideoSession.duration_s), 0),
        )
        .where(VideoSession.requested_at >= since)
        .group_by(VideoSession.store_id),
        VideoSession.store_id,
        staff,
    )
    jobs = access.store_scope(
        select(Booking.store_id, func.count(Booking.id))
        .where(Booking.status == IN_PROGRESS)
        .group_by(Booking.store_id),
        Booking.store_id,
        staff,
    )
    watched_now = access.store_scope(
        select(VideoSession.store_id, func.count(func.distinct(VideoSession.booking_id)))
        .join(Booking, Booking.id == VideoSession.booking_id)
        .where(Booking.status == IN_PROGRESS)
        .group_by(VideoSession.store_id),
        VideoSession.store_id,
        staff,
    )
    in_progress = dict(db.session.execute(jobs).all())
    watched = dict(db.session.execute(watched_now).all())
    names = dict(db.session.execute(select(Store.id, Store.name)).all())
    out = []
    for store_id, n, bookings, seconds in db.session.execute(sessions).all():
        share = (
            100.0 * watched.get(store_id, 0) / in_progress[store_id]
            if in_progress.get(store_id)
            else 0.0
        )
        out.append((names[store_id], n / max(bookings, 1), seconds / 60.0, share))
    return out


def trust_watchlist(
    staff: User, min_sessions: int, min_minutes: float, kinds, days: int = 90
) -> list[dict]:
    """Return owners who watched at least min_sessions times or min_minutes in total, each
    beside their history of the ``kinds`` of records (see _history)."""
    since = now() - timedelta(days=days)
    rows = db.session.execute(
        access.store_scope(
            select(
                VideoSession.viewer_id,
                func.count(VideoSession.id),
                func.coalesce(func.sum(VideoSession.duration_s), 0),
                func.count(func.distinct(VideoSession.booking_id)),
            )
            .where(VideoSession.requested_at >= since)
            .group_by(VideoSession.viewer_id),
            VideoSession.store_id,
            staff,
        )
    ).all()
    hits = [r for r in rows if r[1] >= min_sessions or r[2] / 60.0 >= min_minutes]
    owners = {
        u.id: u for u in db.session.scalars(select(User).where(User.id.in_([r[0] for r in hits])))
    }
    ids = list(owners)
    history = _history(staff, ids, kinds)
    notes = trust.follow_ups(ids, access.store_filter(staff))
    out = []
    for viewer_id, n, seconds, bookings in sorted(hits, key=lambda r: (-r[2], -r[1])):
        out.append(
            {
                "owner": owners[viewer_id],
                "sessions": n,
                "minutes": round(seconds / 60.0, 1),
                "watched_bookings": bookings,
                **history[viewer_id],
                "follow_ups": notes.get(viewer_id, []),
            }
        )
    return out


def _history(staff: User, owner_ids: list[int], kinds, recent: int = 3) -> dict[int, dict]:
    """Return each owner's count and most recent few of each kind of record (store-scoped).

    ``kinds`` are (model, owner column, key) triples: the bookings, and the shop's orders that
    the back office passes in (this package does not import the shop)."""
    out = {i: {} for i in owner_ids}
    for model, owner_col, key in kinds:
        for row in out.values():
            row[key], row[f"recent_{key}"] = 0, []
        counts = db.session.execute(
            access.store_scope(
                select(owner_col, func.count(model.id))
                .where(owner_col.in_(owner_ids or [0]))
                .group_by(owner_col),
                model.store_id,
                staff,
            )
        ).all()
        for owner_id, n in counts:
            out[owner_id][key] = n
        latest = db.session.scalars(
            access.store_scope(
                select(model).where(owner_col.in_(owner_ids or [0])).order_by(model.id.desc()),
                model.store_id,
                staff,
            ).limit(200)
        )
        for row in latest:
            rows = out[getattr(row, owner_col.key)][f"recent_{key}"]
            if len(rows) < recent:
                rows.append(row)
    return out
