"""Checked import uploads nobody applied (customers, platform leads, catalog) are deleted by the
worker after IMPORT_UPLOAD_KEEP_DAYS; an import queued that long is stopped with a message and
its file goes; a running import's file and a fresh upload stay."""

from __future__ import annotations

import os
import time

import pytest
from flask import Flask
from sqlalchemy import select

from admin import catalog_import_views, import_jobs, import_views, lead_import_views
from admin.models import FAILED, QUEUED, RUNNING, ImportJob
from admin.outbox import JOB_LABELS
from admin.upload_retention import purge_unapplied
from portal.extensions import db
from portal.timeutil import now
from portal.worker import jobs
from tests.admin.test_import_jobs import LEADS, _token

UPLOADS = (import_views.UPLOADS, lead_import_views.UPLOADS, catalog_import_views.UPLOADS)


@pytest.fixture(autouse=True)
def upload_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_DIR", str(tmp_path / "files"))
    monkeypatch.setitem(app.config, "IMPORT_UPLOAD_KEEP_DAYS", 7)


@pytest.fixture
def manager(f, db):
    store = f.store("A")
    f.advisor(store)
    boss = f.manager(store)
    db.session.commit()
    return boss


def _age(path, days: float) -> None:
    then = time.time() - days * 86400
    os.utime(path, (then, then))


def _keep_each(app: Flask, manager) -> list:
    paths = []
    for uploads in UPLOADS:
        token = uploads.keep(b"a,b\n1,2\n", manager)
        paths.append(uploads.take(token, manager)[0])
    return paths


def test_uploads_never_applied_are_deleted_after_the_retention(app, db, manager):
    fresh = _keep_each(app, manager)
    old = _keep_each(app, manager)
    for path in old:
        _age(path, 7.1)
    for path in fresh:
        _age(path, 6.9)
    assert purge_unapplied() == {"stopped": 0, "deleted": 3}
    assert not any(p.exists() for p in old)
    assert all(p.exists() for p in fresh)
    assert purge_unapplied() == {"stopped": 0, "deleted": 0}  # nothing left to do


def test_the_retention_is_configurable(app, db, manager, monkeypatch):
    paths = _keep_each(app, manager)
    for path in paths:
        _age(path, 2.5)
    assert purge_unapplied()["deleted"] == 0
    monkeypatch.setitem(app.config, "IMPORT_UPLOAD_KEEP_DAYS", 2)
    assert purge_unapplied()["deleted"] == 3


def test_a_purged_upload_cannot_be_applied_and_says_upload_again(client, auth, db, manager):
    auth.login(manager)
    data = f"{LEADS}\nAH-1,甲,13900000001,汉EV,2026-12-01 10:00,1个月内".encode()
    token = _token(client, "/admin/lead_imports/preview", manager, data)
    (kept,) = (import_jobs.upload_path(ImportJob(kind="leads", upload="x")).parent).glob("*")
    _age(kept, 8)
    assert purge_unapplied()["deleted"] == 1
    r = client.post("/admin/lead_imports/apply", data={"token": token}, follow_redirects=True)
    assert "Upload the file again" in r.get_data(as_text=True)
    assert db.session.scalar(select(ImportJob.id)) is None


def _job(manager, path, status=QUEUED) -> int:
    kind = "leads" if path.parent.name == "lead_imports" else "products"
    job = ImportJob(
        kind=kind, store_id=manager.store_id, user_id=manager.id, upload=path.name,
        platform="autohome" if kind == "leads" else "", locale="en", status=status,
        created_at=now(),
    )  # fmt: skip
    db.session.add(job)
    db.session.commit()
    return job.id


def test_an_import_queued_too_long_is_stopped_and_its_file_deleted(app, db, manager, clock):
    _customers, stale_path, running_path = _keep_each(app, manager)
    _customers, recent_path, _catalog = _keep_each(app, manager)
    for path in (stale_path, running_path, recent_path):
        _age(path, 30)  # the file's age alone never deletes a waiting or running job's file
    stale = _job(manager, stale_path)
    running = _job(manager, running_path, status=RUNNING)
    clock.advance(days=7, minutes=1)
    recent = _job(manager, recent_path)  # queued a minute ago: not stale
    # The three uploads no job names are over a week old by now: they go too.
    assert purge_unapplied() == {"stopped": 1, "deleted": 3}
    db.session.expire_all()
    job = db.session.get(ImportJob, stale)
    assert job.status == FAILED and job.finished_at == clock.now
    assert job.error == (
        "This import waited more than 7 days and was not applied. Upload the file again."
    )
    assert not stale_path.exists()
    assert db.session.get(ImportJob, running).status == RUNNING and running_path.exists()
    assert db.session.get(ImportJob, recent).status == QUEUED and recent_path.exists()


def test_the_purge_is_a_labelled_worker_job():
    (job,) = [j for j in jobs.JOBS if j.path == "admin.upload_retention:purge_unapplied"]
    assert job.name in JOB_LABELS
