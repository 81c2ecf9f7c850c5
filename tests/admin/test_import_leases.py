"""Import leases: a worker that dies mid-job leaves the job running with its last committed
batch; once its heartbeat is older than IMPORT_LEASE_SECONDS another worker claims it (one
winner) and resumes after the committed rows, applying none twice. A worker that was only slow
and lost its job meanwhile changes nothing more. After IMPORT_MAX_ATTEMPTS claims the job fails
with a message the managers can act on."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from admin import import_jobs
from admin.models import DONE, FAILED, RUNNING, ImportFailure, ImportJob
from portal.extensions import db as ext_db
from portal.models import User, Vehicle
from tests.admin.test_import_jobs import Progress, _customers, _token
from tests.threads import at_once


class WorkerKilled(BaseException):
    """The worker process dying: no `except Exception` catches it, nothing is recorded."""


@pytest.fixture(autouse=True)
def upload_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_DIR", str(tmp_path / "files"))
    monkeypatch.setitem(app.config, "IMPORT_BATCH", 2)
    monkeypatch.setitem(app.config, "IMPORT_LEASE_SECONDS", 300)
    monkeypatch.setitem(app.config, "IMPORT_MAX_ATTEMPTS", 3)


@pytest.fixture
def manager(f, db):
    store = f.store("A")
    f.advisor(store)
    boss = f.manager(store)
    db.session.commit()
    return boss


def _queue(client, auth, manager, rows: int) -> str:
    auth.login(manager)
    token = _token(client, "/admin/imports/preview", manager, _customers(rows))
    return client.post("/admin/imports/apply", data={"token": token}).headers["Location"]


class DiesAfterBatch(Progress):
    """The worker dies at its next statement once the batch ending at row n is committed."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.armed = False
        self.commits_after[n] = self.arm

    def arm(self) -> None:
        self.armed = True

    def _execute(self, state) -> None:
        if self.armed:
            raise WorkerKilled
        super()._execute(state)


def _crash_after_first_batch(db) -> int:
    with DiesAfterBatch(2), pytest.raises(WorkerKilled):
        import_jobs.run_imports()
    db.session.rollback()
    db.session.expire_all()
    job = db.session.scalar(select(ImportJob))
    assert (job.status, job.done_rows, job.created, job.attempts) == (RUNNING, 2, 2, 1)
    assert db.session.scalar(select(func.count(Vehicle.id))) == 2
    return job.id


def _assert_applied_once(db, job_id: int, rows: int) -> ImportJob:
    db.session.expire_all()
    job = db.session.get(ImportJob, job_id)
    assert (job.status, job.total_rows, job.done_rows) == (DONE, rows, rows)
    assert (job.created, job.merged, job.failed, job.vehicles) == (rows, 0, 0, rows)
    assert db.session.scalar(select(func.count(Vehicle.id))) == rows
    phones = [f"1381111{i:04d}" for i in range(rows)]
    assert db.session.scalar(select(func.count(User.id)).where(User.phone.in_(phones))) == rows
    assert db.session.scalar(select(func.count(ImportFailure.id))) == 0
    return job


def test_a_job_whose_worker_died_is_reclaimed_after_its_lease_and_resumes(
    client, auth, db, manager, clock
):
    location = _queue(client, auth, manager, 5)
    job_id = _crash_after_first_batch(db)
    clock.advance(seconds=299)
    assert import_jobs.claim_import() is None  # its worker may only be slow: not yet
    page = client.get(location).get_data(as_text=True)
    assert 'id="import-waiting"' in page and "2 of 5 rows" in page
    clock.advance(seconds=2)
    with Progress() as progress:
        assert import_jobs.run_imports() == {"applied": 1}
    assert progress.done == [4, 5]  # resumed after the committed rows
    job = _assert_applied_once(db, job_id, 5)
    assert job.attempts == 2
    assert 'id="import-done"' in client.get(location).get_data(as_text=True)
    assert not list(import_jobs.upload_path(job).parent.glob("*"))  # the file is spent


