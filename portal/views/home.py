"""The portal home: a landing page, or the owner's vehicles and advisor."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload

from portal import access
from portal.auth import current_account, owner_required
from portal.extensions import db
from portal.forms import MileageForm
from portal.i18n import LANGUAGES
from portal.models import User, Vehicle
from portal.services import advisors, dashboard, notify
from portal.views.auth import _safe_next

bp = Blueprint("home", __name__)


@bp.route("/")
def index():
    """Show the owner home, send staff to the back office, or show the landing page."""
    if not current_user.is_authenticated:
        return render_template("home/landing.html")
    if current_user.is_staff:
        return redirect(url_for("admin.index"))
    vehicles = db.session.scalars(
        access.owner_scope(select(Vehicle), Vehicle.owner_id, current_user).order_by(Vehicle.id)
    ).all()
    advisor = None
    if current_user.advisor_id:
        # One query: the card shows the profile and links the photo by id, never loads it.
        advisor = db.session.scalar(
            select(User).options(joinedload(User.profile)).where(User.id == current_user.advisor_id)
        )
    return render_template(
        "home/owner.html",
        vehicles=vehicles,
        unread=notify.unread_count(current_user),
        **dashboard.card_context(current_user, list(vehicles)),
        advisor=advisor,
        advisor_rating=advisors.average_rating(advisor) if advisor else None,
        mileage_form=MileageForm(formdata=None),
    )


@bp.route("/account")
@owner_required
def account():
    """Show everything else an owner can do: orders, sales, finance, settings."""
    return render_template("home/account.html")


@bp.route("/lang", methods=["POST"])
def set_language():
    """Switch the interface language for this session."""
    code = request.form.get("lang", "")
    if code not in LANGUAGES:
        abort(400)
    session["lang"] = code
    if current_user.is_authenticated:
        current_account().locale = code
        db.session.commit()
    return redirect(_safe_next(request.form.get("next")) or url_for("home.index"), code=303)


@bp.route("/healthz")
def healthz():
    """Answer load balancers: the app runs and reaches its database."""
    try:
        db.session.execute(select(1))
    except SQLAlchemyError:
        db.session.rollback()
        return {"status": "database unavailable"}, 503
    return {"status": "ok"}
