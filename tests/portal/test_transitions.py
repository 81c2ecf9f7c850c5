"""The shared status machinery: labels, lookups, the conditional move, counters, insert-once."""

from __future__ import annotations

from datetime import date

import pytest

from portal import transitions
from portal.errors import Conflict, NotFound
from portal.extensions import db
from portal.models import Booking, BookingEvent, PolicyReminder, User
from portal.models.bookings import ACCEPTED, CANCELLED, SUBMITTED


def test_label_falls_back_to_the_code():
    assert transitions.label({"a": "Eins"}, "a") == "Eins"
    assert transitions.label({"a": "Eins"}, "b") == "b"


def test_lookups_answer_the_owner_and_the_store_and_404_for_others(f):
    store, other_store = f.store(), f.store()
    owner, stranger = f.owner(store), f.owner(store)
    b = f.booking(owner, store)
    owned, in_store = transitions.lookups(Booking, "gone")
    assert owned(owner, b.id) is b
    assert in_store(f.advisor(store), b.id) is b
    with pytest.raises(NotFound, match="gone"):
        owned(stranger, b.id)
    with pytest.raises(NotFound):
        in_store(f.advisor(other_store), b.id)
    with pytest.raises(NotFound):
        owned(owner, 10**20)


def test_move_changes_only_from_an_allowed_status(f):
    store = f.store()
    b = f.booking(f.owner(store), store)
    before = transitions.move(b, (SUBMITTED,), {"status": ACCEPTED}, lambda s: f"now {s}")
    assert before == SUBMITTED
    db.session.refresh(b)
    assert b.status == ACCEPTED
    with pytest.raises(Conflict, match=f"now {ACCEPTED}"):
        transitions.move(b, (SUBMITTED,), {"status": CANCELLED}, lambda s: f"now {s}")
    assert b.status == ACCEPTED


def test_add_event_writes_a_timeline_row(f):
    store = f.store()
    owner = f.owner(store)
    b = f.booking(owner, store)
    transitions.add_event(BookingEvent, "booking_id", b, owner, "note", note="hello")
    db.session.flush()
    kinds = [(e.kind, e.note, e.actor_id) for e in db.session.query(BookingEvent).filter_by(
        booking_id=b.id, kind="note")]  # fmt: skip
    assert kinds == [("note", "hello", owner.id)]


def test_increment_counts_up_in_the_database(f):
    user = f.advisor(f.store())
    start = user.failed_logins or 0
    assert transitions.increment(User.failed_logins, User.id == user.id) == start + 1
    assert transitions.increment(User.failed_logins, User.id == user.id) == start + 2
    db.session.refresh(user)
    assert user.failed_logins == start + 2


def _policy(f):
    from portal.services import finance

    store = f.store()
    owner = f.owner(store)
    return finance.record_policy(
        f.advisor(store),
        customer=owner,
        vehicle=f.vehicle(owner),
        insurer="平安",
        policy_number="P-1",
        coverage="combined",
        premium_fen=100,
        starts_on=date(2026, 1, 1),
        ends_on=date(2027, 1, 1),
    )


def test_insert_unique_refuses_a_twin_and_keeps_the_transaction(f):
    policy = _policy(f)
    first = PolicyReminder(policy_id=policy.id, kind="30d", channel="mail")
    assert transitions.insert_unique(first) is True
    twin = PolicyReminder(policy_id=policy.id, kind="30d", channel="mail")
    assert transitions.insert_unique(twin) is False
    db.session.commit()  # the refused twin left the transaction usable
    assert db.session.query(PolicyReminder).filter_by(policy_id=policy.id).count() == 1


def test_insert_or_skip_returns_no_row_for_a_twin_and_keeps_the_transaction(f):
    policy = _policy(f)
    stmt = (
        transitions.insert_or_skip(PolicyReminder)
        .values(policy_id=policy.id, kind="30d", channel="mail")
        .returning(PolicyReminder.id)
    )
    first = db.session.execute(stmt).scalar()
    twin = db.session.execute(stmt).scalar()
    assert first is not None and twin is None
    db.session.commit()  # the skipped twin raised nothing and left the transaction usable
    assert db.session.query(PolicyReminder).filter_by(policy_id=policy.id).count() == 1
