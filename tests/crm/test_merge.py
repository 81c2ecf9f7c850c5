"""Merging two customer records: everything moves, once, audited, and safe when raced."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from crm import leads as svc
from crm import merge
from crm.customers import find_customer
from crm.models import PORTAL, Lead, Task
from crm.staffing_models import CustomerMerge
from portal.errors import Conflict, NotAllowed, ValidationError
from portal.extensions import db as _db
from portal.models import AuditEvent, MarketingConsent, User, Vehicle
from portal.models.base import Base


def _lead(store, phone, **kw):
    return svc.capture(
        svc.Inquiry(name=kw.pop("name", "王先生"), phone=phone, store=store, source=PORTAL, **kw)
    ).lead


def test_every_foreign_key_to_users_is_decided_moves_or_stays():
    """A new table pointing at users fails here until someone says whether a merge moves it."""
    moving = {f"{t}.{c}" for t, c, _k in merge.MOVES}
    undecided = (
        {
            f"{table.name}.{fk.parent.name}"
            for table in Base.metadata.tables.values()
            for fk in table.foreign_keys
            if fk.column.table.name == "users"
        }
        - moving
        - merge.STAYS
    )
    assert undecided == set()
    assert not moving & merge.STAYS


def test_a_merge_moves_cars_bookings_leads_tasks_and_consents_and_records_it(f, db):
    store, other = f.store(), f.store()
    f.advisor(store)
    f.advisor(other)
    boss = f.manager(store)
    keep = f.owner(store, phone="13900000001", email=None)
    gone = f.owner(store, phone="13900000002", email="gone@example.com")
    car = f.vehicle(gone)
    booking = f.booking(gone, store, vehicle=car)
    lead = _lead(other, "13900000002", model_interest="途观")
    db.session.add_all(
        [
            MarketingConsent(user_id=gone.id, channel="sms"),
            MarketingConsent(user_id=gone.id, channel="email"),
            MarketingConsent(user_id=keep.id, channel="sms"),
        ]
    )
    db.session.commit()
    keep_id, gone_id, lead_id = keep.id, gone.id, lead.id

    record = merge.merge(boss, keep, gone)
    db.session.commit()

    assert db.session.get(Vehicle, car.id).owner_id == keep_id
    assert booking.owner_id == keep_id
    assert db.session.get(Lead, lead_id).customer_id == keep_id
    assert db.session.scalar(select(func.count(Task.id)).where(Task.customer_id == gone_id)) == 0
    consents = db.session.execute(
        select(MarketingConsent.user_id, MarketingConsent.channel).order_by(MarketingConsent.id)
    ).all()
    # The survivor's own SMS consent stands; the merged record's email consent moves.
    assert set(consents) == {(gone_id, "sms"), (keep_id, "email"), (keep_id, "sms")}
    assert record.moved["stayed"] == {"marketing_consents.user_id": 1}
    assert record.moved["moved"]["vehicles.owner_id"] == 1
    gone = db.session.get(User, gone_id)
    keep = db.session.get(User, keep_id)
    assert not gone.is_active and gone.email is None and keep.email == "gone@example.com"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "customers_merged"))
    assert event.target_id == keep_id and event.detail["merged_id"] == gone_id
    assert merge.resolve(gone_id) == keep_id
    # Dedupe at intake: the merged record's number now reaches the survivor.
    assert find_customer("13900000002").id == keep_id
    assert _lead(store, "13900000002").customer_id == keep_id


def test_only_a_manager_merges_and_bad_pairs_are_refused_without_change(f, db):
    store = f.store()
    adv = f.advisor(store)
    boss = f.manager(store)
    a, b = f.owner(store), f.owner(store)
    f.vehicle(b)
    with pytest.raises(NotAllowed):
        merge.merge(adv, a, b)
    with pytest.raises(ValidationError):
        merge.merge(boss, a, a)
    with pytest.raises(ValidationError):
        merge.merge(boss, a, adv)
    db.session.rollback()
    assert db.session.scalar(select(func.count(CustomerMerge.merged_id))) == 0
    assert db.session.scalar(select(Vehicle.owner_id)) == b.id


def test_two_open_leads_at_one_store_stop_the_merge_and_the_preview_says_why(f, db):
    store = f.store()
    f.advisor(store)
    boss = f.manager(store)
    a = _lead(store, "13900000011").customer
    b = _lead(store, "13900000012").customer
    db.session.commit()
    shown = merge.preview(boss, a, b)
    assert "open lead" in shown.problem and shown.merged_counts["crm_leads.customer_id"] == 1
    with pytest.raises(ValidationError):
        merge.merge(boss, a, b)
    db.session.rollback()
    assert db.session.scalar(select(func.count(CustomerMerge.merged_id))) == 0


def test_a_merged_record_cannot_be_merged_again(f, db):
    store = f.store()
    boss = f.manager(store)
    a, b, c = f.owner(store), f.owner(store), f.owner(store)
    merge.merge(boss, a, b)
    db.session.commit()
    with pytest.raises(Conflict):
        merge.merge(boss, c, b)
    with pytest.raises(Conflict):
        merge.merge(boss, b, c)  # nothing merges into a closed record either


def _race(app, n, work):
    results = []
    gate = threading.Barrier(n)

    def one(i):
        with app.test_request_context("/admin/crm_customers/merge", method="POST"):
            gate.wait()
            try:
                work(i)
                _db.session.commit()
                results.append("ok")
            except Conflict:
                _db.session.rollback()
                results.append("conflict")
            except Exception as exc:  # noqa: BLE001  (reported, and the test fails on it)
                _db.session.rollback()
                results.append(repr(exc))
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_managers_merging_three_records_every_way_at_once_never_lose_or_loop(app, f, db):
    store = f.store()
    boss_id = f.manager(store).id
    a, b, c = f.owner(store), f.owner(store), f.owner(store)
    for who in (a, b, c):
        f.vehicle(who)
    ids = (a.id, b.id, c.id)
    db.session.commit()

    def work(i):
        boss = _db.session.get(User, boss_id)
        pairs = ((0, 1), (1, 0), (0, 2), (2, 1))
        keep, gone = pairs[i % len(pairs)]
        merge.merge(boss, _db.session.get(User, ids[keep]), _db.session.get(User, ids[gone]))

    results = _race(app, 8, work)
    db.session.rollback()
    assert set(results) <= {"ok", "conflict"}, results
    merges = db.session.scalars(select(CustomerMerge)).all()
    assert len(merges) == results.count("ok") >= 1
    # A survivor may later be merged itself (a chain), but never in a circle: every record
    # leads to one live record, and at least one of the three is live.
    merged_ids = {m.merged_id for m in merges}
    assert len(merged_ids) <= 2
    assert {merge.resolve(i) for i in ids} == set(ids) - merged_ids
    # Every car is with a live record, none lost.
    owners = db.session.scalars(select(Vehicle.owner_id)).all()
    assert len(owners) == 3 and not set(owners) & merged_ids


def test_a_car_moving_to_a_survivor_in_another_store_takes_the_survivors_store(f, db):
    """vehicles.store_id is the owner's store (a composite foreign key): a merge keeps it so."""
    store, other = f.store(), f.store()
    boss = f.admin()
    keep = f.owner(store, phone="13900000011")
    gone = f.owner(other, phone="13900000012")
    car = f.vehicle(gone)
    db.session.commit()
    assert car.store_id == other.id
    car_id, keep_id = car.id, keep.id

    merge.merge(boss, keep, gone)
    db.session.commit()

    moved = db.session.get(Vehicle, car_id)
    assert (moved.owner_id, moved.store_id) == (keep_id, store.id)


def test_every_moving_kind_has_a_label_on_the_preview():
    """The side-by-side preview names each kind of row that moves, never a raw table name."""
    from admin.crm import MERGE_LABELS

    assert set(MERGE_LABELS) == {f"{t}.{c}" for t, c, _k in merge.MOVES}
