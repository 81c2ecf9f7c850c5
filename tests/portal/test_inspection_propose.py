"""Proposing another time with a reason: "parts not available" (零件暂时缺货) is one, and it is
preselected in the queue for a car whose approved inspection line still waits for its part."""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from portal.errors import ValidationError
from portal.models import Booking, Notification
from portal.services import bookings as bookings_svc
from portal.services import inspections as svc
from tests.portal.test_inspection_parts import inspection_with_part, product


@pytest.fixture
def scene(f, db):
    store = f.store(bays=8)
    return store, f.advisor(store)


def car_waiting_for_a_part(f, db, store, advisor):
    """An owner whose car's approved brake pads are on order (none in stock)."""
    part = product(db, left=0)
    inspection = inspection_with_part(f, db, store, advisor, part)
    item = svc.decide(inspection, inspection.items[0].id, True)
    db.session.commit()
    assert item.part_state == "on_order"
    return inspection.booking


def selected_reason(page: str, booking_id: int) -> str:
    """The reason preselected in the propose form of one queue item."""
    start = page.index(f'id="queue-{booking_id}"')
    form = page[page.index('value="propose"', start) :]
    form = form[: form.index("</form>")]
    return re.search(r'<option value="(\w+)" selected>', form).group(1)


def test_a_proposal_keeps_its_reason_and_tells_the_owner(scene, f, db):
    store, advisor = scene
    owner = f.owner(store)
    booking = f.booking(owner, store)
    later = f.slot(store, 2, 14)
    bookings_svc.propose(advisor, booking, later, reason="parts_unavailable")
    db.session.commit()
    booking = db.session.get(Booking, booking.id)
    assert (booking.status, booking.decision_reason) == ("proposed", "parts_unavailable")
    told = db.session.scalars(
        select(Notification.text)
        .where(Notification.user_id == owner.id)
        .order_by(Notification.id.desc())
    ).first()
    assert told == (
        f"The store proposes another time for booking #{booking.id}: "
        "Parts temporarily not available"
    )
    with force_locale("zh_CN"):
        assert bookings_svc.proposal_reason_label("parts_unavailable") == "零件暂时缺货"


def test_a_bad_reason_changes_nothing(scene, f, db):
    store, advisor = scene
    booking = f.booking(f.owner(store), store)
    later = f.slot(store, 2, 14)
    with pytest.raises(ValidationError, match="Choose a reason"):
        bookings_svc.propose(advisor, booking, later, reason="no_such")
    with pytest.raises(ValidationError, match="Explain"):
        bookings_svc.propose(advisor, booking, later, reason="other")
    db.session.rollback()
    booking = db.session.get(Booking, booking.id)
    assert (booking.status, booking.decision_reason) == ("submitted", None)


def test_a_car_waiting_for_its_part_is_found_on_its_own_and_its_next_booking(scene, f, db):
    store, advisor = scene
    waiting = car_waiting_for_a_part(f, db, store, advisor)
    other = f.booking(f.owner(store), store)
    assert svc.waiting_for_parts([waiting, other]) == {waiting.id}
    again = f.booking(waiting.owner, store, days=3, vehicle=waiting.vehicle)
    assert svc.waiting_for_parts([again, other]) == {again.id}
    assert svc.waiting_for_parts([]) == set()


def test_the_queue_preselects_parts_not_available_for_a_car_waiting_for_its_part(
    client, auth, scene, f, db
):
    store, advisor = scene
    waiting = car_waiting_for_a_part(f, db, store, advisor)
    again = f.booking(waiting.owner, store, days=3, vehicle=waiting.vehicle)
    other = f.booking(f.owner(store), store, days=3)
    auth.login(advisor)
    page = client.get("/admin/queue/").get_data(as_text=True)
    assert selected_reason(page, again.id) == "parts_unavailable"
    assert selected_reason(page, other.id) == "no_capacity"
    assert "零件暂时缺货" in page or "Parts temporarily not available" in page
    later = f.slot(store, 4, 14)
    r = client.post(
        f"/admin/queue/{again.id}/decide",
        data={"action": "propose", "slot": later.isoformat(), "reason": "parts_unavailable"},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200 and "<html" not in r.get_data(as_text=True)
    db.session.rollback()
    again = db.session.get(Booking, again.id)
    assert (again.status, again.decision_reason) == ("proposed", "parts_unavailable")
    bad = client.post(
        f"/admin/queue/{other.id}/decide",
        data={"action": "propose", "slot": later.isoformat(), "reason": "because"},
        headers={"HX-Request": "true"},
    )
    assert bad.status_code == 422 and "decision-error" in bad.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(Booking, other.id).status == "submitted"
