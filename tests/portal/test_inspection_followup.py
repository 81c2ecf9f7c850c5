"""After the recording: the advisor is told once when a technician finishes an inspection, and
the technician follows the owner's decisions on it, read only (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from sqlalchemy import func, select

from portal.models import (
    AuditEvent,
    Booking,
    Inspection,
    InspectionClip,
    InspectionItem,
    Notification,
    OutboxMessage,
    User,
)
from portal.services import inspections as svc
from portal.services.bookings import job_card
from tests.portal.test_bookings import jpeg
from tests.portal.test_inspections import checked_in_booking, make_template
from tests.threads import at_once

HX = {"HX-Request": "true"}


@pytest.fixture
def shop(f, db):
    """Store A with an English-reading advisor, a manager and two technicians, the car of one
    of them in the workshop; store B with its own advisor and technician."""
    store, other = f.store("A"), f.store("B")
    advisor = f.advisor(store, locale="en", email="li.advisor@example.com")
    manager = f.manager(store, locale="zh_CN", email="boss@example.com")
    me, colleague = f.technician(store, locale="zh_CN"), f.technician(store)
    advisor_b, tech_b = f.advisor(other), f.technician(other)
    template = make_template(db, store)
    mine = checked_in_booking(f, db, store, advisor)
    job_card.assign(advisor, mine, me.id)
    db.session.commit()
    return {
        "advisor": advisor,
        "manager": manager,
        "me": me,
        "colleague": colleague,
        "advisor_b": advisor_b,
        "tech_b": tech_b,
        "template": template,
        "mine": mine,
    }


def _recorded(db, shop) -> Inspection:
    """The technician's inspection of their car: a red item with a photo and a ready clip, an
    amber one, the rest green."""
    me = shop["me"]
    inspection = svc.start(me, shop["mine"], shop["template"].id)
    red, amber = inspection.items[0], inspection.items[1]
    svc.record_item(
        me, inspection, red.id, severity="red", note="刹车片 2 mm", price_fen=48000, photo=jpeg()
    )
    svc.record_item(me, inspection, amber.id, severity="amber", note="", price_fen=12000)
    video = b"\x00\x00\x00\x18ftypmp42" + bytes(200)
    db.session.add(
        InspectionClip(
            item_id=red.id,
            status="ready",
            video=video,
            poster=jpeg(exif=False),
            content_type="video/mp4",
            video_bytes=len(video),
            sha256=hashlib.sha256(video).hexdigest(),
            width=720,
            height=404,
            duration_ms=2000,
        )
    )
    db.session.commit()
    return inspection


def _told(user: User) -> tuple[list[Notification], list[OutboxMessage]]:
    from portal.extensions import db

    db.session.expire_all()
    notes = db.session.scalars(select(Notification).where(Notification.user_id == user.id)).all()
    mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == user.id)).all()
    return list(notes), list(mails)


# --- the advisor is told -------------------------------------------------------------------


def test_finishing_tells_the_advisor_once_in_their_language(shop, client, auth, db):
    inspection = _recorded(db, shop)
    auth.login(shop["me"])  # a technician reading Chinese
    base = f"/admin/inspections/{inspection.id}"
    for _tap in range(2):  # the second tap changes nothing
        assert client.post(f"{base}/finish").status_code == 303
    notes, mails = _told(shop["advisor"])
    plate = shop["mine"].vehicle.plate
    assert [n.link for n in notes] == [base]
    assert notes[0].text.startswith(f"{shop['me'].name} finished the inspection of {plate}")
    assert "2 recommendations" in notes[0].text and "send it to the owner" in notes[0].text
    # Their channel (staff have email) is an outbox row for the worker, sent after the request.
    assert [(m.channel, m.recipient, m.kind, m.status) for m in mails] == [
        ("email", "li.advisor@example.com", "workshop", "pending")
    ]
    assert mails[0].subject == f"Inspection of {plate} ready to send"
    assert mails[0].body.endswith(base)  # the link to check and send, absolute
    assert mails[0].body.split()[-1].startswith("http")
    # Nobody else hears of it: not the technician, not the manager (the job has an advisor).
    for user in (shop["me"], shop["manager"], shop["colleague"]):
        assert _told(user) == ([], [])
    # The link opens the page where the advisor checks the prices and sends.
    auth.logout()
    auth.login(shop["advisor"])
    page = client.get(notes[0].link).get_data(as_text=True)
    assert 'id="dvi-finished"' in page and 'id="dvi-send"' in page
    messages = client.get("/notifications/").get_data(as_text=True)
    assert f'href="{base}"' in messages


def test_a_job_without_an_advisor_tells_the_stores_managers_in_theirs(shop, db):
    booking = db.session.get(Booking, shop["mine"].id)
    booking.advisor_id = None
    db.session.commit()
    inspection = _recorded(db, shop)
    svc.finish(shop["me"], inspection)
    db.session.commit()
    notes, mails = _told(shop["manager"])
    assert len(notes) == 1 and "完成" in notes[0].text and shop["me"].name in notes[0].text
    assert [m.recipient for m in mails] == ["boss@example.com"]
    assert _told(shop["advisor"]) == ([], [])


def test_an_advisor_who_finishes_it_is_not_told_what_they_did(shop, db):
    inspection = _recorded(db, shop)
    svc.finish(shop["advisor"], inspection)
    db.session.commit()
    assert _told(shop["advisor"]) == ([], [])


def test_two_finishes_at_once_tell_the_advisor_once(app, shop, db):
    inspection = _recorded(db, shop)
    inspection_id, me_id = inspection.id, shop["me"].id
    db.session.commit()

    def finish():
        from portal.extensions import db as tdb

        me = tdb.session.get(User, me_id)
        return svc.finish(me, tdb.session.get(Inspection, inspection_id)).id

    assert at_once(app, finish, 2) == [inspection_id, inspection_id]
    notes, mails = _told(shop["advisor"])
    assert len(notes) == 1 and len(mails) == 1
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "inspection_finished")
        )
        == 1
    )


# --- the technician follows the decisions --------------------------------------------------


def _sent(db, shop) -> Inspection:
    inspection = _recorded(db, shop)
    svc.finish(shop["me"], inspection)
    svc.send(shop["advisor"], inspection)
    db.session.commit()
    return inspection


def test_the_technician_follows_the_owners_decisions_read_only(shop, client, auth, db):
    inspection = _sent(db, shop)
    red, amber = inspection.items[0], inspection.items[1]
    svc.decide(inspection, red.id, approve=True)
    db.session.commit()
    auth.login(shop["me"])
    base = f"/admin/inspections/{inspection.id}"
    page = client.get(base)
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    # Every item, with its note, photo and clip, and the decisions so far.
    for item in inspection.items:
        assert f'id="view-item-{item.id}"' in body
    assert "刹车片 2 mm" in body
    assert f'id="outcome-item-{red.id}"' in body and f'id="outcome-item-{amber.id}"' in body
    assert re.search(rf'decision-approved" id="outcome-item-{red.id}"', body)
    assert re.search(rf'decision-pending" id="outcome-item-{amber.id}"', body)
    thumb = re.search(r'src="(/media/[^"]+/thumb)"', body).group(1)
    assert client.get(thumb).status_code == 200
    clip = f"{base}/items/{red.id}/clip"
    assert f'src="{clip}"' in body and client.get(clip).status_code in (200, 206)
    # It keeps itself up to date while the owner still decides.
    assert f'hx-get="{base}/outcome"' in body
    # Nothing on it changes the inspection, and trying changes nothing either.
    assert f'action="{base}/items/' not in body and f'action="{base}/finish"' not in body
    assert 'name="severity"' not in body and "dvi-send" not in body and "dvi-finish" not in body
    save = client.post(f"{base}/items/{amber.id}", data={"severity": "green", "price": "0"})
    assert save.status_code == 409
    assert client.post(f"{base}/send").status_code == 403
    db.session.expire_all()
    assert db.session.get(InspectionItem, amber.id).severity == "amber"

    # The owner declines the other item: the next poll shows it, and polling stops.
    svc.decide(db.session.get(Inspection, inspection.id), amber.id, approve=False)
    db.session.commit()
    fragment = client.get(f"{base}/outcome", headers=HX)
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in text
    assert re.search(rf'decision-declined" id="outcome-item-{amber.id}"', text)
    assert "hx-get" not in text and "hx-trigger" not in text
    counts = text.split('id="outcome-counts"')[1].split("</p>")[0]
    assert "480.00" in counts  # the amount approved


def test_the_outcome_is_only_for_the_job_the_technician_is_assigned_to(shop, client, auth, db):
    inspection = _sent(db, shop)
    base = f"/admin/inspections/{inspection.id}"
    red = inspection.items[0]
    auth.login(shop["me"])
    thumb = re.search(r'src="(/media/[^"]+/thumb)"', client.get(base).get_data(as_text=True))
    thumb = thumb.group(1)
    auth.logout()
    for other in ("colleague", "tech_b", "advisor_b"):
        auth.login(shop[other])
        for url in (base, f"{base}/outcome", f"{base}/items/{red.id}/clip", thumb):
            assert client.get(url).status_code == 404, (other, url)
        auth.logout()
    auth.login(shop["advisor"])  # the store's staff may read it too
    assert client.get(f"{base}/outcome", headers=HX).status_code == 200
    auth.logout()
    # Taken off the job, the technician loses it as well.
    job_card.unassign(shop["advisor"], db.session.get(Booking, shop["mine"].id), shop["me"].id)
    db.session.commit()
    auth.login(shop["me"])
    assert client.get(base).status_code == 404
    assert client.get(f"{base}/outcome").status_code == 404


def test_a_draft_has_no_decisions_to_follow(shop, client, auth, db):
    inspection = _recorded(db, shop)
    auth.login(shop["me"])
    fragment = client.get(f"/admin/inspections/{inspection.id}/outcome", headers=HX)
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in text
    assert "outcome-item-" not in text and "hx-get" not in text


def test_a_photo_upload_by_the_technician_is_refused_once_sent(shop, client, auth, db):
    inspection = _sent(db, shop)
    amber = inspection.items[1]
    auth.login(shop["me"])
    r = client.post(
        f"/admin/inspections/{inspection.id}/items/{amber.id}",
        data={"severity": "amber", "price": "1", "photo": (io.BytesIO(jpeg()), "p.jpg")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 409
    db.session.expire_all()
    assert db.session.get(InspectionItem, amber.id).image_id is None
