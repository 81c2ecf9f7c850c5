"""Back office for the transparent workshop: cameras, the video request queue, viewing records
and the trust analytics (who watches often and long)."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from admin.base import StaffModelView, StaffView
from admin.svg import bar_chart
from portal.auth import is_htmx
from portal.errors import DomainError
from portal.extensions import db
from portal.i18n import localtime
from portal.models import Booking, Store, User
from portal.models.accounts import ADMIN, MANAGER, STAFF_ROLES
from portal.models.bookings import IN_PROGRESS
from portal.timeutil import now
from workshop_video import services as svc
from workshop_video.models import ENDED, REQUESTED, Camera, VideoSession


def _scope(stmt, column=VideoSession.store_id):
    if current_user.role == ADMIN:
        return stmt
    return stmt.where(column == current_user.store_id)


class CameraAdmin(StaffModelView):
    """Cameras of the manager's store; the source (with credentials) is never listed."""

    roles = (MANAGER, ADMIN)
    store_column = "store_id"
    column_list = ("name", "bay", "source_display", "is_active", "store")
    column_labels = {
        "name": _l("Name"),
        "bay": _l("Bay"),
        "source_display": _l("Source"),
        "is_active": _l("Enabled"),
        "store": _l("Store"),
        "source": _l("Source (RTSP URL)"),
    }
    column_filters = ("is_active", "bay")
    column_searchable_list = ("name",)
    form_columns = ("name", "bay", "source", "is_active")
    can_view_details = False

    def on_model_change(self, form, model, is_created):
        if is_created and model.store_id is None:
            if current_user.store_id is None:
                raise ValueError(_("Only store staff can add cameras."))
            model.store_id = current_user.store_id
        super().on_model_change(form, model, is_created)


class VideoSessionAdmin(StaffModelView):
    """Viewing records: who watched which booking on which camera, when and how long."""

    roles = STAFF_ROLES
    store_column = "store_id"
    can_create = can_edit = False
    can_view_details = False
    column_list = (
        "viewer",
        "booking",
        "camera",
        "status",
        "requested_at",
        "started_at",
        "ended_at",
        "duration_s",
        "end_reason",
    )
    column_labels = {
        "viewer": _l("Owner"),
        "booking": _l("Booking"),
        "camera": _l("Camera"),
        "status": _l("Status"),
        "requested_at": _l("Requested"),
        "started_at": _l("Start"),
        "ended_at": _l("End"),
        "duration_s": _l("Duration (s)"),
        "end_reason": _l("End reason"),
    }
    column_filters = ("status", "end_reason", "duration_s", "booking_id")
    column_formatters = {
        name: (lambda v, c, m, p: localtime(getattr(m, p), m.store.timezone))
        for name in ("requested_at", "started_at", "ended_at")
    }
    column_default_sort = ("requested_at", True)


class VideoQueueView(StaffView):
    """Owners waiting for a camera; the advisor picks the bay's camera (the page refreshes)."""

    roles = STAFF_ROLES

    def _waiting(self) -> list[VideoSession]:
        return list(
            db.session.scalars(
                _scope(select(VideoSession).where(VideoSession.status == REQUESTED)).order_by(
                    VideoSession.requested_at
                )
            )
        )

    def _cameras(self) -> list[Camera]:
        return list(
            db.session.scalars(
                _scope(select(Camera).where(Camera.is_active.is_(True)), Camera.store_id).order_by(
                    Camera.bay, Camera.name
                )
            )
        )

    @expose("/")
    def index(self):
        return self.render(
            "admin/video/queue.html", waiting=self._waiting(), cameras=self._cameras()
        )

    @expose("/items")
    def items(self):
        """Return the waiting requests (htmx fragment, polled)."""
        return self.render(
            "admin/video/_queue.html", waiting=self._waiting(), cameras=self._cameras()
        )

    @expose("/<int:session_id>/assign", methods=["POST"])
    def assign(self, session_id: int):
        staff = current_user._get_current_object()
        try:
            session = svc.store_session(staff, session_id)
        except DomainError:
            abort(404)
        camera = db.session.get(Camera, request.form.get("camera", type=int) or 0)
        try:
            if camera is None:
                abort(400)
            svc.assign_camera(staff, session, camera)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for(".index"), code=303)
        db.session.commit()
        if is_htmx():
            return self.items()
        flash(_("Camera switched on for booking #%(id)d.", id=session.booking_id), "success")
        return redirect(url_for(".index"), code=303)


