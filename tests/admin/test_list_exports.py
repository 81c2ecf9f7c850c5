"""Every back-office model list exports what it shows: its rows (store scope through the
access module, search and filters), its columns, and a colleague's customer's phone masked;
small lists at once, long ones on the worker."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from admin import exports, list_export
from admin.base import seen_phone
from admin.models import DONE, QUEUED, ExportJob
from portal.extensions import db as _db
from portal.models import AuditEvent, InspectionTemplate, StoreDay
from portal.models.accounts import MANAGER
from portal.timeutil import now
from tests.factories import PASSWORD
from tests.test_access_matrix import world  # noqa: F401  (the fixture: a sample of every list)
from workshop_video.models import Camera


@pytest.fixture(autouse=True)
def export_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_DIR", str(tmp_path / "exports"))


def _lists(app) -> dict:
    return app.extensions["m4s_lists"]


def _login(app, user):
    client = app.test_client()
    r = client.post("/login", data={"login": user.login, "password": PASSWORD})
    assert r.status_code == 303
    return client


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def _export(client, view, query: str = "", fmt: str = "csv"):
    url = f"{view.url}/export-list/" + (f"?{query}" if query else "")
    return client.post(url, data={"fmt": fmt})


def _shown_count(client, view, query: str = "") -> int:
    page = client.get(f"{view.url}/" + (f"?{query}" if query else "")).get_data(as_text=True)
    found = re.search(r"List\s*\((\d+)\)", page)
    return int(found.group(1)) if found else 0


@pytest.fixture
def lists(app, world, f, db):  # noqa: F811
    """The access matrix's samples (store A), plus rows of store B that A must never see."""
    users, _args, _query = world
    store_b = users["advisor_b"].store
    far = f.owner(store_b, name="乙店客户")
    f.vehicle(far)
    decided = f.booking(far, store_b)
    decided.status, decided.decided_at = "accepted", now()
    db.session.add(AuditEvent(action="sample", store_id=store_b.id))
    db.session.add(Camera(store_id=store_b.id, bay=1, name="B bay", source="rtsp://127.0.0.1:9/b"))
    db.session.add(InspectionTemplate(store_id=store_b.id, name="乙店模板"))
    store_a = users["manager"].store
    for store in (store_a, store_b):
        db.session.add(StoreDay(store_id=store.id, day=date(2027, 2, 10), closed=True, note="春节"))
    mine = f.booking(users["owner"], store_a)
    mine.status, mine.decided_at = "accepted", now()
    db.session.commit()
    return users


def _exporter(view, users):
    """The manager of store A where managers may open the list, else the admin."""
    return users["manager"] if MANAGER in view.roles else users["admin"]


def test_every_model_list_exports_exactly_its_rows_in_the_stores_scope(app, lists):
    users = lists
    views = _lists(app)
    assert {"owners", "staff", "vehicles_admin", "reviewed", "stores", "shop_products"} <= set(
        views
    )
    for endpoint, view in views.items():
        viewer = _exporter(view, users)
        client = _login(app, viewer)
        rows = _rows(_export(client, view))
        assert rows[0] == list_export_header(app, view), endpoint
        assert len(rows) > 1, f"{endpoint}: no sample rows to export"
        assert len(rows) - 1 == _shown_count(client, view), endpoint  # what the list shows
        if view.store_column is None or viewer.role != MANAGER:
            continue
        with list_export.acting_as(view, exports.Viewer.of(viewer), ""):
            from flask import request

            ids = list_export.ordered_ids(view, request.args)
            records = [_db.session.get(view.model, i) for i in ids]
        assert len(records) == len(rows) - 1
        stores = {getattr(r, view.store_column) for r in records}
        assert stores == {viewer.store_id}, f"{endpoint}: another store's rows exported"


def list_export_header(app, view) -> list[str]:
    with app.test_request_context():
        return [str(label) for _name, label in view.get_export_columns()]


def _customers_not_theirs(advisor) -> list:
    """Store A's customers whose advisor is not this advisor (their phones are masked)."""
    from portal.models import User

    return _db.session.scalars(
        select(User).where(
            User.role == "owner",
            User.store_id == advisor.store_id,
            (User.advisor_id != advisor.id) | User.advisor_id.is_(None),
        )
    ).all()


def test_no_list_gives_an_advisor_a_colleagues_customers_whole_phone(app, lists, f, db):
    users = lists
    advisor = users["advisor"]
    own = f.owner(advisor.store, name="自己的客户", advisor_id=advisor.id)
    db.session.commit()
    hidden = [c.phone for c in _customers_not_theirs(advisor)]
    assert hidden
    client = _login(app, advisor)
    seen = 0
    for endpoint, view in _lists(app).items():
        if advisor.role not in view.roles:
            continue
        text = "\n".join(",".join(r) for r in _rows(_export(client, view)))
        leaked = [p for p in hidden if p in text]
        assert leaked == [], f"{endpoint} exports whole phones {leaked}"
        seen += 1
    assert seen >= 5
    rows = _rows(_export(client, _lists(app)["owners"]))
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["自己的客户"][1] == own.phone  # their own customer: whole
    assert by_name["自己的客户"][2] == own.email
    other = users["owner"]
    masked = f"{other.phone[:3]}****{other.phone[-4:]}"
    assert by_name[other.name][1:3] == [masked, ""]  # masked, and no email to give it away
    assert "乙店客户" not in by_name  # store B's customer does not exist here
    vehicles = _rows(_export(client, _lists(app)["vehicles_admin"]))
    assert f"{other.name} ({masked})" in {r[6] for r in vehicles[1:]}
    # The list page shows the same masked number the file holds.
    page = client.get("/admin/owners/").get_data(as_text=True)
    assert masked in page and other.phone not in page


