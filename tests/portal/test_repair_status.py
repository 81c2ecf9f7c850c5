"""The repair status link: sent once at check-in through the outbox, opened without login,
steps that follow the job, a fragment that updates, forged and expired links refused, and the
back office's copy and resend."""

from __future__ import annotations

import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from portal.errors import Gone, NotFound, ValidationError
from portal.models import Booking, Notification, OutboxMessage
from portal.services import bookings as svc
from portal.services import channels
from portal.services import inspections as dvi
from portal.services.bookings import status_link
from portal.timeutil import now
from tests.portal.test_inspections import make_template
from tests.threads import at_once


@pytest.fixture
def scene(f):
    store = f.store()
    return store, f.advisor(store), f.owner(store)


def accepted(f, db, store, advisor, owner):
    booking = f.booking(owner, store)
    svc.accept(advisor, booking, bay=1)
    db.session.commit()
    return booking


def checked_in(f, db, store, advisor, owner):
    booking = accepted(f, db, store, advisor, owner)
    svc.check_in(advisor, booking, booking.vehicle.current_km + 100)
    db.session.commit()
    return booking


def link_rows(owner) -> list[OutboxMessage]:
    from portal.extensions import db

    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == owner.id))
    return [r for r in rows if "/status/" in (r.data or {}).get("link", "")]


def token_of(row: OutboxMessage) -> str:
    return row.data["link"].rsplit("/status/", 1)[1]


def states(booking) -> dict[str, str]:
    return {s.key: s.state for s in svc.repair_steps(booking)}


def current(booking) -> str:
    return next(k for k, v in states(booking).items() if v == "current")


def test_check_in_queues_the_link_once_on_the_owners_channels(app, scene, f, db):
    store, advisor, owner = scene
    booking = accepted(f, db, store, advisor, owner)
    assert link_rows(owner) == []
    ids = booking.id

    def check_in():
        b = db.session.get(Booking, ids)
        svc.check_in(advisor, b, b.vehicle.current_km + 10)

    results = at_once(app, check_in, 3)
    assert results.count(None) == 1  # the other two lose the conditional UPDATE
    rows = link_rows(owner)
    assert [(r.channel, r.recipient, r.kind) for r in rows] == [("email", owner.email, "booking")]
    assert svc.booking_from_link(token_of(rows[0])).id == booking.id
    assert "/status/" in rows[0].body  # email carries the link under the text
    note = db.session.scalar(select(Notification).where(Notification.user_id == owner.id))
    assert note is not None


def test_the_link_follows_the_owners_channel_choice(app, scene, f, db):
    store, advisor, owner = scene
    channels.save_preferences(owner, {"booking": set()})  # no messages about bookings
    db.session.commit()
    checked_in(f, db, store, advisor, owner)
    assert link_rows(owner) == []
    channels.save_preferences(owner, {"booking": {"email"}})
    db.session.commit()
    checked_in(f, db, store, advisor, owner)
    assert len(link_rows(owner)) == 1


