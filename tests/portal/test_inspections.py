"""Digital vehicle inspections: recording, the signed link, one decision per item, job lines,
reminders from declined items, what other owners chose, and the funnel."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image as PILImage
from sqlalchemy import func, select

from portal.errors import Conflict, NotFound, ValidationError
from portal.models import (
    Inspection,
    InspectionItem,
    InspectionTemplate,
    InspectionUptake,
    JobLine,
    Notification,
    OutboxMessage,
    TemplateItem,
)
from portal.services import bookings as bookings_svc
from portal.services import inspections as svc
from portal.timeutil import now
from tests.portal.test_bookings import _race, jpeg

ITEMS = [
    ("刹车片", "Brake pads", None, 48000),
    ("刹车油", "Brake fluid", "brake_fluid", 30000),
    ("雨刮片", "Wiper blades", None, 12000),
    ("轮胎", "Tyres", "tyre_rotation", 10000),
]


def make_template(db, store, items=ITEMS) -> InspectionTemplate:
    """A store's checklist with the given (zh, en, plan code, price fen) items."""
    template = InspectionTemplate(store_id=store.id, name="多项检查")
    for position, (zh, en, code, fen) in enumerate(items, start=1):
        template.items.append(
            TemplateItem(
                position=position, name_zh=zh, name_en=en, plan_item_code=code, price_fen=fen
            )
        )
    db.session.add(template)
    db.session.commit()
    return template


def checked_in_booking(f, db, store, advisor, owner=None):
    """A booking of the store, accepted and checked in."""
    owner = owner or f.owner(store)
    booking = f.booking(owner, store)
    bookings_svc.accept(advisor, booking)
    bookings_svc.check_in(advisor, booking, booking.vehicle.current_km + 100)
    db.session.commit()
    return booking


def sent_inspection(f, db, store, advisor, severities=("red", "amber", "amber", "green")):
    """A sent inspection with one item per severity given, in template order."""
    template = make_template(db, store)
    booking = checked_in_booking(f, db, store, advisor)
    inspection = svc.start(advisor, booking, template.id)
    for item, severity in zip(inspection.items, severities, strict=False):
        svc.record_item(
            advisor, inspection, item.id, severity=severity, note="", price_fen=item.price_fen
        )
    svc.send(advisor, inspection)
    db.session.commit()
    return inspection


@pytest.fixture
def scene(f, db):
    store = f.store()
    return store, f.advisor(store)


def test_start_copies_the_template_once_per_booking(scene, f, db):
    store, advisor = scene
    template = make_template(db, store)
    booking = checked_in_booking(f, db, store, advisor)
    first = svc.start(advisor, booking, template.id)
    db.session.commit()
    again = svc.start(advisor, booking, template.id)
    assert again.id == first.id
    assert [(i.name_zh, i.name_en, i.plan_item_code, i.price_fen) for i in first.items] == ITEMS
    assert all(i.severity == "green" and i.decision == "pending" for i in first.items)
    assert db.session.scalar(select(func.count(Inspection.id))) == 1


def test_start_refuses_a_car_not_checked_in_and_another_stores_template(scene, f, db):
    store, advisor = scene
    template = make_template(db, store)
    other = make_template(db, f.store())
    booking = f.booking(f.owner(store), store)
    with pytest.raises(ValidationError):
        svc.start(advisor, booking, template.id)
    booking = checked_in_booking(f, db, store, advisor)
    with pytest.raises(ValidationError):
        svc.start(advisor, booking, other.id)
    with pytest.raises(NotFound):
        svc.start(f.advisor(f.store()), booking, template.id)


