"""The owner's watch page, its JSON signalling helpers, and the media server's report endpoint."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from portal.auth import current_account, owner_required
from portal.extensions import csrf, db
from portal.models.bookings import IN_PROGRESS
from portal.services import bookings as booking_svc
from workshop_video import cli  # noqa: F401  (adds `flask m4s media` and the demo camera)
from workshop_video import services as svc
from workshop_video.media import origin_of
from workshop_video.models import VideoSession
from workshop_video.tokens import BadToken, read_report

bp = Blueprint("workshop_video", __name__)


@bp.app_context_processor
def _watch_link() -> dict:
    # The booking page shows "Watch my car" only when this package is installed; the status
    # link only when the booking's bay has a camera.
    return {
        "video_watch_url": lambda b: url_for("workshop_video.watch", booking_id=b.id),
        "bay_has_camera": lambda b: svc.bay_camera(b) is not None,
    }


def _allow_media() -> None:
    """Let this page's script reach the media server (CSP connect-src), and nothing else."""
    g.csp_connect_src = (origin_of(current_app.config["MEDIA_URL"]),)


def _state(session: VideoSession | None, booking) -> dict:
    return {
        "session": session.id if session else None,
        "status": session.status if session else None,
        "end_reason": session.end_reason if session else None,
        "booking_status": booking.status,
        "playable": bool(
            session and session.status in ("assigned", "live") and booking.status == IN_PROGRESS
        ),
    }


@bp.route("/bookings/<int:booking_id>/video", methods=["GET", "POST"])
@owner_required
def watch(booking_id: int):
    """Show the live video of the owner's car; a POST asks the store to switch it on."""
    owner = current_account()
    booking = booking_svc.owned_booking(owner, booking_id)
    form = FlaskForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        svc.close_stale()
        svc.request_video(owner, booking)
        db.session.commit()
        return redirect(url_for("workshop_video.watch", booking_id=booking.id), code=303)
    session = svc.open_session(owner, booking)
    _allow_media()
    return render_template(
        "workshop_video/watch.html",
        b=booking,
        s=session,
        form=form,
        media_url=current_app.config["MEDIA_URL"],
        state=_state(session, booking),
    )


@bp.route("/video/<int:session_id>/state")
@owner_required
def session_state(session_id: int):
    """Return the session and booking state as JSON (polled by the watch page)."""
    session = svc.owned_session(current_user, session_id)
    return jsonify(_state(session, session.booking))


@bp.route("/video/<int:session_id>/token", methods=["POST"])
@owner_required
def session_token(session_id: int):
    """Return a short-lived token for the media server, as JSON."""
    owner = current_account()
    session = svc.owned_session(owner, session_id)
    token = svc.issue_token(owner, session)
    return jsonify(token=token, media_url=current_app.config["MEDIA_URL"])


@bp.route("/video/<int:session_id>/stop", methods=["POST"])
@owner_required
def session_stop(session_id: int):
    """Stop watching; the media server cuts the stream at its next report."""
    owner = current_account()
    session = svc.owned_session(owner, session_id)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    svc.stop_session(owner, session)
    db.session.commit()
    return redirect(url_for("workshop_video.watch", booking_id=session.booking_id), code=303)


@bp.route("/video/internal/report", methods=["POST"])
@csrf.exempt  # signed with the shared secret instead; no browser ever posts here
def media_report():
    """Apply the media server's signed report and answer which sessions it must stop."""
    try:
        report = read_report(current_app.config["SECRET_KEY"], request.get_data(as_text=True))
    except BadToken:
        return jsonify(error=_("Invalid signature.")), 403
    stop = svc.apply_report(report)
    db.session.commit()
    return jsonify(stop=stop)