def test_the_page_opens_without_login_and_shows_no_personal_data(client, scene, f, db):
    store, advisor, owner = scene
    booking = checked_in(f, db, store, advisor, owner)
    token = token_of(link_rows(owner)[0])
    r = client.get(f"/status/{token}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert store.name in html and status_link.mask_plate(booking.vehicle.plate) in html
    assert booking.vehicle.plate not in html  # masked
    assert owner.name not in html and owner.phone not in html and owner.email not in html
    assert 'data-step="checked_in" data-state="current"' in html
    assert f"/status/{token}/live" in html  # polls while the job is open


def test_the_steps_follow_status_inspection_and_quality_check(scene, f, db):
    store, advisor, owner = scene
    booking = checked_in(f, db, store, advisor, owner)
    assert current(booking) == "checked_in"
    inspection = dvi.start(advisor, booking, make_template(db, store).id)
    db.session.commit()
    assert current(booking) == "inspection"
    red, amber, *_ = inspection.items
    for item, severity in ((red, "red"), (amber, "amber")):
        dvi.record_item(advisor, inspection, item.id, severity=severity, note="", price_fen=100)
    dvi.send(advisor, inspection)
    db.session.commit()
    assert current(booking) == "approval"
    dvi.decide(inspection, red.id, True)
    db.session.commit()
    assert current(booking) == "approval"  # one still pending
    dvi.decide(inspection, amber.id, False)
    svc.start_work(advisor, booking)
    db.session.commit()
    assert current(booking) == "in_progress"
    assert states(booking)["approval"] == "done"
    svc.begin_quality_check(advisor, booking)
    db.session.commit()
    assert current(booking) == "quality_check"
    with pytest.raises(ValidationError):
        svc.begin_quality_check(advisor, booking)  # once
    svc.mark_ready(advisor, booking)
    db.session.commit()
    assert current(booking) == "ready"
    svc.complete(
        advisor,
        booking,
        [{"kind": "labour", "description": "检查", "unit_price_fen": 0}],
        fault_category="brakes",
    )
    db.session.commit()
    assert set(states(booking).values()) == {"done"}


def test_without_an_inspection_its_steps_are_skipped(scene, f, db):
    store, advisor, owner = scene
    booking = checked_in(f, db, store, advisor, owner)
    svc.start_work(advisor, booking)
    db.session.commit()
    assert states(booking) == {
        "checked_in": "done",
        "inspection": "skipped",
        "approval": "skipped",
        "in_progress": "current",
        "quality_check": "todo",
        "ready": "todo",
    }


def test_the_fragment_updates_with_the_job_and_stops_polling_at_the_end(client, scene, f, db):
    store, advisor, owner = scene
    booking = checked_in(f, db, store, advisor, owner)
    live = f"/status/{status_link.link_token(booking)}/live"
    before = client.get(live, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in before and 'data-step="checked_in" data-state="current"' in before
    svc.start_work(advisor, booking)
    svc.add_progress(advisor, booking, "正在更换刹车片")
    db.session.commit()
    after = client.get(live, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-step="in_progress" data-state="current"' in after
    assert "正在更换刹车片" in after and 'hx-trigger="every 5s"' in after
    svc.mark_ready(advisor, booking)
    svc.complete(
        advisor,
        booking,
        [{"kind": "labour", "description": "检查", "unit_price_fen": 0}],
        fault_category="brakes",
    )
    db.session.commit()
    done = client.get(live, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="repair-done"' in done and "hx-get" not in done


def test_forged_links_are_404_and_expired_links_410(app, client, clock, scene, f, db):
    store, advisor, owner = scene
    booking = checked_in(f, db, store, advisor, owner)
    token = status_link.link_token(booking)
    bad = token[:-10] + ("A" if token[-10] != "A" else "B") + token[-9:]
    secret = app.config["SECRET_KEY"]
    inspection_salt = URLSafeTimedSerializer(secret, salt="m4s.inspection.link")
    for forged in (bad, "not-a-token", inspection_salt.dumps({"b": booking.id})):
        with pytest.raises(NotFound):
            svc.booking_from_link(forged)
        r = client.get(f"/status/{forged}")
        assert r.status_code == 404 and "not valid" in r.get_data(as_text=True)
    other = URLSafeTimedSerializer(secret, salt=status_link.LINK_SALT)
    for payload in ({"b": 10**12}, {"b": True}, ["b", booking.id], {"i": booking.id}):
        assert client.get(f"/status/{other.dumps(payload)}").status_code == 404

    days = app.config["STATUS_LINK_MAX_DAYS"]

    class SignedLongAgo(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - days * 86400 - 5

    old = URLSafeTimedSerializer(secret, salt=status_link.LINK_SALT, signer=SignedLongAgo)
    r = client.get(f"/status/{old.dumps({'b': booking.id})}")
    assert r.status_code == 410 and "expired" in r.get_data(as_text=True)

    svc.start_work(advisor, booking)
    svc.complete(
        advisor,
        booking,
        [{"kind": "labour", "description": "检查", "unit_price_fen": 0}],
        fault_category="brakes",
    )
    db.session.commit()
    clock.advance(days=app.config["STATUS_LINK_DAYS"] - 1)
    assert client.get(f"/status/{token}").status_code == 200  # a few days after the job
    clock.advance(days=2)
    with pytest.raises(Gone):
        svc.booking_from_link(token)
    r = client.get(f"/status/{token}/live", headers={"HX-Request": "true"})
    assert r.status_code == 410 and "<html" not in r.get_data(as_text=True)


def test_the_live_view_is_offered_only_in_progress_with_a_bay_camera(client, scene, f, db):
    from workshop_video.models import Camera

    store, advisor, owner = scene
    booking = checked_in(f, db, store, advisor, owner)
    svc.start_work(advisor, booking)
    db.session.commit()
    page = f"/status/{status_link.link_token(booking)}"
    assert 'id="repair-watch"' not in client.get(page).get_data(as_text=True)
    db.session.add(Camera(store_id=store.id, bay=booking.bay, name="1号工位", source="file:x"))
    db.session.commit()
    html = client.get(page).get_data(as_text=True)
    assert 'id="repair-watch"' in html and f"/bookings/{booking.id}/video" in html


def test_advisor_checks_in_with_a_promised_time_and_resends_the_link(client, auth, scene, f, db):
    store, advisor, owner = scene
    booking = accepted(f, db, store, advisor, owner)
    auth.login(advisor)
    step = f"/admin/workshop/{booking.id}/step"
    km = booking.vehicle.current_km + 50
    client.post(step, data={"action": "check_in", "km": km, "promised": "tomorrow 5pm"})
    db.session.refresh(booking)
    assert booking.status == "accepted" and link_rows(owner) == []  # refused, nothing changed
    past = (now() - timedelta(days=1)).astimezone(ZoneInfo(store.timezone))
    client.post(step, data={"action": "check_in", "km": km, "promised": f"{past:%Y-%m-%dT%H:%M}"})
    db.session.refresh(booking)
    assert booking.status == "accepted" and link_rows(owner) == []  # already passed
    day = (now() + timedelta(days=2)).astimezone(ZoneInfo(store.timezone)).date()
    client.post(step, data={"action": "check_in", "km": km, "promised": f"{day}T17:30"})
    db.session.refresh(booking)
    assert booking.status == "checked_in"
    local = booking.promised_at.astimezone(ZoneInfo(store.timezone))
    assert (local.date(), local.hour, local.minute) == (day, 17, 30)
    html = client.get(f"/status/{token_of(link_rows(owner)[0])}").get_data(as_text=True)
    assert f"{day} " in html and "17:30" in html  # shown in the store's zone, as typed
    board = client.get("/admin/workshop/").get_data(as_text=True)
    assert f'id="status-link-{booking.id}"' in board and "/status/" in board
    r = client.post(f"/admin/workshop/{booking.id}/status-link")
    assert r.status_code == 303
    assert len(link_rows(owner)) == 2  # resent on purpose

    other = f.advisor(f.store())
    auth.logout()
    auth.login(other)
    assert client.post(f"/admin/workshop/{booking.id}/status-link").status_code == 404
    assert len(link_rows(owner)) == 2


def test_the_link_is_sent_only_once_the_car_is_in(scene, f, db):
    store, advisor, owner = scene
    booking = accepted(f, db, store, advisor, owner)
    with pytest.raises(ValidationError):
        svc.resend_link(advisor, booking)
    assert link_rows(owner) == []


def test_mask_plate():
    assert status_link.mask_plate("粤B·12345") == "粤B***45"
    assert status_link.mask_plate("粤B12") == "粤***"
    assert status_link.mask_plate("") == ""
