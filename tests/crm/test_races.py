"""Concurrent leads with real threads, each in its own POST transaction (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import func, select

from crm import leads as svc
from crm.models import PORTAL, Lead, Task
from portal.extensions import db
from portal.models import Store, User


def _run(app, n: int, work) -> list[str]:
    results: list[str] = []
    gate = threading.Barrier(n)

    def one(i: int) -> None:
        with app.test_request_context("/new-car/", method="POST"):
            gate.wait()
            try:
                work(i)
                db.session.commit()
                results.append("ok")
            except Exception as exc:  # noqa: BLE001  (reported, and the test fails on it)
                db.session.rollback()
                results.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_leads_spread_evenly_over_the_advisors_and_none_is_unassigned(app, f, db):
    store = f.store()
    advisors = [f.advisor(store) for _ in range(4)]
    store_id = store.id
    db.session.commit()

    def work(i: int) -> None:
        shop = db.session.get(Store, store_id)
        svc.capture(
            svc.Inquiry(name=f"客户{i}", phone=f"1391111{i:04d}", store=shop, source=PORTAL)
        )

    results = _run(app, 24, work)
    db.session.rollback()
    assert results == ["ok"] * 24
    owners = Counter(db.session.scalars(select(Lead.advisor_id)))
    assert owners == {a.id: 6 for a in advisors}
    assert db.session.scalar(select(func.count(Task.id)).where(Task.owner_id.is_(None))) == 0


def test_the_same_person_asking_many_times_at_once_is_one_customer_and_one_lead(app, f, db):
    store = f.store()
    f.advisor(store)
    f.advisor(store)
    store_id = store.id
    db.session.commit()

    def work(i: int) -> None:
        shop = db.session.get(Store, store_id)
        svc.capture(svc.Inquiry(name="赵女士", phone="13722223333", store=shop, source=PORTAL))

    results = _run(app, 12, work)
    db.session.rollback()
    assert results == ["ok"] * 12
    assert db.session.scalar(select(func.count(User.id)).where(User.phone == "13722223333")) == 1
    assert db.session.scalar(select(func.count(Lead.id))) == 1
    assert db.session.scalar(select(func.count(Task.id))) == 1
