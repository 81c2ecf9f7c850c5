"""After hours: a lead's first contact is due at the next opening, the customer is told once
through the outbox, and escalation waits for the due time (a controllable clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from crm import escalation
from crm import leads as svc
from crm.models import FIRST_CONTACT, PORTAL, Task
from crm.staffing_models import TaskEscalation
from portal.models import Notification, OutboxMessage
from portal.models.bookings import StoreDay

SH = timedelta(hours=8)  # Asia/Shanghai, no DST


def at_local(y, m, d, hh, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=UTC) - SH


def capture(store, phone="13800000001"):
    got = svc.capture(
        svc.Inquiry(name="王先生", phone=phone, store=store, source=PORTAL, email="w@example.com")
    )
    return got.lead


def task_of(db, lead):
    return db.session.scalar(
        select(Task).where(Task.lead_id == lead.id, Task.kind == FIRST_CONTACT)
    )


def acks(db, lead):
    return db.session.scalar(
        select(func.count(OutboxMessage.id)).where(OutboxMessage.user_id == lead.customer_id)
    )


def test_open_hours_due_in_the_store_minutes_and_no_acknowledgement(f, db, clock):
    clock.now = at_local(2026, 12, 2, 10)  # Wednesday 10:00
    store = f.store(first_contact_minutes=7)
    f.advisor(store)
    lead = capture(store)
    db.session.commit()
    assert task_of(db, lead).due_at == clock.now + timedelta(minutes=7)
    assert acks(db, lead) == 0


def test_weekday_evening_is_due_next_opening_and_the_customer_is_told_once(f, db, clock):
    clock.now = at_local(2026, 12, 2, 20, 30)  # Wednesday 20:30, closed at 18:00
    store = f.store()
    f.advisor(store)
    lead = capture(store)
    db.session.commit()
    assert task_of(db, lead).due_at == at_local(2026, 12, 3, 8, 30)
    rows = list(
        db.session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == lead.customer_id))
    )
    assert [r.channel for r in rows] == ["email"]  # queued, not sent in the request
    assert "2026-12-03 08:30" in rows[0].body
    capture(store)  # the same customer asks again the same night: no second acknowledgement
    db.session.commit()
    assert acks(db, lead) == 1


def test_acknowledgement_in_the_customer_language(f, db, clock):
    clock.now = at_local(2026, 12, 2, 23)
    store = f.store()
    f.advisor(store)
    owner = f.owner(store, phone="13800000002", email="en@example.com")
    owner.locale = "en"
    db.session.commit()
    lead = svc.capture(
        svc.Inquiry(name=owner.name, phone="13800000002", store=store, source=PORTAL)
    ).lead
    db.session.commit()
    body = db.session.scalar(
        select(OutboxMessage.body).where(OutboxMessage.user_id == lead.customer_id)
    )
    assert "your advisor will call you at 2026-12-03 08:30" in body


def test_saturday_evening_with_sunday_closed_is_due_monday(f, db, clock):
    clock.now = at_local(2026, 12, 5, 19)  # Saturday 19:00
    store = f.store(closed_weekdays="6")
    f.advisor(store)
    lead = capture(store)
    db.session.commit()
    assert task_of(db, lead).due_at == at_local(2026, 12, 7, 8, 30)


def test_a_holiday_in_store_days_is_skipped(f, db, clock):
    clock.now = at_local(2026, 12, 2, 7)  # Wednesday 07:00, before opening
    store = f.store()
    f.advisor(store)
    db.session.add(StoreDay(store_id=store.id, day=datetime(2026, 12, 2).date(), closed=True))
    db.session.commit()
    lead = capture(store)
    db.session.commit()
    assert task_of(db, lead).due_at == at_local(2026, 12, 3, 8, 30)


def test_escalation_waits_for_the_opening(f, db, clock):
    clock.now = at_local(2026, 12, 2, 21)
    store = f.store()
    f.advisor(store)
    manager = f.manager(store)
    lead = capture(store)
    db.session.commit()
    clock.advance(hours=11)  # 08:00 next morning: still before 08:30
    assert escalation.escalate_missed()["managers_told"] == 0
    assert db.session.scalar(select(func.count(TaskEscalation.task_id))) == 0
    clock.now = at_local(2026, 12, 3, 8, 31)
    assert escalation.escalate_missed()["managers_told"] == 1
    told = db.session.scalar(
        select(func.count(Notification.id)).where(Notification.user_id == manager.id)
    )
    assert told == 1 and task_of(db, lead).owner_id is not None


def test_a_manager_sets_closed_weekdays_and_the_minutes_with_bad_input_refused(f, db, client, auth):
    store = f.store()
    auth.login(f.manager(store))
    form = {"bays": "4", "opens_at": "08:30", "closes_at": "18:00"}
    r = client.post(
        "/admin/my_store/",
        data={**form, "closed_weekday": ["6", "9", "x"], "first_contact_minutes": "10"},
    )
    assert r.status_code == 303
    db.session.refresh(store)
    assert (store.closed_weekdays, store.first_contact_minutes) == ("6", 10)
    page = client.get("/admin/my_store/").get_data(as_text=True)
    assert 'value="6" checked' in page
    for bad in (
        {"first_contact_minutes": "0"},
        {"first_contact_minutes": "abc"},
        {"closed_weekday": list("0123456")},
    ):
        r = client.post("/admin/my_store/", data={**form, **bad})
        assert r.status_code == 200
        db.session.refresh(store)
        assert (store.closed_weekdays, store.first_contact_minutes) == ("6", 10)


def test_the_demo_stores_keep_opening_hours_for_after_hours_leads(db):
    from portal.demo.owners import load_demo
    from portal.models import Store

    load_demo(owners=12)
    stores = list(db.session.scalars(select(Store).order_by(Store.id)))
    assert len(stores) >= 2
    assert (stores[0].closed_weekdays, stores[0].first_contact_minutes) == ("", 5)
    assert (stores[1].closed_weekdays, stores[1].first_contact_minutes) == ("1", 10)
