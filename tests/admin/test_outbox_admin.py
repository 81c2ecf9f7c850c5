"""The back office's outbox page: jobs, queue, dead letters and an audited retry."""

from __future__ import annotations

from sqlalchemy import select

from portal.models import AuditEvent, JobRun, OutboxMessage
from portal.services import outbox
from portal.worker import jobs
from tests.factories import PASSWORD


def test_admin_sees_jobs_queue_and_dead_letters_and_retries_one(f, db, client, auth, clock):
    admin = f.admin()
    waiting = outbox.enqueue("email", "a@example.com", kind="account", subject="waiting")
    dead = outbox.enqueue("email", "b@example.com", kind="account", subject="gave up")
    dead.status, dead.attempts, dead.last_error = "dead", 8, "SMTP 550"
    db.session.add(
        JobRun(
            job="rescue-escalation",
            slot="2026-12-03T04:00:00Z",
            status="ok",
            result="2",
            started_at=clock.now,
            finished_at=clock.now,
        )
    )
    db.session.commit()
    auth.login(admin)
    html = client.get("/admin/outbox/").get_data(as_text=True)
    assert 'id="outbox-depth">1<' in html and 'id="outbox-dead">1<' in html
    assert f'id="dead-{dead.id}"' in html and "SMTP 550" in html
    assert f'id="dead-{waiting.id}"' not in html
    assert 'id="job-rescue-escalation"' in html and ">ok<" in html
    for job in jobs.JOBS:
        assert f'id="job-{job.name}"' in html

    r = client.post(f"/admin/outbox/{dead.id}/retry")
    assert r.status_code == 303
    db.session.refresh(dead)
    assert dead.status == "pending" and dead.attempts == 0
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "outbox_retry"))
    assert event.actor_id == admin.id and event.detail == {"message_id": dead.id}
    again = client.post(f"/admin/outbox/{dead.id}/retry", follow_redirects=True)
    assert "not a dead letter" in again.get_data(as_text=True)
    assert (
        db.session.scalar(select(OutboxMessage.status).where(OutboxMessage.id == dead.id))
        == "pending"
    )


def test_retry_needs_a_csrf_token(make_app, f, db):
    app = make_app(WTF_CSRF_ENABLED=True)
    admin = f.admin()
    dead = outbox.enqueue("email", "b@example.com", kind="account")
    dead.status = "dead"
    db.session.commit()
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login).group(1)
    logged_in = client.post(
        "/login", data={"login": admin.login, "password": PASSWORD, "csrf_token": token}
    )
    assert logged_in.status_code == 303
    assert client.get("/admin/outbox/").status_code == 200
    assert client.post(f"/admin/outbox/{dead.id}/retry").status_code == 400
    db.session.refresh(dead)
    assert dead.status == "dead"


def test_every_periodic_job_has_a_label():
    from admin.outbox import JOB_LABELS

    assert {job.name for job in jobs.JOBS} <= set(JOB_LABELS)


def test_the_outbox_page_names_jobs_channels_and_intervals_in_chinese(f, db, client, auth):
    dead = outbox.enqueue("sms", "13800000000", kind="account", subject="gave up")
    dead.status = "dead"
    db.session.commit()
    auth.login(f.admin())
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    html = client.get("/admin/outbox/").get_data(as_text=True)
    row = html[html.index('id="job-rescue-escalation"') :]
    row = row[: row.index("</tr>")]
    assert "超时未受理救援升级" in row and "每 1 分钟" in row
    dead_row = html[html.index(f'id="dead-{dead.id}"') :]
    assert "<td>短信</td>" in dead_row[: dead_row.index("</tr>")]
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    html = client.get("/admin/outbox/").get_data(as_text=True)
    assert "every 1 min" in html and "<td>SMS</td>" in html