def test_a_resumed_job_lists_a_row_that_turned_bad_and_applies_the_rest(
    client, auth, f, db, manager, clock
):
    _queue(client, auth, manager, 5)
    job_id = _crash_after_first_batch(db)
    # Meanwhile a colleague registers line 5's phone number to a staff account.
    colleague = f.advisor(manager.store)
    colleague.phone = "13811110003"
    db.session.commit()
    clock.advance(seconds=301)
    import_jobs.run_imports()
    db.session.expire_all()
    job = db.session.get(ImportJob, job_id)
    assert (job.status, job.done_rows, job.created, job.failed) == (DONE, 5, 4, 1)
    (failure,) = db.session.scalars(select(ImportFailure)).all()
    assert failure.line == 5 and "staff account" in failure.reason
    assert db.session.scalar(select(func.count(Vehicle.id))) == 4


def test_two_workers_reclaim_a_silent_job_once(app, db, manager, clock):
    job = ImportJob(
        kind="customers", store_id=manager.store_id, user_id=manager.id, upload="u",
        status=RUNNING, attempts=1, heartbeat_at=clock.now, started_at=clock.now,
    )  # fmt: skip
    db.session.add(job)
    db.session.commit()
    job_id, started = job.id, job.started_at
    clock.advance(seconds=301)
    results = at_once(app, import_jobs.claim_import, 2)
    assert sorted(results, key=str) == [job_id, None], results
    db.session.expire_all()
    job = db.session.get(ImportJob, job_id)
    assert (job.status, job.attempts, job.heartbeat_at) == (RUNNING, 2, clock.now)
    assert job.started_at == started  # still when the import began


def test_a_slow_worker_that_lost_its_job_changes_nothing_more(
    app, client, auth, db, manager, clock
):
    _queue(client, auth, manager, 5)
    reclaimed: list = []

    def claim() -> None:
        with app.app_context():
            reclaimed.append(import_jobs.claim_import())
            ext_db.session.remove()

    def another_worker_reclaims() -> None:  # after the slow worker's first batch
        clock.advance(seconds=301)
        worker = threading.Thread(target=claim)
        worker.start()
        worker.join()

    with Progress() as progress:
        progress.commits_after[2] = another_worker_reclaims
        import_jobs.run_imports()  # its second batch finds the job claimed: rolled back
    db.session.expire_all()
    job = db.session.scalar(select(ImportJob))
    assert reclaimed == [job.id]
    assert (job.status, job.done_rows, job.attempts) == (RUNNING, 2, 2)
    assert db.session.scalar(select(func.count(Vehicle.id))) == 2
    import_jobs.run_import(job.id)  # the other worker, which holds the job now
    _assert_applied_once(db, job.id, 5)


def test_a_job_interrupted_too_often_fails_with_a_clear_message(client, auth, db, manager, clock):
    location = _queue(client, auth, manager, 5)
    job_id = _crash_after_first_batch(db)
    db.session.execute(
        ImportJob.__table__.update().where(ImportJob.id == job_id).values(attempts=3)
    )  # it died twice more without committing a batch
    db.session.commit()
    clock.advance(seconds=301)
    assert import_jobs.run_imports() == {"applied": 1}
    db.session.expire_all()
    job = db.session.get(ImportJob, job_id)
    assert (job.status, job.attempts, job.done_rows) == (FAILED, 4, 2)
    assert db.session.scalar(select(func.count(Vehicle.id))) == 2
    assert import_jobs.run_imports() == {"applied": 0}  # given up: never claimed again
    page = client.get(location).get_data(as_text=True)
    assert 'id="import-job-failed"' in page
    assert "interrupted 3 times and was stopped after 2 of 5 rows" in page
    assert "Import the rows after line 3 from a new file." in page
    assert '<strong id="import-created">2</strong>' in page  # what was imported is shown
