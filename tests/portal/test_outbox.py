"""The outbox: queued in the request's transaction, delivered after commit by the worker."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from portal.models import AuditEvent, OutboxMessage, PasswordResetToken, User
from portal.services import outbox
from portal.worker.delivery import deliver_due


def _rows(db, **where) -> list[OutboxMessage]:
    db.session.commit()
    query = select(OutboxMessage).order_by(OutboxMessage.created_at)
    for key, value in where.items():
        query = query.where(getattr(OutboxMessage, key) == value)
    return list(db.session.scalars(query))


def test_enqueue_flushes_in_the_callers_transaction_and_a_rollback_drops_it(db):
    message = outbox.enqueue("email", "a@example.com", kind="account", subject="Hi", body="x")
    assert len(message.id) == 32 and message.status == "pending" and message.attempts == 0
    db.session.rollback()
    assert _rows(db) == []


def test_the_worker_sends_each_message_once_with_a_stable_message_id(db, smtp):
    message = outbox.enqueue("email", "a@example.com", kind="account", subject="Hi", body="x")
    db.session.commit()
    assert smtp.messages == []
    [mail] = smtp.deliver()
    assert mail["Message-ID"] == f"<{message.id}@m4s.local>"
    assert mail["To"] == "a@example.com" and mail.get_content().strip() == "x"
    [row] = _rows(db)
    assert row.status == "sent" and row.sent_at is not None and row.attempts == 1
    assert smtp.deliver() == [mail]  # nothing left to send


def test_not_before_holds_a_message_back(db, smtp, clock):
    from datetime import timedelta

    outbox.enqueue(
        "email", "a@example.com", kind="reminder", not_before=clock.now + timedelta(hours=1)
    )
    assert smtp.deliver() == []
    clock.advance(hours=1)
    assert len(smtp.deliver()) == 1


def test_failures_back_off_and_end_as_dead_letters(app, db, smtp, clock, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 3)
    monkeypatch.setitem(app.config, "SMTP_PORT", 1)  # nobody listens there
    outbox.enqueue("email", "a@example.com", kind="account", subject="Hi")
    db.session.commit()
    waits = []
    for _ in range(3):
        assert deliver_due() in (
            {"sent": 0, "retry": 1, "dead": 0, "lost": 0},
            {"sent": 0, "retry": 0, "dead": 1, "lost": 0},
        )
        [row] = _rows(db)
        waits.append((row.next_attempt_at - clock.now).total_seconds())
        assert deliver_due()["retry"] == 0  # not due again until the backoff has passed
        clock.advance(hours=2)
    assert row.status == "dead" and row.attempts == 3 and "SMTP" in row.last_error
    # Exponential with jitter: the second wait lies in [30, 60], the first in [15, 30].
    assert 15 <= waits[0] <= 30 and 30 <= waits[1] <= 60


def test_a_permanent_refusal_is_dead_at_once(db, monkeypatch):
    def refuse(message):
        raise outbox.DeliveryError("550 no such user", retryable=False)

    monkeypatch.setitem(outbox.DELIVERERS, "test", refuse)
    outbox.enqueue("test", "x", kind="account")
    assert deliver_due()["dead"] == 1
    assert _rows(db)[0].status == "dead"


def test_a_crashing_deliverer_is_retried_and_the_queue_goes_on(db, smtp, monkeypatch):
    def crash(message):
        raise RuntimeError("bug")

    monkeypatch.setitem(outbox.DELIVERERS, "test", crash)
    outbox.enqueue("test", "x", kind="account")
    outbox.enqueue("email", "a@example.com", kind="account")
    counts = deliver_due()
    assert counts["retry"] == 1 and counts["sent"] == 1
    assert "RuntimeError: bug" in _rows(db, channel="test")[0].last_error


def test_a_message_of_a_dead_worker_is_reclaimed_after_its_lease(app, db, smtp, clock):
    outbox.enqueue("email", "a@example.com", kind="account")
    db.session.commit()
    [claimed] = outbox.claim(10, app.config["OUTBOX_LEASE_SECONDS"])  # then the worker dies
    assert smtp.deliver() == []  # still leased
    clock.advance(seconds=app.config["OUTBOX_LEASE_SECONDS"] + 1)
    assert len(smtp.deliver()) == 1
    # The dead worker's late settle cannot overwrite the reclaim: its fence is stale.
    assert outbox.mark_sent(claimed, claimed.attempts) is False
    [row] = _rows(db)
    assert row.status == "sent" and row.attempts == 2


def test_retry_dead_puts_a_dead_letter_back(db, smtp):
    message = outbox.enqueue("email", "a@example.com", kind="account")
    message.status, message.attempts = "dead", 8
    db.session.commit()
    assert smtp.deliver() == []
    assert outbox.retry_dead(message.id) is True
    assert outbox.retry_dead(message.id) is False  # only a dead letter can be retried
    assert len(smtp.deliver()) == 1


def test_queue_stats(db, clock):
    assert outbox.queue_stats() == {"depth": 0, "oldest": None, "dead": 0}
    first = outbox.enqueue("email", "a@example.com", kind="account")
    clock.advance(minutes=5)
    outbox.enqueue("email", "b@example.com", kind="account")
    dead = outbox.enqueue("email", "c@example.com", kind="account")
    dead.status = "dead"
    db.session.commit()
    stats = outbox.queue_stats()
    assert stats["depth"] == 2 and stats["dead"] == 1 and stats["oldest"] == first.created_at


# --- requests never talk SMTP ---------------------------------------------------------


def test_mail_causing_requests_open_no_smtp_connection(f, db, client, auth, smtp):
    store = f.store()
    owner = f.owner(store)
    advisor = f.advisor(store)
    rescue = f.rescue(owner)
    rescue.advisor_id, rescue.status = advisor.id, "claimed"
    db.session.commit()
    form = {
        "name": "新车主",
        "phone": "13900000001",
        "email": "new@example.com",
        "password": "a good long passphrase",
        "confirm": "a good long passphrase",
        "store": store.id,
        "accept_policy": "y",
    }
    assert client.post("/register", data=form).status_code == 303
    assert client.post("/register", data=form).status_code == 303  # a taken login
    assert client.post("/password/forgot", data={"login": owner.email}).status_code == 303
    assert client.post("/password/forgot", data={"login": "x@example.com"}).status_code == 303
    auth.login(owner)
    assert client.post(f"/rescue/{rescue.id}/cancel").status_code == 303
    assert smtp.connections == 0 and smtp.messages == []
    queued = _rows(db)
    assert len(queued) == 5 and {m.status for m in queued} == {"pending"}
    delivered = smtp.deliver()
    assert sorted(m["To"] for m in delivered) == sorted(m.recipient for m in queued)
    assert len({m["Message-ID"] for m in delivered}) == 5


def _table_counts(db) -> dict[str, int]:
    db.session.commit()
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in (OutboxMessage, AuditEvent, User, PasswordResetToken)
    }


def test_reset_of_a_known_and_an_unknown_address_answer_alike_and_queue_one_mail(f, db, client):
    owner = f.owner()
    before = _table_counts(db)
    known = client.post("/password/forgot", data={"login": owner.email}, follow_redirects=True)
    middle = _table_counts(db)
    unknown = client.post(
        "/password/forgot", data={"login": "nobody@example.com"}, follow_redirects=True
    )
    after = _table_counts(db)
    assert known.status_code == unknown.status_code == 200
    assert known.get_data() == unknown.get_data()
    for table in ("outbox_messages", "audit_events"):
        assert middle[table] - before[table] == after[table] - middle[table] == 1


def test_register_new_and_taken_answer_alike_hash_alike_and_queue_one_mail(
    f, db, client, monkeypatch
):
    from portal.services import passwords

    store = f.store()
    db.session.commit()
    hashed = []
    real = passwords.hash_password
    monkeypatch.setattr(passwords, "hash_password", lambda p: hashed.append(p) or real(p))
    form = {
        "name": "车主",
        "phone": "13900000002",
        "email": "taken@example.com",
        "password": "a good long passphrase",
        "confirm": "a good long passphrase",
        "store": store.id,
        "accept_policy": "y",
    }
    before = _table_counts(db)
    new = client.post("/register", data=form)
    middle = _table_counts(db)
    taken = client.post("/register", data=form)
    after = _table_counts(db)
    assert new.status_code == taken.status_code == 303
    assert new.headers["Location"] == taken.headers["Location"]
    assert len(hashed) == 2  # the taken login costs one argon2 hash too
    assert middle["outbox_messages"] - before["outbox_messages"] == 1
    assert after["outbox_messages"] - middle["outbox_messages"] == 1


# --- several workers ------------------------------------------------------------------


def test_concurrent_workers_deliver_each_of_1000_messages_exactly_once(app, db, smtp):
    from sqlalchemy import insert

    from portal.timeutil import now

    at = now()
    db.session.execute(
        insert(OutboxMessage),
        [
            dict(
                id=f"{i:032x}",
                channel="email",
                kind="account",
                recipient=f"u{i}@example.com",
                subject=f"m{i}",
                body="",
                data={},
                status="pending",
                attempts=0,
                next_attempt_at=at,
                created_at=at,
            )
            for i in range(1000)
        ],
    )
    db.session.commit()
    # SQLite has one writer at a time: one worker there (the claim would still be correct).
    workers = 4 if db.engine.dialect.name == "postgresql" else 1
    barrier = threading.Barrier(workers)
    errors = []

    def work():
        from portal.extensions import db as tdb

        with app.app_context():
            try:
                barrier.wait()
                deliver_due()
            except Exception as exc:  # reported below, not swallowed
                errors.append(exc)
            finally:
                tdb.session.remove()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ids = [m["Message-ID"] for m in smtp.messages]
    assert len(ids) == 1000 and len(set(ids)) == 1000
    assert (
        db.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent")
        )
        == 1000
    )


@pytest.mark.parametrize("channel", ["email"])
def test_email_is_registered(channel):
    assert channel in outbox.load_deliverers()


def test_a_claim_takes_at_most_its_limit_and_another_worker_the_next_ones(app, db):
    for i in range(30):
        outbox.enqueue("email", f"u{i}@example.com", kind="account")
    db.session.commit()
    first = outbox.claim(10, 60)
    second = outbox.claim(10, 60)
    assert len(first) == len(second) == 10
    assert not {m.id for m in first} & {m.id for m in second}
    assert all(m.status == "sending" and m.attempts == 1 for m in first + second)
    assert len(_rows(db, status="sending")) == 20
