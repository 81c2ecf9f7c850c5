"""The owner's side of service quality: complaints (file one, see their progress), the CSI
survey behind its signed single-use link, and the confirm-or-reopen link of a resolution."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from crm import complaints, surveys
from crm.quality_forms import AnswerForm, OwnerComplaintForm, SurveyForm
from crm.quality_models import DELIVERY, FROM_PORTAL, Complaint
from portal import access
from portal.errors import Conflict, DomainError
from portal.extensions import db
from portal.forms import field_error
from portal.inputs import int_arg
from portal.models import Booking, Store
from portal.models.accounts import OWNER

bp = Blueprint("quality", __name__)
LABELS = {
    "category_labels": complaints.CATEGORY_LABELS,
    "status_labels": complaints.STATUS_LABELS,
    "severity_labels": complaints.SEVERITY_LABELS,
}


def _owner():
    if current_user.role != OWNER:
        abort(403)
    return current_user


@bp.route("/complaints")
@login_required
def complaint_list():
    """List the owner's complaints, newest first, with where each one stands."""
    owner = _owner()
    rows = db.session.scalars(
        access.owner_scope(select(Complaint), Complaint.customer_id, owner)
        .order_by(Complaint.id.desc())
        .limit(100)
    ).all()
    return render_template("quality/complaints.html", rows=rows, **LABELS)


@bp.route("/complaints/new", methods=["GET", "POST"])
@login_required
def complaint_new():
    """File a complaint about a store, optionally about one of the owner's visits."""
    owner = _owner()
    stores = db.session.scalars(select(Store).where(Store.is_active.is_(True))).all()
    visits = db.session.scalars(
        access.owner_scope(select(Booking), Booking.owner_id, owner)
        .order_by(Booking.id.desc())
        .limit(20)
    ).all()
    form = OwnerComplaintForm()
    form.store.choices = [SelectChoice(str(s.id), s.name) for s in stores]
    form.booking.choices = [SelectChoice("", _("Not about one visit"))] + [
        SelectChoice(str(b.id), f"#{b.id} {b.vehicle.plate}") for b in visits
    ]
    if request.method == "GET":
        form.store.data = str(owner.store_id or "")
        return render_template("quality/complaint_new.html", form=form)
    if form.validate_on_submit():
        try:
            booking = next((b for b in visits if b.id == int_arg(form.booking.data)), None)
            store = next((s for s in stores if s.id == int_arg(form.store.data)), None)
            if booking is not None:
                store = booking.store
            if store is None:
                raise DomainError(_("Choose a store."), field="store")
            complaints.open_complaint(
                owner,
                store,
                source=FROM_PORTAL,
                category=form.category.data,
                severity="medium",
                description=form.description.data or "",
                booking=booking,
            )
        except DomainError as exc:
            db.session.rollback()
            field_error(form, exc, "description")
        else:
            db.session.commit()
            flash(_("Your complaint was sent to the store. We will answer you soon."), "success")
            return redirect(url_for(".complaint_list"), code=303)
    return render_template("quality/complaint_new.html", form=form), 422


@bp.route("/complaint-answer/<token>", methods=["GET", "POST"])
def complaint_answer(token: str):
    """Show a resolution to the customer, who confirms it or reopens the complaint."""
    complaint, round_ = complaints.from_link(token)
    form = AnswerForm()
    spent = complaint.status != "resolved" or complaint.reopened != round_
    if request.method == "POST":
        choice = request.form.get("answer")
        if choice not in ("confirm", "reopen") or not form.validate_on_submit():
            flash(_("Choose to confirm or to reopen."), "error")
            return render_template(
                "quality/answer.html", c=complaint, form=form, spent=spent, **LABELS
            ), 422
        try:
            complaints.answer(token, choice == "confirm", form.note.data or "")
        except Conflict as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return render_template(
                "quality/answer.html", c=complaint, form=form, spent=True, **LABELS
            ), 409
        db.session.commit()
        return redirect(url_for(".complaint_answer", token=token), code=303)
    return render_template("quality/answer.html", c=complaint, form=form, spent=spent, **LABELS)


def _survey_page(found, asked, form):
    en = str(get_locale()).startswith("en")
    if found.kind == DELIVERY:
        heading = _("How was the handover of your new car?")
    else:
        heading = _("How was your visit?")
    return render_template(
        "quality/survey.html", s=found, asked=asked, form=form, en=en, heading=heading
    )


@bp.route("/survey/<token>", methods=["GET", "POST"])
def survey(token: str):
    """Ask the owner's opinion of a finished job; the link answers once."""
    found = surveys.from_link(token)
    asked = surveys.questions(found.store_id, found.kind)
    form = SurveyForm()
    if request.method == "POST" and found.answered_at is not None:
        flash(_("This survey was already answered. Thank you!"), "error")
        return _survey_page(found, asked, form), 409
    if request.method == "POST":
        nps = int_arg(request.form.get("nps"), maximum=10)
        scores = [
            int_arg(request.form.get(f"q{i}"), minimum=1, maximum=5) for i in range(len(asked))
        ]
        if not form.validate_on_submit():
            return _survey_page(found, asked, form), 422
        try:
            if nps is None:
                raise DomainError(_("Choose a score from 0 to 10."), field="comment")
            if None in scores:
                raise DomainError(_("Answer every question from 1 to 5."), field="comment")
            surveys.submit(found, nps, scores, form.comment.data or "")
        except DomainError as exc:
            db.session.rollback()
            field_error(form, exc, "comment")
            code = 409 if isinstance(exc, Conflict) else 422
            return _survey_page(found, asked, form), code
        db.session.commit()
        return redirect(url_for(".survey", token=token), code=303)
    return _survey_page(found, asked, form)
