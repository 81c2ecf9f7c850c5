"""Log in, log out, register, reset and change passwords."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from portal.auth import current_account
from portal.errors import ValidationError
from portal.extensions import db, limiter
from portal.forms import (
    ChangePasswordForm,
    ForgotForm,
    LoginForm,
    RegisterForm,
    ResetForm,
    field_error,
)
from portal.mail import send_mail
from portal.models import Store
from portal.models.accounts import GROUP_ROLES, TECHNICIAN
from portal.services import accounts, advisors, audit, consent, policy, sessions, signin, totp
from portal.timeutil import now

bp = Blueprint("auth", __name__)


def _login_key() -> str:
    # Canonical, so `138 0000 0002`, `+86…` and full-width digits share one limit.
    return "login:" + accounts.canonical_login(request.form.get("login") or "")


def _ip_limit() -> str:
    return current_app.config["OWNER_LOGIN_LIMIT_IP"]


def _account_limit() -> str:
    return current_app.config["OWNER_LOGIN_LIMIT_ACCOUNT"]


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_ip_limit, methods=["POST"])
@limiter.limit(_account_limit, key_func=_login_key, methods=["POST"])
def login():
    """Log a user in; every failure gets the same message."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        device_cookie = request.cookies.get(signin.DEVICE_COOKIE)
        user = accounts.authenticate(form.login.data, form.password.data, device_cookie)
        if user is None:
            db.session.commit()  # keep the failure count and the audit trail
            form.password.errors = [_("Wrong mobile number, email or password.")]
            return render_template("auth/login.html", form=form), 200
        target = _safe_next(request.args.get("next"))
        if user.is_staff and totp.enabled(user):
            fresh_session()  # the password is right; the second factor comes next
            session["totp_pending"] = {"uid": user.id, "at": _ts(), "next": target, "tries": 0}
            db.session.commit()
            return redirect(url_for("totp.login_code"), code=303)
        return finish_login(user, device_cookie, target)
    return render_template("auth/login.html", form=form)


def _ts() -> int:
    return int(now().timestamp())


