"""Binding an owner's WeChat openid: a signed, expiring link, WeChat OAuth, then a record."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, select

from portal.errors import ValidationError
from portal.extensions import db
from portal.models import User, WeChatBinding
from portal.models.accounts import OWNER
from portal.timeutil import now


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="m4s-wechat-bind")


def bind_token(user: User) -> str:
    """Return a signed token naming the owner, valid for M4S_WECHAT_BIND_MINUTES."""
    return _serializer().dumps({"u": user.id})


def owner_from_token(token: str) -> tuple[User, datetime]:
    """Return the owner a bind token names and when it was issued, or raise a clear error."""
    max_age = current_app.config["WECHAT_BIND_MINUTES"] * 60
    try:
        payload, issued = _serializer().loads(token, max_age=max_age, return_timestamp=True)
    except BadSignature:
        raise ValidationError(
            _("This binding link is not valid or has expired. Open a new one from your account.")
        ) from None
    user = db.session.get(User, payload.get("u")) if isinstance(payload, dict) else None
    if user is None or user.role != OWNER or not user.is_active:
        raise ValidationError(_("This binding link is not valid."))
    return user, issued


def bind(token: str, openid: str) -> User:
    """Record the openid for the owner of the token; a link binds once (flushed)."""
    user, issued = owner_from_token(token)
    if not openid:
        raise ValidationError(_("WeChat did not tell us who you are. Try again."))
    current = db.session.get(WeChatBinding, user.id)
    if current is not None and current.bound_at >= issued:
        raise ValidationError(_("This binding link was already used. Open a new one."))
    taken = db.session.scalar(select(WeChatBinding).where(WeChatBinding.openid == openid))
    if taken is not None and taken.user_id != user.id:
        raise ValidationError(
            _("This WeChat account is bound to another M4S account. Unbind it there first.")
        )
    if current is None:
        current = WeChatBinding(user_id=user.id, openid=openid)
        db.session.add(current)
    current.openid, current.bound_at = openid, now()
    db.session.flush()
    return user


def unbind(user: User) -> None:
    """Forget the owner's WeChat openid (flushed)."""
    db.session.execute(delete(WeChatBinding).where(WeChatBinding.user_id == user.id))
