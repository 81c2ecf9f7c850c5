"""The worker delivers channel messages: Aliyun SMS after quiet hours, rescues at once."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal.models import OutboxMessage
from portal.services import notify
from portal.worker.delivery import deliver_due
from tests import channel_fakes

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def aliyun(app, monkeypatch):
    fake = channel_fakes.aliyun_fake({"LTAIkey": "s3cret"})
    for key, value in {
        "SMS_PROVIDER": "aliyun",
        "SMS_SIGN_NAME": "四季车服",
        "SMS_TEMPLATES": {
            "booking": "SMS_BOOKING",
            "rescue": "SMS_RESCUE",
            "reminder": "SMS_REMINDER",
        },
        "ALIYUN_SMS_ENDPOINT": fake.url,
        "ALIYUN_ACCESS_KEY_ID": "LTAIkey",
        "ALIYUN_ACCESS_KEY_SECRET": "s3cret",
    }.items():
        monkeypatch.setitem(app.config, key, value)
    yield fake
    fake.stop()


def test_night_sms_waits_for_the_morning_but_a_rescue_does_not(f, db, aliyun, clock):
    owner = f.owner(f.store(), email=None)
    clock.now = datetime(2026, 12, 3, 22, 30, tzinfo=SHANGHAI)
    notify.notify(owner, "Your car is ready.", "/bookings/1", kind="booking")
    notify.notify(owner, "A truck is on its way.", "/rescue/1", kind="rescue")
    db.session.commit()
    assert deliver_due()["sent"] == 1
    assert [r.form["TemplateCode"] for r in aliyun.received] == ["SMS_RESCUE"]
    clock.now = datetime(2026, 12, 4, 7, 59, tzinfo=SHANGHAI)
    assert deliver_due()["sent"] == 0
    clock.now = datetime(2026, 12, 4, 8, 0, tzinfo=SHANGHAI)
    assert deliver_due()["sent"] == 1
    assert aliyun.received[-1].form["TemplateCode"] == "SMS_BOOKING"
    assert aliyun.received[-1].form["PhoneNumbers"] == owner.phone


def test_a_refused_number_becomes_a_dead_letter_at_once(f, db, aliyun):
    owner = f.owner(f.store(), email=None, phone="12000000000")
    notify.notify(owner, "A truck is on its way.", "/rescue/1", kind="rescue")
    db.session.commit()
    assert deliver_due() == {"sent": 0, "retry": 0, "dead": 1, "lost": 0}
    row = db.session.scalar(select(OutboxMessage))
    assert row.attempts == 1 and "MOBILE_NUMBER_ILLEGAL" in row.last_error


def test_a_throttled_send_is_retried_later(f, db, aliyun):
    owner = f.owner(f.store(), email=None, phone="13900000000")  # the fake throttles it
    notify.notify(owner, "A truck is on its way.", "/rescue/1", kind="rescue")
    db.session.commit()
    assert deliver_due()["retry"] == 1
    assert db.session.scalar(select(OutboxMessage.status)) == "pending"


def test_maintenance_reminders_go_by_sms_with_plate_and_item(f, db, aliyun, clock):
    from portal.services import channels, maintenance
    from tests.portal.test_maintenance import make_plan

    make_plan(db)
    owner = f.owner(f.store())
    vehicle = f.vehicle(owner, current_km=10_200)  # due now
    texting_off = f.owner(f.store())
    f.vehicle(texting_off, current_km=10_200)
    channels.save_preferences(texting_off, {"reminder": {"email"}})
    db.session.commit()
    clock.now = datetime(2026, 12, 3, 10, 0, tzinfo=SHANGHAI)
    assert maintenance.send_due_reminders() == 2
    sms = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms")).all()
    assert [m.recipient for m in sms] == [owner.phone]
    deliver_due(channels=["sms"])
    form = aliyun.received[0].form
    assert form["TemplateCode"] == "SMS_REMINDER"
    assert json.loads(form["TemplateParam"])["plate"] == vehicle.plate