def fresh_session() -> None:
    """Start a fresh session: nothing from before the login survives but the language."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def finish_login(user, device_cookie: str | None, target: str | None):
    """Log the user in after every factor passed; return the redirect to the next page."""
    fresh_session()
    session["sid"] = sessions.start(user)
    session["since"] = session["seen"] = _ts()
    policy.note_pending_policy(user, session)  # a new privacy policy is asked for next
    device = None
    if user.is_staff:
        device = signin.remember_device(user, device_cookie, request.user_agent.string or "")
    db.session.commit()
    login_user(user)
    # A new CSRF secret with the new session, in this response's cookie: the next page
    # then has one and does not have to rewrite the cookie.
    g.pop("csrf_token", None)
    generate_csrf()
    if user.is_staff and not target:
        # Each staff member's day (crm's Today page); the group's roles have no store and no
        # day there: the back-office home sends them on to the store comparison.
        # A technician's day is their own jobs.
        target = url_for(_STAFF_HOME.get(user.role, "today.index"))
    response = redirect(target or url_for("home.index"), code=303)
    if device is not None:
        _set_device_cookie(response, device)
    return response


_STAFF_HOME = {**dict.fromkeys(GROUP_ROLES, "admin.index"), TECHNICIAN: "my_jobs.index"}


def _set_device_cookie(response, value: str) -> None:
    cfg = current_app.config
    response.set_cookie(
        signin.DEVICE_COOKIE,
        value,
        max_age=400 * 24 * 3600,  # the longest a browser keeps a cookie
        secure=cfg["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )


@bp.route("/logout", methods=["POST"])
def logout():
    """End this login session."""
    if current_user.is_authenticated:
        sessions.revoke(session.get("sid"))
        audit.record("logout", actor=current_account(), target=None)
        db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"), code=303)


def _store_choices() -> list[SelectChoice]:
    stores = db.session.scalars(select(Store).where(Store.is_active.is_(True)).order_by(Store.id))
    return [SelectChoice(s.id, s.name) for s in stores]


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_ip_limit, methods=["POST"])
def register():
    """Create an owner account; an existing login gets the very same answer."""
    form = RegisterForm()
    form.store.choices = _store_choices()
    in_force = policy.current_policy()
    shown_version = str(in_force.version) if in_force else ""
    if form.validate_on_submit():
        phone = accounts.normalize_phone(form.phone.data or "")
        email = accounts.normalize_email(form.email.data or "")
        if _registration_ok(form, phone, email, shown_version):
            store = db.session.get(Store, form.store.data)
            try:
                user = accounts.register_owner(
                    name=form.name.data,
                    phone=phone,
                    email=email,
                    password=form.password.data,
                    store=store,
                    referred_by=advisors.referrer_from_code(form.referral.data or ""),
                )
            except ValidationError as exc:
                db.session.rollback()
                field_error(form, exc, "password")
            else:
                if user is not None:
                    policy.accept_policy(user, in_force, source="registration")
                    consent.record_choices(user, form.marketing_channels(), source="registration")
                _tell_registrant(user, email)
                db.session.commit()
                flash(
                    _(
                        "Thank you. If these details are new, your account is ready: log in "
                        "below. If you already had an account, log in with it or reset "
                        "your password."
                    ),
                    "success",
                )
                return redirect(url_for("auth.login"), code=303)
    if (form.policy_version.data or "") != shown_version:
        form.accept_policy.data = False  # a new text: agreed to afresh, never ticked for them
    form.policy_version.data = shown_version
    return render_template("auth/register.html", form=form, policy=in_force)


def _registration_ok(form: RegisterForm, phone: str, email: str, shown_version: str) -> bool:
    """Put the first problem of the registration beside its field; True if there is none."""
    if form.phone.data and not phone:
        form.phone.errors = [_("Enter an 11-digit mainland mobile number.")]
    elif form.email.data and not email:
        form.email.errors = [_("Enter a valid email address.")]
    elif not phone and not email:
        form.phone.errors = [_("Give a mobile number or an email address.")]
    elif form.referral.data and not advisors.referrer_from_code(form.referral.data):
        form.referral.errors = [_("This referral code is not valid. Check it or leave it empty.")]
    elif (form.policy_version.data or "") != shown_version:
        form.accept_policy.errors = [
            _("The privacy policy changed while you were registering. Read it and agree again.")
        ]
    else:
        return True
    return False


def _tell_registrant(user, email: str | None) -> None:
    """Queue the welcome mail, or the "someone tried" mail to the owner of a taken address."""
    # Both answers queue one mail when an email was given and do the same work
    # otherwise, so the page does not tell which accounts exist.
    if user is None and email:
        existing = accounts.find_by_login(email)
        if existing is not None and existing.email:
            send_mail(
                existing.email,
                _("Someone tried to register with your email"),
                _(
                    "Somebody tried to create an M4S account with this email "
                    "address. If it was you, log in or reset your password."
                ),
                user_id=existing.id,
            )
    elif user is not None and user.email:
        send_mail(
            user.email,
            _("Welcome to M4S"),
            _(
                "Your M4S account is ready. Log in with your mobile number or "
                "this email address:\n\n%(link)s",
                link=current_app.config["BASE_URL"].rstrip("/") + url_for("auth.login"),
            ),
            user_id=user.id,
        )


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_ip_limit, methods=["POST"])
def password_forgot():
    """Email a single-use reset link; the answer never says whether the account exists."""
    form = ForgotForm()
    if form.validate_on_submit():
        token = accounts.request_password_reset(form.login.data)
        if token:
            user = accounts.find_by_login(form.login.data)
            link = current_app.config["BASE_URL"].rstrip("/") + url_for(
                "auth.password_reset", token=token
            )
            minutes = current_app.config["RESET_TOKEN_MINUTES"]
            send_mail(
                user.email,
                _("Reset your M4S password"),
                _(
                    "Open this link within %(m)d minutes to choose a new password:\n\n%(link)s\n\n"
                    "If you did not ask for this, ignore this email.",
                    m=minutes,
                    link=link,
                ),
                user_id=user.id,
            )
        elif email := accounts.normalize_email(form.login.data):
            # The same outbox write as for an account, so both answers cost the same.
            send_mail(
                email,
                _("Password reset requested"),
                _(
                    "Somebody asked to reset the M4S password of this email address, but no "
                    "active M4S account uses it. If it was you, register or use the mobile "
                    "number you registered with. Otherwise ignore this email."
                ),
            )
        db.session.commit()
        flash(_("If an account with this email exists, we sent a reset link to it."), "success")
        return redirect(url_for("auth.login"), code=303)
    return render_template("auth/forgot.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_ip_limit, methods=["POST"])
def password_reset(token: str):
    """Set a new password with a reset link."""
    form = ResetForm()
    if form.validate_on_submit():
        try:
            accounts.consume_reset_token(token, form.password.data)
        except ValidationError as exc:
            db.session.rollback()
            field_error(form, exc, "password")
        else:
            db.session.commit()
            flash(_("Your password is changed. Log in with the new one."), "success")
            return redirect(url_for("auth.login"), code=303)
    return render_template("auth/reset.html", form=form, token=token)


@bp.route("/password/change", methods=["GET", "POST"])
@login_required
def password_change():
    """Change the password (forced for new staff, after an unlock and on expiry)."""
    form = ChangePasswordForm()
    user = current_account()
    if form.validate_on_submit():
        try:
            accounts.change_password(user, form.current_password.data, form.new_password.data)
        except ValidationError as exc:
            db.session.rollback()
            field_error(form, exc, "new_password")
        else:
            sessions.revoke_all(user)
            session["sid"] = sessions.start(user)
            db.session.commit()
            login_user(user)  # the session version changed; keep this session logged in
            flash(_("Your password is changed."), "success")
            return redirect(url_for("admin.index" if user.is_staff else "home.index"), code=303)
    forced = accounts.must_change_password(user)
    return render_template("auth/change.html", form=form, forced=forced)
