"""Back office for the transparent workshop: cameras, the video request queue, viewing records
and the trust analytics (who watches often and long)."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from flask import abort, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import inspect, select

from admin.base import StaffModelView, StaffView
from admin.charts import columns
from admin.display import staff_zone
from portal import access
from portal.auth import current_account, is_htmx
from portal.errors import DomainError, ValidationError
from portal.extensions import db
from portal.inputs import int_arg
from portal.models import Booking
from shop.models import Order
from workshop_video import analytics, devices, trust
from workshop_video import services as svc
from workshop_video.models import REQUESTED, Camera, VideoSession
from workshop_video.sources import SCHEMES, CredentialsNeeded, allowed_target, merge_source

log = logging.getLogger(__name__)

SESSION_STATUS = {
    "requested": _l("waiting for a camera"),
    "assigned": _l("camera assigned"),
    "live": _l("watching"),
    "ended": _l("ended"),
}
END_REASON = {
    "stopped": _l("stopped by the owner"),
    "job_done": _l("work finished"),
    "closed": _l("viewer left"),
    "failed": _l("connection failed"),
    "timeout": _l("connection lost"),
    "expired": _l("never played"),
    "cancelled": _l("replaced by a new request"),
}


# What the trust watchlist shows beside each owner: (model, owner column, key) of each record.
TRUST_HISTORY = ((Booking, Booking.owner_id, "bookings"), (Order, Order.user_id, "orders"))


def _scope(stmt, column=VideoSession.store_id):
    return access.store_scope(stmt, column, current_user)


class CameraAdmin(StaffModelView):
    """Cameras of the manager's store; the source (with credentials) is never listed."""

    store_column = "store_id"
    column_list = ("name", "bay", "source_display", "is_active", "status", "last_ok_at", "store")
    column_labels = {
        "name": _l("Name"),
        "bay": _l("Bay"),
        "source_display": _l("Video source"),
        "is_active": _l("Enabled"),
        "status": _l("Status"),
        "last_ok_at": _l("Last OK"),
        "store": _l("Store"),
        "source": _l("Source (RTSP URL)"),
    }
    column_descriptions = {
        "source": _l("The password shows as ***: leave it so to keep the stored one."),
    }
    column_filters = ("is_active", "bay")
    column_searchable_list = ("name",)
    form_columns = ("name", "bay", "source", "is_active")
    can_view_details = False

    def on_form_prefill(self, form, id):
        # The edit form shows the password masked; on_model_change puts the stored one back.
        form.source.data = self.get_one(id).source_display

    def on_model_change(self, form, model, is_created):
        if not is_created:
            history = inspect(model).attrs.source.history
            stored = history.deleted[0] if history.deleted else model.source
            try:
                model.source = merge_source(stored, form.source.data)
            except CredentialsNeeded:
                # The stored password belongs to the old address: never send it elsewhere.
                raise self._source_error(
                    form, _("The address changed: type the camera's password again.")
                ) from None
        if not _camera_source(model.source):
            raise self._source_error(
                form, _("Give an rtsp:// or rtsps:// address (or the demo clip).")
            )
        if is_created and model.store_id is None:
            if current_user.store_id is None:
                raise ValueError(_("Only store staff can add cameras."))
            model.store_id = current_user.store_id
        super().on_model_change(form, model, is_created)

    @staticmethod
    def _source_error(form, message: str) -> ValueError:
        form.source.errors = [*form.source.errors, message]
        return ValueError(message)

    def handle_view_exception(self, exc):
        # Database errors quote the parameters, the camera password among them: say less.
        log.warning("camera not saved: %s", type(exc).__name__)
        db.session.rollback()  # the locale lookup below reads the user from the database
        if isinstance(exc, ValueError):
            flash(str(exc), "error")
        else:
            flash(_("Not saved: another camera of this store has this name or bay."), "error")
        return True


def _camera_source(source: str) -> bool:
    """Say whether a source is a camera address (rtsp, rtsps) or a clip in the demo folder."""
    if source.startswith("file:"):
        return allowed_target(source, [], devices.clip_dir()) is not None
    return source.split("://", 1)[0].lower() in SCHEMES


def _local_midnight(value: str, days: int = 0) -> datetime:
    zone = staff_zone()  # the zone the list shows its times in
    day = datetime.strptime(value, "%Y-%m-%d").date() + timedelta(days=days)
    return datetime.combine(day, time(), tzinfo=zone)


class RequestedFrom(BaseSQLAFilter):
    """Requests from this local day on."""

    data_type = "datepicker"

    def validate(self, value):
        try:
            _local_midnight(value)
        except ValueError:
            return False
        return True

    def apply(self, query, value, alias=None):
        return query.filter(self.get_column(alias) >= _local_midnight(value))

    def operation(self):
        return _l("from")


