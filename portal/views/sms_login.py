"""Owner sign-in with a one-time code sent by SMS, beside the password."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from portal.errors import ValidationError
from portal.extensions import db, limiter
from portal.forms import field_error
from portal.forms.channels import SmsCodeForm, SmsCodeRequestForm
from portal.services import sms_login
from portal.services.accounts import normalize_phone
from portal.views.auth import finish_login

bp = Blueprint("sms_login", __name__)


def _number_key() -> str:
    raw = request.form.get("phone") or session.get("sms_phone") or ""
    return "sms-login:" + (normalize_phone(raw) or raw.strip())


def _request_ip_limit() -> str:
    return current_app.config["SMS_CODE_LIMIT_IP"]


def _request_number_limit() -> str:
    return current_app.config["SMS_CODE_LIMIT_NUMBER"]


def _verify_ip_limit() -> str:
    return current_app.config["SMS_VERIFY_LIMIT_IP"]


def sms_available() -> bool:
    """Tell whether codes can reach owners: a provider, or development's logged SMS."""
    cfg = current_app.config
    return bool(cfg["SMS_PROVIDER"]) or cfg["ENV"] != "production"


@bp.app_context_processor
def _sms_flag() -> dict:
    return {"sms_login_available": sms_available}


@bp.route("/login/sms", methods=["GET", "POST"])
@limiter.limit(_request_ip_limit, methods=["POST"])
@limiter.limit(_request_number_limit, key_func=_number_key, methods=["POST"])
def code_request():
    """Send a sign-in code to the number; the answer is the same for every number."""
    if not sms_available():
        abort(404)
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = SmsCodeRequestForm()
    if form.validate_on_submit():
        try:
            sms_login.request_code(form.phone.data)
        except ValidationError as exc:
            db.session.rollback()
            field_error(form, exc, "phone")
        else:
            db.session.commit()
            session["sms_phone"] = normalize_phone(form.phone.data)
            flash(
                _("If this number belongs to an M4S account, a code is on its way by SMS."),
                "success",
            )
            return redirect(url_for("sms_login.code_verify"), code=303)
    return render_template("auth/sms_request.html", form=form)


@bp.route("/login/sms/code", methods=["GET", "POST"])
@limiter.limit(_verify_ip_limit, methods=["POST"])
def code_verify():
    """Sign an owner in with the code from the SMS."""
    if not sms_available():
        abort(404)
    phone = session.get("sms_phone")
    if not phone:
        return redirect(url_for("sms_login.code_request"))
    form = SmsCodeForm()
    if form.validate_on_submit():
        user = sms_login.verify_code(phone, form.code.data)
        if user is None:
            db.session.commit()  # keep the attempt count and the audit trail
            form.code.errors = [_("This code is wrong or no longer valid. Ask for a new one.")]
            return render_template("auth/sms_code.html", form=form, phone=phone), 200
        return finish_login(user, None, None)  # the same fresh session as a password login
    return render_template("auth/sms_code.html", form=form, phone=phone)