def _per_day(days: int = 14) -> list[tuple[str, float, float]]:
    since = now() - timedelta(days=days)
    rows = db.session.execute(
        _scope(
            select(
                func.date(VideoSession.requested_at),
                func.count(VideoSession.id),
                func.avg(VideoSession.duration_s),
            )
            .where(VideoSession.requested_at >= since, VideoSession.status == ENDED)
            .group_by(func.date(VideoSession.requested_at))
            .order_by(func.date(VideoSession.requested_at))
        )
    ).all()
    return [(str(d)[5:10], float(n), float(avg or 0)) for d, n, avg in rows]


def _per_store() -> list[tuple[str, float, float, float]]:
    """Return (store, views per watched booking, minutes watched, share of jobs watched %)."""
    sessions = _scope(
        select(
            VideoSession.store_id,
            func.count(VideoSession.id),
            func.count(func.distinct(VideoSession.booking_id)),
            func.coalesce(func.sum(VideoSession.duration_s), 0),
        ).group_by(VideoSession.store_id)
    )
    jobs = _scope(
        select(Booking.store_id, func.count(Booking.id))
        .where(Booking.status == IN_PROGRESS)
        .group_by(Booking.store_id),
        Booking.store_id,
    )
    watched_now = _scope(
        select(VideoSession.store_id, func.count(func.distinct(VideoSession.booking_id)))
        .join(Booking, Booking.id == VideoSession.booking_id)
        .where(Booking.status == IN_PROGRESS)
        .group_by(VideoSession.store_id)
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


def trust_watchlist(min_sessions: int, min_minutes: float, days: int = 90) -> list[dict]:
    """Return owners who watched at least min_sessions times or min_minutes in total."""
    since = now() - timedelta(days=days)
    rows = db.session.execute(
        _scope(
            select(
                VideoSession.viewer_id,
                func.count(VideoSession.id),
                func.coalesce(func.sum(VideoSession.duration_s), 0),
                func.count(func.distinct(VideoSession.booking_id)),
            )
            .where(VideoSession.requested_at >= since)
            .group_by(VideoSession.viewer_id)
        )
    ).all()
    hits = [r for r in rows if r[1] >= min_sessions or r[2] / 60.0 >= min_minutes]
    owners = {
        u.id: u for u in db.session.scalars(select(User).where(User.id.in_([r[0] for r in hits])))
    }
    out = []
    for viewer_id, n, seconds, bookings in sorted(hits, key=lambda r: (-r[2], -r[1])):
        total = db.session.scalar(
            select(func.count(Booking.id)).where(Booking.owner_id == viewer_id)
        )
        out.append(
            {
                "owner": owners[viewer_id],
                "sessions": n,
                "minutes": round(seconds / 60.0, 1),
                "watched_bookings": bookings,
                "bookings": total,
            }
        )
    return out


class VideoAnalyticsView(StaffView):
    """Trust analytics: charts of viewing, and the owners who watch very often or long."""

    roles = (MANAGER, ADMIN)

    @expose("/")
    def index(self):
        min_sessions = request.args.get("min_sessions", type=int) or 5
        min_minutes = request.args.get("min_minutes", type=float) or 30.0
        per_day = _per_day()
        per_store = _per_store()
        charts = {
            "per_day": bar_chart([(d, n) for d, n, _a in per_day], _("Sessions per day")),
            "avg_duration": bar_chart(
                [(d, round(a / 60.0, 1)) for d, _n, a in per_day], _("Average minutes")
            ),
            "views": bar_chart(
                [(s, round(v, 1)) for s, v, _m, _w in per_store], _("Views per booking")
            ),
            "minutes": bar_chart(
                [(s, round(m)) for s, _v, m, _w in per_store], _("Minutes watched")
            ),
            "share": bar_chart(
                [(s, round(w)) for s, _v, _m, w in per_store], _("In-progress jobs watched (%)")
            ),
        }
        return self.render(
            "admin/video/analytics.html",
            charts=charts,
            watchlist=trust_watchlist(min_sessions, min_minutes),
            min_sessions=min_sessions,
            min_minutes=min_minutes,
        )


def add_video_views(admin) -> None:
    """Add the transparent-workshop views to the back office."""
    category = _l("Video")
    admin.add_view(
        VideoQueueView(name=_l("Video requests"), endpoint="video_queue", category=category)
    )
    admin.add_view(
        VideoSessionAdmin(
            VideoSession,
            db,
            name=_l("Viewing records"),
            endpoint="video_sessions",
            category=category,
        )
    )
    admin.add_view(
        VideoAnalyticsView(name=_l("Trust analytics"), endpoint="video_trust", category=category)
    )
    admin.add_view(
        CameraAdmin(Camera, db, name=_l("Cameras"), endpoint="cameras", category=category)
    )