class RequestedUntil(RequestedFrom):
    """Requests up to and including this local day."""

    def apply(self, query, value, alias=None):
        return query.filter(self.get_column(alias) < _local_midnight(value, days=1))

    def operation(self):
        return _l("until")


def session_charts(ids, limit: int = 5000) -> dict:
    """Return column charts of sessions per local day and their average minutes."""
    per_day, avg = analytics.sessions_by_day(ids, limit)
    return {
        "per_day": columns(per_day, chart_id="video-per-day", title=_("Sessions per day")),
        "avg": columns(avg, chart_id="video-avg-minutes", title=_("Average minutes watched")),
    }


class VideoSessionAdmin(StaffModelView):
    """Viewing records: who watched which booking on which camera, when and how long."""

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
        "viewer.name": _l("Owner name"),
        "viewer.phone": _l("Owner phone"),
        "camera.name": _l("Camera"),
        "booking_id": _l("Booking number"),
    }
    column_filters = (
        "status",  # options: the translated labels of admin/labels.py
        "end_reason",
        "viewer.name",
        "viewer.phone",
        "camera.name",
        RequestedFrom(VideoSession.requested_at, _l("Requested")),
        RequestedUntil(VideoSession.requested_at, _l("Requested")),
        "duration_s",
        "booking_id",
    )
    column_default_sort = ("requested_at", True)
    list_template = "admin/video/sessions_list.html"

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, **kw):
        count, rows = super().get_list(
            page, sort_column, sort_desc, search, filters, execute=execute, **kw
        )
        if execute:
            # Chart exactly the rows the search and filters keep, on every page of the list.
            g.video_chart_ids = self.every_row_ids()
        return count, rows

    def render(self, template, **kwargs):
        if template == self.list_template and "video_chart_ids" in g:
            kwargs["charts"] = session_charts(g.video_chart_ids)
        return super().render(template, **kwargs)


class VideoQueueView(StaffView):
    """Owners waiting for a camera; the advisor picks the bay's camera (the page refreshes)."""

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
        staff = current_account()
        try:
            session = svc.store_session(staff, session_id)
        except DomainError:
            abort(404)
        camera = db.session.get(Camera, int_arg(request.form.get("camera")) or 0)
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


class VideoAnalyticsView(StaffView):
    """Trust analytics: charts of viewing, and the owners who watch very often or long."""

    @expose("/")
    def index(self, errors: dict | None = None, status: int = 200):
        min_sessions = int_arg(request.args.get("min_sessions")) or 5
        min_minutes = request.args.get("min_minutes", type=float) or 30.0
        per_day = analytics.per_day(current_user)
        per_store = analytics.per_store(current_user)
        charts = {
            "per_day": columns(
                [(d, n) for d, n, _a in per_day],
                chart_id="trust-per-day",
                title=_("Sessions per day"),
            ),
            "avg_duration": columns(
                [(d, round(a / 60.0, 1)) for d, _n, a in per_day],
                chart_id="trust-avg-minutes",
                title=_("Average minutes"),
            ),
            "views": columns(
                [(s, round(v, 1)) for s, v, _m, _w in per_store],
                chart_id="trust-views",
                title=_("Views per booking, last %(n)d days", n=analytics.PER_STORE_DAYS),
            ),
            "minutes": columns(
                [(s, round(m)) for s, _v, m, _w in per_store],
                chart_id="trust-minutes",
                title=_("Minutes watched, last %(n)d days", n=analytics.PER_STORE_DAYS),
            ),
            "share": columns(
                [(s, round(w)) for s, _v, _m, w in per_store],
                chart_id="trust-share",
                title=_("In-progress jobs watched (%)"),
            ),
        }
        return self.render(
            "admin/video/analytics.html",
            charts=charts,
            watchlist=analytics.trust_watchlist(
                current_user, min_sessions, min_minutes, TRUST_HISTORY
            ),
            min_sessions=min_sessions,
            min_minutes=min_minutes,
            errors=errors or {},
            form=FlaskForm(),
        ), status

    @expose("/owners/<int:owner_id>/follow-up", methods=["POST"])
    def follow_up(self, owner_id: int):
        """Mark an owner as followed up, with a note of what was said."""
        staff = current_account()
        try:
            owner = trust.watching_owner(staff, owner_id)
        except DomainError:
            abort(404)
        if not FlaskForm().validate_on_submit():
            abort(400)
        try:
            trust.follow_up(staff, owner, request.form.get("note", ""))
        except ValidationError as exc:
            db.session.rollback()
            return self.index(errors={owner.id: exc.message}, status=422)
        db.session.commit()
        flash(_("Follow-up noted for %(name)s.", name=owner.name), "success")
        return redirect(url_for(".index", **request.args), code=303)
