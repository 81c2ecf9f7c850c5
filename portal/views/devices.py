"""My devices: the user's live login sessions, each of which the user can end."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import login_required, logout_user

from portal.auth import current_account
from portal.extensions import db
from portal.services import audit, sessions

bp = Blueprint("devices", __name__)


@bp.route("/account/devices")
@login_required
def device_list():
    """List the user's live login sessions, this one first."""
    current = sessions.key_of(session.get("sid"))
    rows = sessions.live_sessions(current_account())
    rows.sort(key=lambda r: r.id != current)
    return render_template("home/devices.html", rows=rows, current=current)


@bp.route("/account/devices/<key>/revoke", methods=["POST"])
@login_required
def device_revoke(key: str):
    """End one of the user's login sessions at once."""
    user = current_account()
    if len(key) != 64:
        abort(404)
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
