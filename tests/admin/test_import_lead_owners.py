"""A lead import that resumes after a lost lease tells each advisor of every lead the job gave
them, across attempts, exactly once: the per-advisor counts are committed with each batch."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from admin import import_jobs
from admin.models import DONE, RUNNING, ImportJob
from crm.models import Lead
from portal.models import Notification
from tests.admin.test_import_jobs import LEADS, _token
from tests.admin.test_import_leases import DiesAfterBatch, WorkerKilled

ROWS = 5


@pytest.fixture(autouse=True)
def upload_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_DIR", str(tmp_path / "files"))
    monkeypatch.setitem(app.config, "IMPORT_BATCH", 2)
    monkeypatch.setitem(app.config, "IMPORT_LEASE_SECONDS", 300)
    monkeypatch.setitem(app.config, "IMPORT_MAX_ATTEMPTS", 3)


@pytest.fixture
def store_staff(f, db):
    store = f.store("A")
    advisors = [f.advisor(store), f.advisor(store)]
    boss = f.manager(store)
    db.session.commit()
    return boss, advisors


def _queue(client, auth, manager) -> None:
    lines = [LEADS]
    for i in range(ROWS):
        lines.append(f"AH-{i},客户{i},1390000{i:04d},汉EV,2026-12-01 10:0{i},1个月内")
    auth.login(manager)
    data = "\n".join(lines).encode()
    token = _token(client, "/admin/lead_imports/preview", manager, data)
    r = client.post("/admin/lead_imports/apply", data={"token": token})
    assert r.status_code in (302, 303)


def _told(db) -> dict[int, list[int]]:
    told: dict[int, list[int]] = {}
    for note in db.session.scalars(select(Notification).order_by(Notification.id)):
        m = re.match(r"(\d+) imported leads are yours", note.text)
        if m:
            told.setdefault(note.user_id, []).append(int(m.group(1)))
    return told


def _leads_per_advisor(db) -> dict[int, int]:
    rows = db.session.execute(
        select(Lead.advisor_id, func.count(Lead.id)).group_by(Lead.advisor_id)
    ).all()
    return {advisor_id: n for advisor_id, n in rows}


def test_a_resumed_lead_import_tells_each_advisor_of_all_their_rows_once(
    client, auth, db, store_staff, clock
):
    manager, advisors = store_staff
    _queue(client, auth, manager)
    with DiesAfterBatch(2), pytest.raises(WorkerKilled):
        import_jobs.run_imports()
    db.session.rollback()
    db.session.expire_all()
    job = db.session.scalar(select(ImportJob))
    assert (job.status, job.done_rows, job.created) == (RUNNING, 2, 2)
    assert _told(db) == {}  # nobody told yet: the job is not finished
    assert sum(import_jobs.saved_owners(job).values()) == 2  # kept with the committed batch
    clock.advance(seconds=301)
    assert import_jobs.run_imports() == {"applied": 1}
    db.session.expire_all()
    job = db.session.get(ImportJob, job.id)
    assert (job.status, job.done_rows, job.created, job.attempts) == (DONE, ROWS, ROWS, 2)
    per_advisor = _leads_per_advisor(db)
    assert sum(per_advisor.values()) == ROWS and None not in per_advisor
    assert set(per_advisor) <= {a.id for a in advisors}
    # One notification per advisor, counting every lead the job gave them (both attempts).
    assert _told(db) == {advisor_id: [n] for advisor_id, n in per_advisor.items()}


def test_an_import_lost_at_its_last_save_tells_the_advisors_once(
    client, auth, db, store_staff, clock
):
    manager, _advisors = store_staff
    _queue(client, auth, manager)
    # The worker dies after committing the last batch, before the job's end is saved.
    with DiesAfterBatch(ROWS), pytest.raises(WorkerKilled):
        import_jobs.run_imports()
    db.session.rollback()
    db.session.expire_all()
    assert _told(db) == {}
    clock.advance(seconds=301)
    import_jobs.run_imports()  # nothing left to apply: it only finishes
    db.session.expire_all()
    job = db.session.scalar(select(ImportJob))
    assert (job.status, job.created) == (DONE, ROWS)
    per_advisor = _leads_per_advisor(db)
    assert _told(db) == {advisor_id: [n] for advisor_id, n in per_advisor.items()}


def test_saved_owners_ignore_a_damaged_value(db):
    assert import_jobs.saved_owners(ImportJob(owners="not json")) == {}
    assert import_jobs.saved_owners(ImportJob(owners="[1, 2]")) == {}
    assert import_jobs.saved_owners(ImportJob(owners='{"7": 3, "x": 1}')) == {7: 3}