def test_item_photo_is_stored_resized_without_exif(scene, f, db):
    store, advisor = scene
    template = make_template(db, store)
    inspection = svc.start(advisor, checked_in_booking(f, db, store, advisor), template.id)
    item = inspection.items[0]
    svc.record_item(
        advisor,
        inspection,
        item.id,
        severity="red",
        note="剩余 2 mm",
        price_fen=52000,
        photo=jpeg(size=(3000, 2000)),
    )
    db.session.commit()
    with PILImage.open(io.BytesIO(item.image.data)) as img:
        assert max(img.size) <= 1600
        assert not img.getexif()
    assert item.image.owner_id == inspection.booking.owner_id
    with pytest.raises(ValidationError):
        svc.record_item(advisor, inspection, item.id, severity="blue", note="", price_fen=0)
    with pytest.raises(ValidationError):
        svc.record_item(
            advisor, inspection, item.id, severity="red", note="", price_fen=0, photo=b"nope"
        )


def test_send_queues_the_link_on_the_owners_channels_and_freezes_the_items(scene, f, db):
    store, advisor = scene
    inspection = sent_inspection(f, db, store, advisor)
    assert inspection.status == "sent" and inspection.sent_by_id == advisor.id
    note = db.session.scalar(
        select(Notification)
        .where(Notification.user_id == inspection.booking.owner_id)
        .order_by(Notification.id.desc())
    )
    assert note.link.startswith("/inspection/")
    assert svc.inspection_from_link(note.link.removeprefix("/inspection/")).id == inspection.id
    mail = db.session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.user_id == inspection.booking.owner_id)
        .order_by(OutboxMessage.created_at.desc())
    )
    assert "/inspection/" in mail.body
    with pytest.raises(Conflict):
        svc.record_item(
            advisor, inspection, inspection.items[0].id, severity="green", note="", price_fen=0
        )


