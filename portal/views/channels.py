"""Owners' channel settings, and binding WeChat through the Official Account's OAuth."""

from __future__ import annotations

import segno
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

from portal.auth import owner_required
from portal.channels import wechat
from portal.errors import ValidationError
from portal.extensions import db
from portal.forms.channels import ConfirmForm
from portal.models import User
from portal.models.channels import PREFERENCE_CHANNELS, PREFERENCE_KINDS
from portal.services import channels, consent, wechat_binding

bp = Blueprint("channels", __name__)


def _me() -> User:
    return db.session.get(User, current_user.id)


def _absolute(endpoint: str, **values) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + url_for(endpoint, **values)


@bp.route("/account/channels", methods=["GET", "POST"])
@owner_required
def channel_settings():
    """Choose the channels per kind of message; bind or unbind WeChat."""
    user = _me()
    if request.method == "POST":
        choices = {
            kind: {ch for ch in PREFERENCE_CHANNELS if request.form.get(f"{kind}-{ch}") == "on"}
            for kind in PREFERENCE_KINDS
        }
        if request.form.get("marketing-inapp") == "on":
            choices["marketing"].add("inapp")
        channels.save_preferences(user, choices)
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(url_for("channels.channel_settings"), code=303)
    bind_link = qr = None
    openid = channels.wechat_openid(user)
    if current_app.config["WECHAT_APP_ID"] and not openid:
        bind_link = _absolute("channels.wechat_bind", token=wechat_binding.bind_token(user))
        qr = segno.make(bind_link, error="m").svg_data_uri(scale=4)
    return render_template(
        "channels/settings.html",
        prefs=channels.preferences(user),
        kinds=PREFERENCE_KINDS,
        channels=PREFERENCE_CHANNELS,
        wechat_on=bool(current_app.config["WECHAT_APP_ID"]),
        wechat_bound=bool(openid),
        bind_link=bind_link,
        qr=qr,
        minutes=current_app.config["WECHAT_BIND_MINUTES"],
        form=ConfirmForm(),
    )


@bp.route("/account/channels/wechat/unbind", methods=["POST"])
@owner_required
def wechat_unbind():
    """Stop WeChat messages: forget the owner's openid."""
    wechat_binding.unbind(_me())
    db.session.commit()
    flash(_("WeChat is unbound. You will get no more WeChat messages."), "success")
    return redirect(url_for("channels.channel_settings"), code=303)


def _refused(exc: ValidationError):
    return render_template("channels/wechat_bind.html", error=exc.message), 400


@bp.route("/wechat/bind/<token>")
def wechat_bind(token: str):
    """Send the owner, inside WeChat, to the Official Account's OAuth page (snsapi_base)."""
    try:
        wechat_binding.owner_from_token(token)
    except ValidationError as exc:
        return _refused(exc)
    auth = wechat.oauth(current_app.config, _absolute("channels.wechat_callback"), token)
    return redirect(auth.authorize_url)


@bp.route("/wechat/callback")
def wechat_callback():
    """Take WeChat's OAuth code back, learn the openid and ask the owner to confirm."""
    token = request.args.get("state", "")
    try:
        user, _issued = wechat_binding.owner_from_token(token)
    except ValidationError as exc:
        return _refused(exc)
    redirect_uri = _absolute("channels.wechat_callback")
    openid = wechat.openid_from_code(current_app.config, redirect_uri, request.args.get("code", ""))
    if not openid:
        return _refused(ValidationError(_("WeChat did not confirm who you are. Try again.")))
    session["wechat_bind"] = {"token": token, "openid": openid}
    return render_template(
        "channels/wechat_bind.html", confirm=True, name=user.name, form=ConfirmForm()
    )


@bp.route("/wechat/bind", methods=["POST"])
def wechat_bind_confirm():
    """Record the binding the owner confirmed."""
    pending = session.pop("wechat_bind", None) or {}
    if not ConfirmForm().validate_on_submit():
        return _refused(ValidationError(_("The form expired. Open the binding link again.")))
    try:
        wechat_binding.bind(pending.get("token", ""), pending.get("openid", ""))
    except ValidationError as exc:
        db.session.rollback()
        return _refused(exc)
    db.session.commit()
    return render_template("channels/wechat_bind.html", done=True)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    """Stop offers on one channel from a marketing message's link, without signing in."""
    found = consent.read_unsubscribe_token(token)
    user = db.session.get(User, found[0]) if found else None
    if user is None:
        abort(404)
    channel = found[1]
    done = False
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit():
            abort(400, description=_("The form expired. Open the link again."))
        consent.set_consent(user.id, channel, False, source="unsubscribe")
        db.session.commit()
        done = True
    return render_template(
        "channels/unsubscribe.html", channel=channel, done=done, form=ConfirmForm()
    )
