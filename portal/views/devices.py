"""My devices (the user's live login sessions) and the staff session clock."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from portal.extensions import db
from portal.services import audit, sessions
from portal.timeutil import now

bp = Blueprint("devices", __name__)

SEEN_EVERY_SECONDS = 60  # how often a session's last-seen time is written


@bp.before_app_request
def session_clock():
    """End a staff session that is idle or too old; note when any session was last seen."""
    if request.endpoint == "static" or not current_user.is_authenticated:
        return None
    t = int(now().timestamp())
    since, seen = session.get("since"), session.get("seen")
    if current_user.is_staff and _expired(t, since, seen):
        sessions.revoke(session.get("sid"))
        audit.record("session_expired", actor=None, target=current_user.record)
        db.session.commit()
        logout_user()
        session.clear()
        flash(_("Your session has ended. Log in again."), "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if seen is None or t - seen >= SEEN_EVERY_SECONDS:
        session["seen"] = t
        session.setdefault("since", t)
        db.session.commit()  # end the read, so that the write below starts its own
        sessions.touch(session.get("sid"))
        db.session.commit()
    return None


def _expired(t: int, since: int | None, seen: int | None) -> bool:
    cfg = current_app.config
    if since is None or seen is None:
        return True
    return (
        t - seen > cfg["STAFF_SESSION_IDLE_MINUTES"] * 60
        or t - since > cfg["STAFF_SESSION_MAX_HOURS"] * 3600
    )


@bp.route("/account/devices")
@login_required
def device_list():
    """List the user's live login sessions, this one first."""
    current = sessions.key_of(session.get("sid"))
    rows = sessions.live_sessions(current_user.record)
    rows.sort(key=lambda r: r.id != current)
    return render_template("home/devices.html", rows=rows, current=current)


@bp.route("/account/devices/<string(length=64):key>/revoke", methods=["POST"])
@login_required
def device_revoke(key: str):
    """End one of the user's login sessions at once."""
    user = current_user.record
    if not sessions.revoke_key(user, key):
        flash(_("This session has already ended."), "info")
        return redirect(url_for("devices.device_list"), code=303)
    audit.record("session_revoked", actor=user, target=user)
    db.session.commit()
    if key == sessions.key_of(session.get("sid")):
        logout_user()
        session.clear()
        flash(_("You are logged out."), "info")
        return redirect(url_for("auth.login"), code=303)
    flash(_("The session is ended."), "success")
    return redirect(url_for("devices.device_list"), code=303)
