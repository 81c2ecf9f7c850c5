"""Owners' channel choices, quiet hours in the store's zone, and notify's fan-out."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal.models import OutboxMessage, WeChatBinding
from portal.services import channels, notify


@pytest.fixture
def sms_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_PROVIDER", "gateway")


def at_shanghai(hour: int, minute: int = 0, day: int = 3) -> datetime:
    """The UTC instant of a Shanghai wall-clock time in December 2026."""
    return datetime(2026, 12, day, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


def by_channel(found):
    return {route.channel: route for route in found}


def test_defaults_everything_but_marketing(f, sms_on):
    owner = f.owner(f.store())
    found = by_channel(channels.routes(owner, "booking", at_shanghai(10)))
    assert set(found) == {"email", "sms"}
    assert found["sms"].recipient == owner.phone and found["sms"].not_before is None
    assert channels.routes(owner, "marketing", at_shanghai(10)) == []
    assert channels.preferences(owner)["marketing"] == {
        "inapp": False,
        "email": False,
        "sms": False,
        "wechat": False,
    }


def test_no_sms_without_a_provider(f):
    owner = f.owner(f.store())
    assert [r.channel for r in channels.routes(owner, "booking", at_shanghai(10))] == ["email"]


@pytest.mark.parametrize(
    ("hour", "minute", "waits_until"),
    [
        (22, 30, datetime(2026, 12, 4, 0, 0, tzinfo=UTC)),  # 08:00 next day in Shanghai
        (21, 0, datetime(2026, 12, 4, 0, 0, tzinfo=UTC)),
        (7, 59, datetime(2026, 12, 3, 0, 0, tzinfo=UTC)),  # 08:00 the same day
        (0, 10, datetime(2026, 12, 3, 0, 0, tzinfo=UTC)),
        (8, 0, None),
        (20, 59, None),
    ],
)
def test_sms_waits_out_quiet_hours(f, sms_on, hour, minute, waits_until):
    owner = f.owner(f.store())
    at = at_shanghai(hour, minute, day=3)
    sms = by_channel(channels.routes(owner, "reminder", at))["sms"]
    assert sms.not_before == waits_until


def test_rescue_sms_goes_out_at_night(f, sms_on):
    owner = f.owner(f.store())
    sms = by_channel(channels.routes(owner, "rescue", at_shanghai(23, 45)))["sms"]
    assert sms.not_before is None


def test_quiet_hours_follow_the_store_zone(f, sms_on, db):
    berlin = f.store()
    berlin.timezone = "Europe/Berlin"
    db.session.commit()
    owner = f.owner(berlin)
    # 22:30 in Shanghai is 15:30 in Berlin (winter): not quiet there.
    assert (
        by_channel(channels.routes(owner, "reminder", at_shanghai(22, 30)))["sms"].not_before
        is None
    )
    # 23:00 in Berlin on 3 December is 22:00 UTC; quiet until 08:00 Berlin = 07:00 UTC.
    late = datetime(2026, 12, 3, 22, 0, tzinfo=UTC)
    sms = by_channel(channels.routes(owner, "reminder", late))["sms"]
    assert sms.not_before == datetime(2026, 12, 4, 7, 0, tzinfo=UTC)


def test_choices_are_saved_and_followed(f, sms_on, db):
    owner = f.owner(f.store())
    channels.save_preferences(owner, {"booking": {"email"}, "marketing": {"sms"}})
    db.session.commit()
    assert channels.preferences(owner)["booking"] == {"email": True, "sms": False, "wechat": False}
    assert channels.preferences(owner)["rescue"] == {"email": False, "sms": False, "wechat": False}
    assert [r.channel for r in channels.routes(owner, "booking", at_shanghai(10))] == ["email"]
    assert [r.channel for r in channels.routes(owner, "marketing", at_shanghai(10))] == ["sms"]


def test_wechat_only_when_bound_and_configured(f, app, db, monkeypatch):
    owner = f.owner(f.store())
    db.session.add(WeChatBinding(user_id=owner.id, openid="o-1"))
    db.session.commit()
    assert "wechat" not in by_channel(channels.routes(owner, "booking", at_shanghai(10)))
    monkeypatch.setitem(app.config, "WECHAT_APP_ID", "wx1")
    assert (
        by_channel(channels.routes(owner, "booking", at_shanghai(10)))["wechat"].recipient == "o-1"
    )


def test_staff_get_email_only_and_the_store_webhook_gets_rescues(f, app, sms_on, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_URL", "http://127.0.0.1:9/hook")
    advisor = f.advisor(f.store())
    assert [r.channel for r in channels.routes(advisor, "rescue", at_shanghai(10))] == [
        "email",
        "webhook",
    ]
    assert [r.channel for r in channels.routes(advisor, "account", at_shanghai(10))] == ["email"]


def test_notify_writes_outbox_rows_in_the_callers_transaction(f, app, sms_on, db, clock):
    owner = f.owner(f.store())
    clock.now = at_shanghai(22, 0)
    notify.notify(owner, "Your car is ready.", "/bookings/1", subject="Booking #1", kind="booking")
    rows = {
        m.channel: m
        for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == owner.id))
    }
    assert set(rows) == {"email", "sms"}
    assert rows["email"].body.endswith("/bookings/1") and rows["email"].subject == "Booking #1"
    assert rows["sms"].body == "Your car is ready."
    assert rows["sms"].data["params"] == {"text": "Your car is ready."}
    assert rows["sms"].next_attempt_at == datetime(2026, 12, 4, 0, 0, tzinfo=UTC)
    db.session.rollback()  # the caller's transaction rolls back: no message survives it
    assert db.session.scalar(select(OutboxMessage).where(OutboxMessage.user_id == owner.id)) is None


def test_settings_page_saves_the_grid(f, auth, client, db):
    owner = f.owner(f.store())
    auth.login(owner)
    page = client.get("/account/channels").get_data(as_text=True)
    assert 'name="marketing-sms"' in page and 'name="marketing-sms" checked' not in page
    assert 'name="rescue-sms" checked' in page
    r = client.post("/account/channels", data={"rescue-sms": "on", "booking-wechat": "on"})
    assert r.status_code == 303
    prefs = channels.preferences(owner)
    assert prefs["rescue"] == {"email": False, "sms": True, "wechat": False}
    assert prefs["booking"] == {"email": False, "sms": False, "wechat": True}
    assert prefs["marketing"] == {"inapp": False, "email": False, "sms": False, "wechat": False}


def test_settings_page_is_for_owners(f, auth, client):
    assert client.get("/account/channels").status_code == 302
    auth.login(f.advisor(f.store()))
    assert client.get("/account/channels").status_code == 403
    assert client.post("/account/channels", data={"rescue-sms": "on"}).status_code == 403
