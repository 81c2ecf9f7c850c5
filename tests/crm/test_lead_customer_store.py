"""A lead carries its customer's store and the database keeps it theirs (set on capture, moved
with the customer, taken from the survivor of a merge, backfilled by the migration): the
customer search by a short name reads from the leads only those of other stores' customers."""

from __future__ import annotations

from datetime import time

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.exc import IntegrityError

from crm import customer_search, merge
from crm import leads as svc
from crm.models import PHONE, Lead, customer_elsewhere
from portal.extensions import db as _db
from portal.models import Store, User


def _lead(store, phone: str, name: str = "王先生") -> Lead:
    return svc.capture(svc.Inquiry(name=name, phone=phone, store=store, source=PHONE)).lead


def _customer_store(lead_id: int) -> int | None:
    _db.session.expire_all()
    return _db.session.scalar(select(Lead.customer_store_id).where(Lead.id == lead_id))


def _visitors(store) -> set[int]:
    """Return the ids of the store's leads whose customer is not the store's own."""
    stmt = select(Lead.id).where(Lead.store_id == store.id, customer_elsewhere())
    return set(_db.session.scalars(stmt))


def _found(viewer, q: str) -> list[int]:
    return [c.id for c in customer_search.find_customers(viewer, q)]


def test_a_lead_carries_its_customers_store_and_follows_them_when_they_move(db, f):
    home, other = f.store(), f.store()
    customer = f.owner(home, name="钱多多")
    at_home, visiting = _lead(home, customer.phone), _lead(other, customer.phone)
    newcomer = _lead(other, "13911112222")  # a new customer, made the store's own
    db.session.commit()
    assert _customer_store(at_home.id) == _customer_store(visiting.id) == home.id
    assert _customer_store(newcomer.id) == other.id
    assert _visitors(home) == set() and _visitors(other) == {visiting.id}
    customer.store_id = other.id
    db.session.commit()
    assert _customer_store(at_home.id) == _customer_store(visiting.id) == other.id
    assert _visitors(home) == {at_home.id} and _visitors(other) == set()


def test_the_database_refuses_a_lead_carrying_another_store_than_its_customers(db, f):
    home, other = f.store(), f.store()
    lead = _lead(home, f.owner(home).phone)
    db.session.commit()
    lead.customer_store_id = other.id
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_short_name_finds_a_customer_who_moved_away_through_their_lead_here(db, f):
    mine, theirs = f.store(), f.store()
    adv, their_adv = f.advisor(mine), f.advisor(theirs)
    mover = f.owner(mine, name="赵敏")
    f.owner(theirs, name="赵敏")  # a namesake elsewhere, without a lead here
    _lead(mine, mover.phone, name="赵敏")
    db.session.commit()
    assert _found(adv, "赵") == [mover.id]
    mover.store_id = theirs.id
    db.session.commit()
    assert _found(adv, "赵") == [mover.id]  # a visitor now: found through the lead
    assert _found(adv, "赵敏") == [mover.id]
    assert mover.id in _found(their_adv, "赵")


def test_a_merge_gives_the_moved_leads_the_survivors_store(db, f):
    mine, theirs = f.store(), f.store()
    boss, adv = f.manager(mine), f.advisor(mine)
    keep = f.owner(theirs, name="周芷若")
    gone = f.owner(mine, name="周芷若")
    lead = _lead(mine, gone.phone, name="周芷若")
    db.session.commit()
    assert keep.id not in _found(adv, "周")
    merge.merge(boss, keep, gone)
    db.session.commit()
    assert _customer_store(lead.id) == theirs.id
    assert keep.id in _found(adv, "周")  # the survivor has the lead here now


def test_the_migration_backfills_each_leads_customer_store(tmp_path, make_app):
    url = f"sqlite:///{tmp_path / 'leads.db'}"
    app = make_app(DATABASE_URL=url)
    with app.app_context():
        upgrade(revision="0069_clip19_item_clips")
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(
                insert(Store.__table__).values(
                    id=7, name="A", address="深圳", phone="1", timezone="Asia/Shanghai",
                    opens_at=time(8, 30), closes_at=time(18), bays=4,
                )
            )  # fmt: skip
            for uid, store in ((1, 7), (2, None)):
                conn.execute(
                    insert(User.__table__).values(
                        id=uid, role="owner", name="车主", phone=f"1380000000{uid}",
                        password_hash="x", store_id=store,
                    )
                )  # fmt: skip
            for lid, customer in ((1, 1), (2, 2)):
                conn.execute(
                    text(
                        "INSERT INTO crm_leads (id, customer_id, store_id, source, utm_source, "
                        "utm_medium, utm_campaign, model_interest, timeframe, grade, "
                        "wants_test_drive, note, stage, state, lost_note, created_at, "
                        "updated_at) VALUES (:id, :c, 7, 'phone', '', '', '', '', 'later', 'C', "
                        "0, '', 'new', 'lost', '', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                    ),
                    {"id": lid, "c": customer},
                )
        upgrade()
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, customer_store_id FROM crm_leads ORDER BY id"))
            assert [tuple(r) for r in rows] == [(1, 7), (2, None)]
        downgrade(revision="0069_clip19_item_clips")
        _db.engine.dispose()
        engine.dispose()
