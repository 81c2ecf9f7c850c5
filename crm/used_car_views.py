"""The public used-car page's inquiry form: the buyer's question becomes a CRM lead."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from crm.used_car_leads import inquire
from portal.auth import is_htmx
from portal.errors import DomainError
from portal.extensions import db, limiter
from portal.forms import InquiryForm, field_error
from portal.services import accounts
from portal.services import usedcars as usedcar_svc
from portal.views.usedcars import page_labels

bp = Blueprint("crm_used_cars", __name__)


def _inquiry_limit() -> str:
    return current_app.config["USEDCAR_INQUIRY_LIMIT_IP"]


@bp.route("/market/<int:car_id>/inquiry", methods=["POST"])
@limiter.limit(_inquiry_limit)
def market_inquiry(car_id: int):
    """Send a buyer's inquiry; it becomes a lead routed to a named advisor of the store."""
    req = usedcar_svc.listed_request(car_id)
    form = InquiryForm()
    if form.validate_on_submit():
        phone = accounts.normalize_phone(form.phone.data or "")
        try:
            inquire(
                req,
                name=form.name.data or "",
                phone=phone or "",
                message=form.message.data or "",
                language="en" if get_locale().language == "en" else "zh_CN",
            )
        except DomainError as exc:
            db.session.rollback()
            field_error(form, exc, "phone")
        else:
            db.session.commit()
            if is_htmx():
                return render_template("usedcars/_inquiry_sent.html")
            flash(_("Thank you. An advisor will call you soon."), "success")
            return redirect(url_for("usedcars.market_show", car_id=req.id), code=303)
    if is_htmx():
        return render_template("usedcars/_inquiry.html", req=req, form=form), 422
    return render_template("usedcars/market_show.html", req=req, form=form, **page_labels()), 422
