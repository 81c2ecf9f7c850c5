"""Booking messages reach the owner in the owner's language, not the advisor's who clicked."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.models import Notification, OutboxMessage
from portal.services import bookings as svc
from tests.factories import slot


@pytest.fixture
def booked(f, db):
    """A Chinese-speaking owner's pending booking, and an English-speaking advisor."""
    store = f.store(bays=2)
    advisor = f.advisor(store, locale="en")
    owner = f.owner(store, locale="zh_CN", email="owner@example.com")
    vehicle = f.vehicle(owner)
    booking = svc.book_repair(owner, vehicle, store, slot(store, 1, 9), ["repair"])
    db.session.commit()
    return advisor, owner, booking


def _told(db, owner) -> tuple[str, list[str]]:
    """Return the owner's last in-app text and the subjects queued for them."""
    text = db.session.scalars(
        select(Notification.text)
        .where(Notification.user_id == owner.id)
        .order_by(Notification.id.desc())
    ).first()
    subjects = db.session.scalars(
        select(OutboxMessage.subject).where(OutboxMessage.user_id == owner.id)
    ).all()
    return text, subjects


def _decide(app, advisor, booking, data):
    client = app.test_client()
    client.post("/login", data={"login": advisor.phone, "password": "correct horse battery staple"})
    page = client.get("/admin/queue/").get_data(as_text=True)
    assert "Booking queue" in page  # the advisor works in English
    r = client.post(f"/admin/queue/{booking.id}/decide", data=data, headers={"HX-Request": "true"})
    assert r.status_code == 200, r.get_data(as_text=True)[:300]


def test_a_chinese_owner_reads_chinese_when_an_english_advisor_accepts(app, db, booked):
    advisor, owner, booking = booked
    _decide(app, advisor, booking, {"action": "accept", "bay": "1"})
    text, subjects = _told(db, owner)
    assert text == f"您的预约 #{booking.id} 已被接受。"
    assert subjects and set(subjects) == {f"您的维修预约 #{booking.id}"}


def test_a_declined_booking_names_its_reason_in_the_owners_language(app, db, booked):
    advisor, owner, booking = booked
    _decide(app, advisor, booking, {"action": "reject", "reason": "no_capacity"})
    text, _subjects = _told(db, owner)
    assert text == f"您的预约 #{booking.id} 未被接受：所选时段已无空位"


def test_an_english_owner_still_reads_english_from_a_chinese_advisor(app, db, f, booked):
    advisor, owner, booking = booked
    advisor.locale, owner.locale = "zh_CN", "en"
    db.session.commit()
    client = app.test_client()
    client.post("/login", data={"login": advisor.phone, "password": "correct horse battery staple"})
    r = client.post(
        f"/admin/queue/{booking.id}/decide",
        data={"action": "reject", "reason": "parts_unavailable"},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200
    text, subjects = _told(db, owner)
    assert text == f"Your booking #{booking.id} was declined: Parts not available"
    assert set(subjects) == {f"Your repair booking #{booking.id}"}