def test_the_file_keeps_the_lists_search_and_filters(app, lists):
    users = lists
    client = _login(app, users["manager"])
    staff = _lists(app)["staff"]
    with app.test_request_context():
        (key,) = [
            staff.get_filter_arg(i, flt)
            for i, flt in enumerate(staff.get_filters())
            if str(flt.name) == "Role" and str(flt.operation()) == "equals"
        ]
    query = f"flt0_{key}=advisor"
    rows = _rows(_export(client, staff, query))
    assert len(rows) - 1 == _shown_count(client, staff, query) >= 2
    assert {r[1] for r in rows[1:]} == {"Advisor"}
    assert len(rows) - 1 < _shown_count(client, staff)  # the filter took rows away
    owners = _lists(app)["owners"]
    rows = _rows(_export(client, owners, "search=%E8%AF%95%E9%A9%BE%E5%AE%A2"))  # 试驾客
    assert [r[0] for r in rows[1:]] == ["试驾客", "试驾客"]
    # Whatever the list makes of an odd value, the file holds the same rows.
    odd = f"flt0_{key}=" + "x" * 30 + "&sort=99&desc=abc&flt1_999=1&fltx=2"
    rows = _rows(_export(client, staff, odd))
    assert len(rows) - 1 == _shown_count(client, staff, odd)


def test_a_long_list_goes_to_the_worker_as_the_staff_member_saw_it(app, lists, monkeypatch):
    users = lists
    advisor = users["advisor"]
    other = users["owner"]
    monkeypatch.setitem(app.config, "EXPORT_SYNC_ROWS", 1)
    client = _login(app, advisor)
    owners = _lists(app)["owners"]
    query = f"search={other.phone[:7]}&sort=0&desc=1"
    r = _export(client, owners, query, fmt="xlsx")
    assert r.status_code == 303 and "/admin/exports/jobs/" in r.headers["Location"]
    job = _db.session.scalar(select(ExportJob))
    assert (job.kind, job.status, job.list_args) == ("list:owners", QUEUED, query)
    job_id = job.id
    assert exports.run_exports()["made"] == 1
    _db.session.expire_all()
    job = _db.session.get(ExportJob, job_id)
    assert job.status == DONE, job.error
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Export: Owners" in page
    start = page.index('id="export-download" href="') + len('id="export-download" href="')
    download = client.get(page[start : page.index('"', start)])
    assert download.status_code == 200
    name = download.headers["Content-Disposition"]
    body = download.data
    download.close()
    assert "owners-" in name and ".xlsx" in name
    rows = list(load_workbook(io.BytesIO(body)).worksheets[0].iter_rows(values_only=True))
    assert rows[0][:2] == ("Name", "Mobile number")
    found = [row for row in rows[1:] if row[0] == other.name]
    assert [row[1] for row in found] == [f"{other.phone[:3]}****{other.phone[-4:]}"]
    assert all(row[1].startswith(other.phone[:3]) for row in rows[1:])  # the search held
    assert len(rows) - 1 == _shown_count(client, owners, query)
    names = [row[0] for row in rows[1:]]
    assert names == sorted(names, reverse=True)  # the list's order: name, descending
    assert "exports" in page and "Owners" in client.get("/admin/exports/").get_data(as_text=True)


def test_a_worker_export_of_someone_no_longer_allowed_fails(app, lists, monkeypatch):
    users = lists
    monkeypatch.setitem(app.config, "EXPORT_SYNC_ROWS", 0)
    client = _login(app, users["manager"])
    r = _export(client, _lists(app)["staff"])
    assert r.status_code == 303
    users["manager"].role = "advisor"  # staff accounts are a manager's list
    _db.session.commit()
    exports.run_exports()
    _db.session.expire_all()
    job = _db.session.scalar(select(ExportJob))
    assert job.status == "failed" and job.file_name is None


def test_a_missing_format_or_too_many_filters_is_refused_with_a_message(app, lists):
    users = lists
    client = _login(app, users["manager"])
    owners = _lists(app)["owners"]
    r = client.post("/admin/owners/export-list/?search=x", data={"fmt": "pdf"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/admin/owners/?search=x")
    assert "Choose a file format" in client.get(r.headers["Location"]).get_data(as_text=True)
    r = _export(client, owners, "search=" + "1" * 2100)
    assert r.status_code == 303
    assert "too many filters" in client.get("/admin/owners/").get_data(as_text=True)
    assert _db.session.scalar(select(ExportJob)) is None


def test_the_list_page_offers_the_export_with_its_query(app, lists):
    client = _login(app, lists["manager"])
    page = client.get("/admin/owners/?search=abc").get_data(as_text=True)
    assert 'id="list-export"' in page
    assert 'action="/admin/owners/export-list/?search=abc"' in page


def test_the_phone_formatter_is_the_access_rule(app, lists):
    view = _lists(app)["owners"]
    assert view.column_formatters["phone"] is seen_phone
