"""WeChat Official Account template messages and the OAuth that binds an owner's openid.

wechatpy does the API calls. Its clients read their API base from class attributes, so
small subclasses point them at M4S_WECHAT_API_BASE (a local fake in tests). The access
token is fetched here and kept in the database (channel_tokens), shared by every worker
process: WeChat allows few token fetches a day and a new token retires the old one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import requests
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException, WeChatOAuthException
from wechatpy.oauth import WeChatOAuth
from wechatpy.session import SessionStorage

from portal.channels.base import TIMEOUT_SECONDS, DeliveryError, Message, template_for
from portal.extensions import db
from portal.models.channels import ChannelToken
from portal.timeutil import now

# WeChat errcodes that no retry will fix: bad openid, unfollowed user, bad template, data.
_PERMANENT = {40003, 40036, 40037, 43004, 43101, 47003, 40013, 40125, 41028}
# Keep a fetched token this much shorter than WeChat says, so none is used as it expires.
_TOKEN_MARGIN_SECONDS = 300


class DatabaseTokenStorage(SessionStorage):
    """wechatpy's session storage backed by the channel_tokens table (TTL honoured)."""

    def get(self, key, default=None):
        row = db.session.execute(
            select(ChannelToken.value, ChannelToken.expires_at).where(ChannelToken.key == key)
        ).first()
        if row is None or row.expires_at <= now():
            return default
        return row.value

    def set(self, key, value, ttl=None):
        expires = now() + timedelta(seconds=max(int(ttl or 7200) - _TOKEN_MARGIN_SECONDS, 60))
        if self._update(key, value, expires):
            return
        try:
            with db.session.begin_nested():
                db.session.add(ChannelToken(key=key, value=value, expires_at=expires))
        except IntegrityError:
            # Another worker stored a token meanwhile; ours is as fresh, and both work.
            self._update(key, value, expires)

    @staticmethod
    def _update(key: str, value: str, expires) -> bool:
        result = db.session.execute(
            update(ChannelToken)
            .where(ChannelToken.key == key)
            .values(value=value, expires_at=expires)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    def delete(self, key):
        db.session.execute(delete(ChannelToken).where(ChannelToken.key == key))


def _api_client(settings: Mapping[str, Any]) -> WeChatClient:
    base = settings["WECHAT_API_BASE"].rstrip("/") + "/"

    class Client(WeChatClient):
        API_BASE_URL = base + "cgi-bin/"

        def fetch_access_token(self):
            """Fetch a token from the configured base (wechatpy's own URL is fixed)."""
            try:
                answer = requests.get(
                    self.API_BASE_URL + "token",
                    params={
                        "grant_type": "client_credential",
                        "appid": self.appid,
                        "secret": self.secret,
                    },
                    timeout=TIMEOUT_SECONDS,
                ).json()
            except (requests.RequestException, ValueError) as exc:
                raise DeliveryError(f"WeChat token fetch failed: {exc}") from exc
            if answer.get("errcode"):
                # A wrong appid or secret does not heal by itself.
                raise DeliveryError(
                    f"WeChat refused the token: {answer['errcode']} {answer.get('errmsg', '')}",
                    retryable=answer["errcode"] not in (40001, 40013, 40125, 40164),
                )
            self.session.set(self.access_token_key, answer["access_token"], answer["expires_in"])
            return answer

    return Client(
        settings["WECHAT_APP_ID"],
        settings["WECHAT_APP_SECRET"],
        session=DatabaseTokenStorage(),
        timeout=TIMEOUT_SECONDS,
    )


def send_wechat(settings: Mapping[str, Any], message: Message) -> None:
    """Send a template message to the owner's openid (the message's recipient)."""
    if not settings["WECHAT_APP_ID"]:
        raise DeliveryError("WeChat is not configured (M4S_WECHAT_APP_ID)", retryable=False)
    template_id = template_for(settings, "WECHAT_TEMPLATES", message.kind)
    data = {"first": {"value": message.subject}, "remark": {"value": message.body}}
    data.update({key: {"value": str(value)} for key, value in message.params.items()})
    client = _api_client(settings)
    try:
        client.message.send_template(message.recipient, template_id, data, url=message.link or None)
    except WeChatClientException as exc:
        code = exc.errcode
        raise DeliveryError(
            f"WeChat refused the template message: {code} {exc.errmsg}",
            retryable=code is None or code not in _PERMANENT,
        ) from exc
    except requests.RequestException as exc:
        raise DeliveryError(f"cannot reach WeChat: {exc.__class__.__name__}") from exc


def oauth(settings: Mapping[str, Any], redirect_uri: str, state: str) -> WeChatOAuth:
    """Return wechatpy's OAuth helper for the Official Account, on the configured bases."""
    api_base = settings["WECHAT_API_BASE"].rstrip("/") + "/"
    oauth_base = settings["WECHAT_OAUTH_BASE"].rstrip("/") + "/"

    class OAuth(WeChatOAuth):
        API_BASE_URL = api_base
        OAUTH_BASE_URL = oauth_base

    return OAuth(
        settings["WECHAT_APP_ID"],
        settings["WECHAT_APP_SECRET"],
        redirect_uri,
        scope="snsapi_base",
        state=state,
    )


def openid_from_code(settings: Mapping[str, Any], redirect_uri: str, code: str) -> str | None:
    """Exchange an OAuth code for the visitor's openid; None when WeChat refuses it."""
    try:
        answer = oauth(settings, redirect_uri, "").fetch_access_token(code)
    except (WeChatOAuthException, requests.RequestException):
        return None
    return answer.get("openid") or None


def token_cache_key(settings: Mapping[str, Any]) -> str:
    """Return the key of the cached access token (wechatpy's naming: appid_access_token)."""
    return f"{settings['WECHAT_APP_ID']}_access_token"


def cached_token(settings: Mapping[str, Any]) -> str | None:
    """Return the cached access token, if one is still valid."""
    row = db.session.scalar(
        select(ChannelToken).where(ChannelToken.key == token_cache_key(settings))
    )
    return row.value if row is not None and row.expires_at > now() else None