def test_a_forged_or_expired_link_names_nothing(app, scene, f, db):
    import time

    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    store, advisor = scene
    inspection = sent_inspection(f, db, store, advisor)
    token = svc.link_token(inspection)
    assert svc.inspection_from_link(token).id == inspection.id
    with pytest.raises(NotFound):
        # a character inside the signature (the last one may carry only padding bits)
        svc.inspection_from_link(token[:-10] + ("A" if token[-10] != "A" else "B") + token[-9:])
    with pytest.raises(NotFound):
        svc.inspection_from_link("not-a-token")
    secret = app.config["SECRET_KEY"]
    with pytest.raises(NotFound):  # signed for another purpose
        svc.inspection_from_link(
            URLSafeTimedSerializer(secret, salt="other").dumps({"i": inspection.id})
        )
    hours = app.config["INSPECTION_LINK_HOURS"]

    class IssuedLongAgo(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - hours * 3600 - 5

    old = URLSafeTimedSerializer(secret, salt="m4s.inspection.link", signer=IssuedLongAgo)
    with pytest.raises(NotFound):
        svc.inspection_from_link(old.dumps({"i": inspection.id}))


def test_approve_adds_a_job_line_and_decline_does_not(scene, f, db):
    store, advisor = scene
    inspection = sent_inspection(f, db, store, advisor)
    red, amber, amber2, green = inspection.items
    svc.decide(inspection, red.id, True)
    svc.decide(inspection, amber.id, False)
    db.session.commit()
    lines = db.session.scalars(
        select(JobLine).where(JobLine.booking_id == inspection.booking_id)
    ).all()
    assert [(line.description_zh, line.description_en, line.price_fen) for line in lines] == [
        ("刹车片", "Brake pads", 48000)
    ]
    assert lines[0].inspection_item_id == red.id
    assert (red.decision, amber.decision, amber2.decision) == ("approved", "declined", "pending")
    with pytest.raises(ValidationError):
        svc.decide(inspection, green.id, True)
    with pytest.raises(Conflict):
        svc.decide(inspection, red.id, False)
    with pytest.raises(NotFound):
        other = sent_inspection(f, db, store, advisor)
        svc.decide(other, red.id, True)


def test_decisions_feed_what_other_owners_chose(app, scene, f, db, monkeypatch):
    store, advisor = scene
    monkeypatch.setitem(app.config, "MAINTENANCE_MIN_SAMPLE", 3)
    for approve in (True, True, False):
        inspection = sent_inspection(f, db, store, advisor)
        svc.decide(inspection, inspection.items[1].id, approve)  # brake fluid, amber
        db.session.commit()
    row = db.session.get(InspectionUptake, ("brake_fluid", "amber"))
    assert (row.approved, row.decided) == (2, 3)
    fresh = sent_inspection(f, db, store, advisor)
    chose = svc.other_owners(fresh)
    fluid = chose[fresh.items[1].id]
    assert (fluid.approved, fluid.decided, fluid.enough, fluid.percent) == (2, 3, True, 67)
    pads = chose[fresh.items[0].id]  # red brake pads: nobody decided those yet
    assert (pads.decided, pads.enough, pads.maintenance) == (0, False, None)
    assert fluid.maintenance is not None  # linked to a plan item: its uptake rate too
    assert fresh.items[3].id not in chose  # green: not a recommendation


def test_two_tabs_approving_at_once_make_one_decision(app, scene, f, db):
    store, advisor = scene
    inspection = sent_inspection(f, db, store, advisor)
    inspection_id, item_id = inspection.id, inspection.items[0].id
    db.session.commit()

    def approve(i, tdb):
        svc.decide(tdb.session.get(Inspection, inspection_id), item_id, i % 2 == 0)

    results = _race(app, 4, approve)
    assert results.count("ok") == 1
    assert all(isinstance(r, Conflict) for r in results if r != "ok")
    db.session.expire_all()
    item = db.session.get(InspectionItem, item_id)
    lines = db.session.scalar(
        select(func.count(JobLine.id)).where(JobLine.inspection_item_id == item_id)
    )
    assert lines == (1 if item.decision == "approved" else 0)
    row = db.session.get(InspectionUptake, (item.uptake_key, "red"))
    assert row.decided == 1


def test_a_declined_item_becomes_one_reminder_later(app, scene, f, db, clock):
    store, advisor = scene
    inspection = sent_inspection(f, db, store, advisor)
    owner_id = inspection.booking.owner_id
    svc.decide(inspection, inspection.items[1].id, False)
    db.session.commit()
    assert svc.send_declined_reminders() == 0  # not yet
    clock.advance(days=app.config["INSPECTION_REMINDER_DAYS"] + 1)
    assert svc.send_declined_reminders() == 1
    db.session.commit()
    assert svc.send_declined_reminders() == 0  # once
    text = db.session.scalar(
        select(Notification.text)
        .where(Notification.user_id == owner_id)
        .order_by(Notification.id.desc())
    )
    assert "Brake fluid" in text and "amber" in text


def test_funnel_counts_sent_opened_approved_and_amount_per_advisor(scene, f, db):
    store, advisor = scene
    manager = f.manager(store)
    one = sent_inspection(f, db, store, advisor)
    sent_inspection(f, db, store, advisor)
    svc.mark_opened(one)
    svc.mark_opened(one)
    svc.decide(one, one.items[0].id, True)
    svc.decide(one, one.items[1].id, True)
    svc.decide(one, one.items[2].id, False)
    db.session.commit()
    other_store = f.store()
    sent_inspection(f, db, other_store, f.advisor(other_store))
    rows = svc.advisor_funnel(manager, now() - timedelta(days=30))
    assert len(rows) == 1
    row = rows[0]
    assert (row.name, row.sent, row.opened, row.recommended, row.approved, row.approved_fen) == (
        advisor.name,
        2,
        1,
        6,
        2,
        48000 + 30000,
    )


def test_the_worker_runs_the_reminders_job(app, scene, f, db, clock):
    from portal.worker.jobs import JOBS, run_job

    store, advisor = scene
    inspection = sent_inspection(f, db, store, advisor)
    svc.decide(inspection, inspection.items[2].id, False)
    db.session.commit()
    clock.advance(days=app.config["INSPECTION_REMINDER_DAYS"] + 1)
    job = next(j for j in JOBS if j.name == "inspection-reminders")
    run = run_job(job)
    assert (run.status, run.result) == ("ok", "1")
