"""Import jobs: "apply" queues one job per checked file (even when clicked twice at once), the
worker applies it in committed batches recording its progress and counts, a row refused
meanwhile lands in the downloadable failure list, and another store's job does not exist."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from admin import import_jobs
from admin.models import DONE, QUEUED, RUNNING, ImportFailure, ImportJob
from crm import leads as crm_leads
from crm.lead_import_models import PlatformLead
from crm.models import Lead
from portal.extensions import db as ext_db
from portal.models import User, Vehicle
from tests import factories
from tests.threads import at_once

CUSTOMERS = "姓名,手机,邮箱,车架号,车牌,品牌,车系,年款"
LEADS = "线索ID,客户姓名,手机号,意向车系,线索创建时间,预计购车时间"


@pytest.fixture(autouse=True)
def upload_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_DIR", str(tmp_path / "files"))
    monkeypatch.setitem(app.config, "IMPORT_BATCH", 2)


@pytest.fixture
def manager(f, db):
    store = f.store("A")
    f.advisor(store)
    boss = f.manager(store)
    db.session.commit()
    return boss


def _token(client, url: str, manager, data: bytes) -> str:
    r = client.post(
        url,
        data={"upload": (io.BytesIO(data), "file.csv"), "store": manager.store_id, "platform": ""},
        content_type="multipart/form-data",
    )
    page = r.get_data(as_text=True)
    m = re.search(r'name="token" value="([^"]+)"', page)
    assert m, page[:3000]
    return m.group(1)


def _customers(n: int, vins: list[str] | None = None) -> bytes:
    lines = [CUSTOMERS]
    for i in range(n):
        vin = vins[i] if vins else factories.vin()
        lines.append(f"客户{i},1381111{i:04d},,{vin},{factories.plate()},比亚迪,汉,2021")
    return "\n".join(lines).encode()


class Progress:
    """Record the progress the worker commits (the done_rows of each UPDATE of a job)."""

    def __init__(self) -> None:
        self.done: list[int] = []
        self.commits_after: dict[int, callable] = {}

    def __enter__(self):
        event.listen(ext_db.session, "do_orm_execute", self._execute)
        event.listen(ext_db.session, "after_commit", self._commit)
        return self

    def __exit__(self, *exc):
        event.remove(ext_db.session, "do_orm_execute", self._execute)
        event.remove(ext_db.session, "after_commit", self._commit)

    def _execute(self, state) -> None:
        if state.is_update and state.statement.table.name == "import_jobs":
            done = state.statement.compile().params.get("done_rows")
            if done is not None:
                self.done.append(done)

    def _commit(self, _session) -> None:
        if self.done and self.done[-1] in self.commits_after:
            self.commits_after.pop(self.done[-1])()


def test_apply_queues_a_job_and_the_worker_applies_it_in_batches(client, auth, db, manager):
    auth.login(manager)
    token = _token(client, "/admin/imports/preview", manager, _customers(5))
    r = client.post("/admin/imports/apply", data={"token": token})
    assert r.status_code == 303
    job = db.session.scalar(select(ImportJob))
    assert job.status == QUEUED and job.store_id == manager.store_id and job.percent == 0
    page = client.get(r.headers["Location"], headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in page and 'hx-trigger="every 2s"' in page  # polls until finished
    again = client.post("/admin/imports/apply", data={"token": token})  # a second click
    assert again.headers["Location"] == r.headers["Location"]
    assert db.session.scalar(select(func.count(ImportJob.id))) == 1
    with Progress() as progress:
        assert import_jobs.run_imports() == {"applied": 1}
    assert progress.done == [2, 4, 5]  # committed a batch of IMPORT_BATCH rows at a time
    db.session.expire_all()
    job = db.session.get(ImportJob, job.id)
    assert (job.status, job.total_rows, job.done_rows, job.percent) == (DONE, 5, 5, 100)
    assert (job.created, job.merged, job.skipped, job.failed, job.vehicles) == (5, 0, 0, 0, 5)
    assert db.session.scalar(select(func.count(Vehicle.id))) == 5
    page = client.get(r.headers["Location"], headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "hx-trigger" not in page and 'id="import-done"' in page  # stops polling
    assert 'id="import-failures"' not in page
    assert not list((import_jobs.upload_path(job)).parent.glob("*"))  # the file is spent
    assert import_jobs.run_imports() == {"applied": 0}


def test_the_progress_page_shows_a_running_job_and_works_without_htmx(client, auth, db, manager):
    job = ImportJob(
        kind="customers", store_id=manager.store_id, user_id=manager.id, upload="u1",
        status=RUNNING, total_rows=5, done_rows=2, created=2,
    )  # fmt: skip
    db.session.add(job)
    db.session.commit()
    auth.login(manager)
    page = client.get(f"/admin/imports/jobs/{job.id}").get_data(as_text=True)
    assert "<html" in page and 'aria-valuenow="40"' in page and "2 of 5 rows" in page
    assert 'id="import-waiting"' in page and f'href="/admin/imports/jobs/{job.id}"' in page
    assert f'href="/admin/imports/jobs/{job.id}"' in client.get("/admin/imports/").get_data(
        as_text=True
    )  # listed among the store's recent imports


def test_a_row_refused_while_applying_is_listed_and_the_rest_applied(
    app, client, auth, f, db, manager
):
    vins = [factories.vin() for _ in range(5)]
    other = f.owner(manager.store)
    db.session.commit()
    other_id, store_id = other.id, manager.store_id
    auth.login(manager)
    token = _token(client, "/admin/imports/preview", manager, _customers(5, vins))
    r = client.post("/admin/imports/apply", data={"token": token})

    def colleague_registers_line_5s_car() -> None:  # after the first batch is committed
        with Session(ext_db.engine) as s:
            s.add(Vehicle(
                owner_id=other_id, store_id=store_id, vin=vins[3], plate=factories.plate(),
                brand="比亚迪", series="汉", model_year=2021,
            ))  # fmt: skip
            s.commit()

    with Progress() as progress:
        progress.commits_after[2] = colleague_registers_line_5s_car
        import_jobs.run_imports()
    db.session.expire_all()
    job = db.session.scalar(select(ImportJob))
    assert (job.status, job.done_rows, job.created, job.failed) == (DONE, 5, 4, 1)
    (failure,) = db.session.scalars(select(ImportFailure)).all()
    assert failure.line == 5 and "already registered" in failure.reason
    assert db.session.scalar(select(User).where(User.phone == "13811110003")) is None
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert '<strong id="import-failed">1</strong>' in page and 'id="import-failures"' in page
    download = client.get(r.headers["Location"] + "/failures")
    assert download.headers["Content-Type"].startswith("text/csv")
    lines = download.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("Line,Reason,name,phone")
    assert lines[1].startswith("5,") and "13811110003" in lines[1] and vins[3] in lines[1]
    assert len(lines) == 2


def test_a_lead_import_counts_new_joined_and_skipped_leads(client, auth, f, db, manager):
    store = manager.store
    crm_leads.capture(
        crm_leads.Inquiry(name="老客户", phone="13900000002", store=store, source="walk_in")
    )
    db.session.commit()
    auth.login(manager)
    data = "\n".join(
        [
            LEADS,
            "AH-1,甲,13900000001,汉EV,2026-12-01 10:00,1个月内",
            "AH-2,乙,13900000002,汉EV,2026-12-01 10:05,一周内",
            "AH-3,丙,13900000003,,2026-12-01 10:10,",
        ]
    ).encode()
    r = client.post(
        "/admin/lead_imports/apply",
        data={"token": _token(client, "/admin/lead_imports/preview", manager, data)},
    )
    import_jobs.run_imports()
    # The same export again: every id is already imported.
    again = client.post(
        "/admin/lead_imports/apply",
        data={"token": _token(client, "/admin/lead_imports/preview", manager, data)},
    )
    import_jobs.run_imports()
    db.session.expire_all()
    first, second = db.session.scalars(select(ImportJob).order_by(ImportJob.id)).all()
    assert (first.created, first.merged, first.skipped, first.failed) == (2, 1, 0, 0)
    assert (second.created, second.merged, second.skipped, second.done_rows) == (0, 0, 3, 3)
    assert first.platform == "autohome" and first.kind == "leads"
    assert db.session.scalar(select(func.count(Lead.id))) == 3
    assert db.session.scalar(select(func.count(PlatformLead.id))) == 3
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert 'added to open leads: <strong id="import-merged">1</strong>' in page
    assert "/admin/lead_imports/jobs/" in again.headers["Location"]


def test_two_clicks_on_apply_at_once_queue_one_job(app, client, auth, db, manager):
    auth.login(manager)
    token = _token(client, "/admin/imports/preview", manager, _customers(3))
    clients = []
    for _ in range(4):
        c = app.test_client()
        c.post("/login", data={"login": manager.login, "password": factories.PASSWORD})
        clients.append(c)

    def click():
        return (
            clients.pop()
            .post("/admin/imports/apply", data={"token": token})
            .headers.get("Location")
        )

    results = at_once(app, click, 4)
    assert len(set(results)) == 1 and "/admin/imports/jobs/" in results[0], results
    assert db.session.scalar(select(func.count(ImportJob.id))) == 1
    import_jobs.run_imports()
    assert db.session.scalar(select(func.count(Vehicle.id))) == 3  # applied once


def test_two_workers_claim_a_job_once(app, db, manager):
    job = ImportJob(kind="customers", store_id=manager.store_id, user_id=manager.id, upload="u")
    db.session.add(job)
    db.session.commit()
    job_id = job.id
    results = at_once(app, import_jobs.claim_import, 2)
    assert sorted(results, key=str) == [job_id, None], results
    assert db.session.scalar(select(ImportJob.status)) == RUNNING


def test_another_stores_colleague_cannot_see_the_job(client, auth, f, db, manager):
    job = ImportJob(
        kind="customers", store_id=manager.store_id, user_id=manager.id, upload="u", failed=1
    )
    db.session.add(job)
    db.session.commit()
    colleague, stranger = f.manager(manager.store), f.manager(f.store("B"))
    db.session.commit()
    auth.login(colleague)  # the same store: they see it
    assert client.get(f"/admin/imports/jobs/{job.id}").status_code == 200
    auth.logout()
    auth.login(stranger)
    assert client.get(f"/admin/imports/jobs/{job.id}").status_code == 404
    assert client.get(f"/admin/imports/jobs/{job.id}/failures").status_code == 404
    assert f"/admin/imports/jobs/{job.id}" not in client.get("/admin/imports/").get_data(
        as_text=True
    )
    # A customer import is no job of the lead import page.
    auth.logout()
    auth.login(manager)
    assert client.get(f"/admin/lead_imports/jobs/{job.id}").status_code == 404


def test_a_job_whose_uploader_left_fails_without_changing_anything(client, auth, f, db, manager):
    auth.login(manager)
    token = _token(client, "/admin/imports/preview", manager, _customers(2))
    r = client.post("/admin/imports/apply", data={"token": token})
    manager.is_active = False  # they left before the worker got to it
    db.session.commit()
    before = db.session.scalar(select(func.count(User.id)))
    import_jobs.run_imports()
    db.session.expire_all()
    job = db.session.scalar(select(ImportJob))
    assert job.status == "failed" and job.done_rows == 0
    assert job.error == "The import failed. Try again, or ask an administrator."
    assert db.session.scalar(select(func.count(User.id))) == before
    auth.logout()
    auth.login(f.manager(manager.store))
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert 'id="import-job-failed"' in page and "PermissionError" not in page
