"""Binding WeChat: link + QR on the account page, the OA's OAuth, then template messages."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select

from portal.models import OutboxMessage, WeChatBinding
from portal.services import notify
from portal.services.outbox import load_deliverers
from tests import channel_fakes


@pytest.fixture
def wechat(app, monkeypatch):
    fake = channel_fakes.wechat_fake("wxappid", "wxsecret", {"openid-owner", "openid-other"})
    for key, value in {
        "WECHAT_APP_ID": "wxappid",
        "WECHAT_APP_SECRET": "wxsecret",
        "WECHAT_API_BASE": fake.url,
        "WECHAT_OAUTH_BASE": fake.url + "connect/",
        "WECHAT_TEMPLATES": {"booking": "TPL-booking"},
    }.items():
        monkeypatch.setitem(app.config, key, value)
    yield fake
    fake.stop()


def bind_link(client) -> str:
    page = client.get("/account/channels").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page  # the QR code, inline
    return re.search(r'id="wechat-bind-link" href="([^"]+)"', page).group(1)


def open_in_wechat(wechat, link: str, openid: str, app):
    """Walk the link as WeChat's browser would: our redirect, WeChat's OAuth, our callback."""
    phone = app.test_client()  # WeChat's in-app browser: not logged in to the portal
    r = phone.get(urlsplit(link).path)
    assert r.status_code == 302
    authorize = r.headers["Location"]
    assert authorize.startswith(wechat.url + "connect/oauth2/authorize?appid=wxappid")
    wechat.state["visitor"] = openid
    back = requests.get(authorize.replace("#wechat_redirect", ""), allow_redirects=False, timeout=5)
    assert back.status_code == 302
    callback = urlsplit(back.headers["Location"])
    return phone, phone.get(f"{callback.path}?{callback.query}")


def test_owner_binds_wechat_and_gets_template_messages(f, app, auth, client, db, wechat):
    owner = f.owner(f.store())
    auth.login(owner)
    phone, confirm = open_in_wechat(wechat, bind_link(client), "openid-owner", app)
    assert confirm.status_code == 200 and owner.name in confirm.get_data(as_text=True)
    assert db.session.get(WeChatBinding, owner.id) is None  # nothing until confirmed
    done = phone.post("/wechat/bind")
    assert done.status_code == 200 and "Your WeChat is bound" in done.get_data(as_text=True)
    assert db.session.get(WeChatBinding, owner.id).openid == "openid-owner"
    assert "Unbind WeChat" in client.get("/account/channels").get_data(as_text=True)

    notify.notify(owner, "Your car is ready.", "/bookings/7", kind="booking")
    db.session.commit()
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.channel == "wechat"))
    assert row.recipient == "openid-owner"
    load_deliverers()["wechat"](row)
    sent = [r.json for r in wechat.received if r.path.endswith("template/send")]
    assert sent[0]["touser"] == "openid-owner" and sent[0]["template_id"] == "TPL-booking"
    assert sent[0]["url"].endswith("/bookings/7")


def test_a_link_binds_once(f, app, auth, client, db, wechat):
    owner = f.owner(f.store())
    auth.login(owner)
    link = bind_link(client)
    phone, _ = open_in_wechat(wechat, link, "openid-owner", app)
    assert phone.post("/wechat/bind").status_code == 200
    intruder, _ = open_in_wechat(wechat, link, "openid-other", app)
    r = intruder.post("/wechat/bind")
    assert r.status_code == 400 and "already used" in r.get_data(as_text=True)
    assert db.session.get(WeChatBinding, owner.id).openid == "openid-owner"


def test_one_wechat_cannot_take_two_accounts(f, app, auth, client, db, wechat):
    first, second = f.owner(f.store()), f.owner(f.store())
    db.session.add(WeChatBinding(user_id=first.id, openid="openid-owner"))
    db.session.commit()
    auth.login(second)
    phone, _ = open_in_wechat(wechat, bind_link(client), "openid-owner", app)
    r = phone.post("/wechat/bind")
    assert r.status_code == 400 and "bound to another M4S account" in r.get_data(as_text=True)
    assert db.session.get(WeChatBinding, second.id) is None


def test_bad_or_expired_links_are_refused_clearly(f, app, auth, client, db, wechat, monkeypatch):
    owner = f.owner(f.store())
    auth.login(owner)
    path = urlsplit(bind_link(client)).path
    r = client.get(path[:-3] + "xyz")
    assert r.status_code == 400 and "not valid or has expired" in r.get_data(as_text=True)
    monkeypatch.setitem(app.config, "WECHAT_BIND_MINUTES", -1)
    assert client.get(path).status_code == 400
    assert client.get("/wechat/callback?code=x&state=junk").status_code == 400


def test_a_refused_oauth_code_binds_nothing(f, app, auth, client, db, wechat):
    owner = f.owner(f.store())
    auth.login(owner)
    token = urlsplit(bind_link(client)).path.rsplit("/", 1)[1]
    r = app.test_client().get(f"/wechat/callback?code=forged&state={token}")
    assert r.status_code == 400 and "WeChat did not confirm" in r.get_data(as_text=True)
    assert app.test_client().post("/wechat/bind").status_code == 400
    assert db.session.get(WeChatBinding, owner.id) is None


def test_unbind(f, auth, client, db, wechat):
    owner = f.owner(f.store())
    db.session.add(WeChatBinding(user_id=owner.id, openid="openid-owner"))
    db.session.commit()
    auth.login(owner)
    assert client.post("/account/channels/wechat/unbind").status_code == 303
    assert db.session.get(WeChatBinding, owner.id) is None
