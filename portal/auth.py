"""Login wiring: the user loader, the session clock, role guards and the forced password change."""

from __future__ import annotations

from functools import wraps

from flask import Flask, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user

from portal.extensions import db, login_manager
from portal.models import User
from portal.models.accounts import OWNER
from portal.timeutil import now

# Endpoints a user who must change the password may still reach.
ALLOWED_WHILE_EXPIRED = {"auth.password_change", "auth.logout", "static", "home.set_language"}


def is_htmx() -> bool:
    """Return whether this request was sent by htmx."""
    return request.headers.get("HX-Request") == "true"


def wants_json() -> bool:
    """Return whether the client asked for JSON rather than a page."""
    if request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def current_account() -> User:
    """Return the signed-in user as the ORM User this request loaded (no second query).

    current_user is a proxy: stored in a relationship it would stay a proxy, so code that
    links or changes the account takes this User instead."""
    return db.session.get(User, current_user.id)


def load_user(key: str) -> User | None:
    """Load the session's user if the account and the login session are still valid."""
    user_id, _, version = key.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    from portal.services import sessions

    # The user and the login session in one query: None if either is missing or revoked.
    user = sessions.live_user(session.get("sid"), int(user_id))
    if user is None or not user.is_active or user.session_version != int(version):
        return None
    # A lockout of unknown browsers leaves the staff member's open sessions alone: otherwise
    # two anonymous guesses would end them (see portal/services/signin.py).
    return user


SEEN_EVERY_SECONDS = 60  # how often a session's last-seen time is written


def session_clock():
    """End a staff session that is idle or too old; note when any session was last seen."""
    if request.endpoint == "static" or not current_user.is_authenticated:
        return None
    t = int(now().timestamp())
    since, seen = session.get("since"), session.get("seen")
    from portal.services import audit, sessions

    if current_user.is_staff and _expired(t, since, seen):
        sessions.revoke(session.get("sid"))
        audit.record("session_expired", actor=None, target=current_account())
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


def init_login(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    login_manager.user_loader(load_user)
    app.before_request(session_clock)  # before the forced password change: an ended
    # session must not reach the password form

    @login_manager.unauthorized_handler
    def unauthorized():
        if wants_json() or request.path.startswith("/api/"):
            abort(401)
        flash(login_manager.login_message, "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))

    @app.before_request
    def force_password_change():
        if not current_user.is_authenticated or request.endpoint in ALLOWED_WHILE_EXPIRED:
            return None
        from portal.services.accounts import must_change_password

        if must_change_password(current_user):
            if wants_json():
                abort(403)
            return redirect(url_for("auth.password_change"))
        return None


def owner_required(view):
    """Let only logged-in owners through; staff get 403, anonymous users go to login."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.role != OWNER:
            abort(403)
        return view(*args, **kwargs)

    return wrapped
