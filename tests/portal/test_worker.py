"""The worker: periodic jobs claimed once per slot, the loop, its health endpoint and CLI."""

from __future__ import annotations

import json
import threading
import urllib.request

from sqlalchemy import func, select

from portal.models import JobRun, Notification, Rescue
from portal.services import outbox
from portal.worker import jobs
from portal.worker.runner import Worker

COUNTER = {"n": 0}


def count_job():
    """A job for the tests: count its runs."""
    COUNTER["n"] += 1
    return {"done": COUNTER["n"]}


def failing_job():
    raise RuntimeError("the job broke")


def test_a_job_runs_once_per_slot_and_records_its_result(db, clock):
    COUNTER["n"] = 0
    job = jobs.Job("count", "tests.portal.test_worker:count_job", 60)
    run = jobs.run_job(job, "w1")
    assert run.status == "ok" and run.result == "done=1" and run.finished_at is not None
    assert jobs.run_job(job, "w2") is None  # the same slot: already claimed
    clock.advance(seconds=60)
    assert jobs.run_job(job, "w2").worker == "w2"
    assert COUNTER["n"] == 2


def test_a_failing_job_is_recorded_and_runs_again_next_slot(db, clock):
    job = jobs.Job("broken", "tests.portal.test_worker:failing_job", 60)
    run = jobs.run_job(job)
    assert run.status == "error" and "the job broke" in run.result
    clock.advance(seconds=60)
    assert jobs.run_job(job).status == "error"
    assert db.session.scalar(select(func.count(JobRun.id))) == 2


def test_concurrent_workers_run_each_slot_exactly_once(app, db):
    COUNTER["n"] = 0
    job = jobs.Job("count", "tests.portal.test_worker:count_job", 3600)
    barrier = threading.Barrier(4)
    runs = []

    def work(i):
        from portal.extensions import db as tdb

        with app.app_context():
            barrier.wait()
            runs.append(jobs.run_job(job, f"w{i}"))
            tdb.session.remove()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert COUNTER["n"] == 1 and sum(r is not None for r in runs) == 1


def test_the_worker_escalates_an_unclaimed_rescue_and_mails_the_manager(f, db, app, smtp, clock):
    store = f.store()
    manager = f.manager(store)
    f.rescue(f.owner(store))
    clock.advance(minutes=app.config["RESCUE_CLAIM_MINUTES"] + 1)
    db.session.commit()
    runs = {r.job: r for r in jobs.run_due_jobs("w1")}
    assert runs["rescue-escalation"].result == "1"
    assert {r.status for r in runs.values()} == {"ok"}, [(r.job, r.result) for r in runs.values()]
    assert db.session.scalar(select(Rescue.unclaimed_escalated_at)) is not None
    notes = db.session.scalar(
        select(func.count(Notification.id)).where(Notification.user_id == manager.id)
    )
    assert notes == 1
    [mail] = smtp.deliver()
    assert mail["To"] == manager.email
    assert jobs.run_due_jobs("w2") == []  # every job already ran in this slot


def test_the_worker_loop_delivers_and_reports_health(app, db, smtp):
    outbox.enqueue("email", "a@example.com", kind="account", subject="loop")
    db.session.commit()
    worker = Worker(app, delivery_threads=2, jobs=False)
    server = worker.serve_health(0)
    done = threading.Event()
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        # Wait for the delivery, not for a time: the loop sets last_loop after each round.
        while not (smtp.messages and len(worker.health()["last_loop"]) == 2):
            done.wait(0.05)
        url = f"http://127.0.0.1:{server.server_address[1]}/healthz"
        with urllib.request.urlopen(url) as response:  # noqa: S310 (loopback)
            assert response.status == 200
            health = json.loads(response.read())
        assert set(health["last_loop"]) == {"delivery-0", "delivery-1"}
        assert health["delivered"] == 1
    finally:
        worker.stop.set()
        thread.join()
        server.shutdown()
        server.server_close()
    assert [m["Subject"] for m in smtp.messages] == ["loop"]


def test_worker_once_from_the_command_line(app, db, smtp):
    outbox.enqueue("email", "a@example.com", kind="account", subject="cli")
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["m4s", "worker", "--once", "--no-jobs"])
    assert result.exit_code == 0, result.output
    assert "sent=1" in result.output
    assert [m["Subject"] for m in smtp.messages] == ["cli"]
