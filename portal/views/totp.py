"""The staff second factor: the code step of the sign-in, and enrolment with a QR code."""

from __future__ import annotations

import segno
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.auth import ALLOWED_WHILE_EXPIRED, current_account
from portal.extensions import db, limiter
from portal.models import StaffTotp, User
from portal.services import signin, totp
from portal.timeutil import now
from portal.views.auth import _ip_limit, finish_login

bp = Blueprint("totp", __name__)

PENDING_SECONDS = 300  # the code must follow the password within five minutes
MAX_TRIES = 5  # then the password must be given again

# Where a manager or admin without a second factor may still go when it is required.
ALLOWED_UNENROLLED = {"totp.enrol", *ALLOWED_WHILE_EXPIRED}


@bp.before_app_request
def require_enrolment():
    """Send staff whose role must use a second factor to enrolment until they have one."""
    if not current_user.is_authenticated or request.endpoint in ALLOWED_UNENROLLED:
        return None
    if totp.required(current_user) and not totp.enabled(current_user):
        if request.is_json or request.path.startswith("/api/"):
            abort(403)
        return redirect(url_for("totp.enrol"))
    return None


def _pending_user() -> User | None:
    pending = session.get("totp_pending")
    if not isinstance(pending, dict) or int(now().timestamp()) - pending["at"] > PENDING_SECONDS:
        session.pop("totp_pending", None)
        return None
    user = db.session.get(User, pending["uid"])
    return user if user is not None and user.is_active else None


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(_ip_limit, methods=["POST"])
def login_code():
    """Ask a staff member for the authenticator code after the right password."""
    user = _pending_user()
    if user is None:
        flash(_("Log in again."), "info")
        return redirect(url_for("auth.login"), code=303)
    error = None
    if request.method == "POST":
        if totp.verify(user, request.form.get("code", "")):
            target = session["totp_pending"].get("next")
            return finish_login(user, request.cookies.get(signin.DEVICE_COOKIE), target)
        pending = session["totp_pending"]
        pending["tries"] += 1
        session["totp_pending"] = pending
        db.session.commit()  # keep the audit trail
        if pending["tries"] >= MAX_TRIES:
            session.pop("totp_pending")
            flash(_("Too many wrong codes. Log in again."), "warning")
            return redirect(url_for("auth.login"), code=303)
        error = _("This code is not right. Try the current one.")
    return render_template("auth/code.html", error=error)


@bp.route("/account/second-factor", methods=["GET", "POST"])
@login_required
def enrol():
    """Set up the authenticator app: scan the QR code, then confirm with one code."""
    user = current_account()
    if not user.is_staff:
        abort(404)
    if totp.enabled(user):
        return render_template("auth/totp.html", enabled=True)
    if request.method == "POST" and request.form.get("action") == "start":
        totp.start_enrolment(user)
        db.session.commit()
        return redirect(url_for("totp.enrol"), code=303)
    row = db.session.get(StaffTotp, user.id)
    if request.method == "POST" and row is not None:
        codes = totp.confirm_enrolment(user, request.form.get("code", ""))
        if codes:
            db.session.commit()
            return render_template("auth/totp.html", enabled=True, recovery_codes=codes)
        db.session.rollback()
        flash(_("This code is not right. Try the current one."), "danger")
    if row is None:
        return render_template("auth/totp.html", enabled=False, row=None)
    uri = totp.provisioning_uri(user, row)
    # segno: pure Python, well kept, no image library round trip; an SVG data URI keeps the
    # page free of raw markup (the CSP allows data: images).
    qr = segno.make(uri, error="m").svg_data_uri(scale=5)
    return render_template("auth/totp.html", enabled=False, row=row, qr=qr, uri=uri)
