"""Back-office exports: store scope and masking, CSV in UTF-8 and GBK, Excel, the worker's
big exports with progress, and download links that are their owner's and expire."""

from __future__ import annotations

import csv
import io
import threading

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from admin import export_sources, exports
from admin.job_claims import claim_oldest
from admin.models import DONE, QUEUED, RUNNING, ExportJob
from portal.extensions import db as _db


@pytest.fixture(autouse=True)
def export_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_DIR", str(tmp_path / "exports"))
    return tmp_path / "exports"


@pytest.fixture
def shop_a(f, db):
    """Store A with two advisors, each with a customer, and a customer of store B."""
    a, b = f.store("A"), f.store("B")
    mine, colleague = f.advisor(a), f.advisor(a)
    own = f.owner(a, name="王小明", phone="13900000001", advisor_id=mine.id)
    other = f.owner(a, name="李四", phone="13900000002", advisor_id=colleague.id)
    far = f.owner(b, name="赵六", phone="13900000003")
    db.session.commit()
    return {"a": a, "b": b, "mine": mine, "colleague": colleague, "own": own, "other": other,
            "far": far}  # fmt: skip


def _csv(body: bytes, encoding: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode(encoding))))


def _export(client, kind: str, fmt: str):
    return client.post("/admin/exports/", data={"kind": kind, "fmt": fmt})


def test_customer_csv_masks_a_colleagues_customer_and_keeps_to_the_store(client, auth, shop_a):
    auth.login(shop_a["mine"])
    r = _export(client, "customers", "csv")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in r.headers["Content-Disposition"]
    assert r.data.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8
    rows = _csv(r.data, "utf-8-sig")
    assert rows[0][:3] == ["Record ID", "Name", "Phone number"]
    by_name = {row[1]: row for row in rows[1:]}
    assert set(by_name) == {"王小明", "李四"}  # store B's customer is not there
    assert by_name["王小明"][2] == "13900000001"
    assert by_name["李四"][2] == "139****0002"  # a colleague's customer: masked
    assert by_name["李四"][3] == ""  # and no email that would give them away
    assert "13900000002" not in r.data.decode("utf-8-sig")


def test_a_manager_sees_whole_numbers_and_an_admin_every_store(client, auth, f, shop_a):
    auth.login(f.manager(shop_a["a"]))
    rows = _csv(_export(client, "customers", "csv").data, "utf-8-sig")
    assert {r[2] for r in rows[1:]} == {"13900000001", "13900000002"}
    auth.logout()
    auth.login(f.admin())
    rows = _csv(_export(client, "customers", "csv").data, "utf-8-sig")
    assert {"王小明", "李四", "赵六"} <= {r[1] for r in rows[1:]}


def test_a_customer_row_names_store_advisor_cars_and_local_time(client, auth, f, db, shop_a):
    """The customers' export reads plain columns and three lookups per batch: each row still
    carries its own store, advisor, number of cars and the time in its store's zone."""
    from datetime import UTC, datetime

    own, far = shop_a["own"], shop_a["far"]
    shop_a["b"].timezone = "Asia/Urumqi"
    f.vehicle(own), f.vehicle(own)
    own.created_at = far.created_at = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    db.session.commit()
    auth.login(f.admin())
    rows = {r[1]: r for r in _csv(_export(client, "customers", "csv").data, "utf-8-sig")[1:]}
    assert rows["王小明"][4:] == ["A", shop_a["mine"].name, "2", "2026-03-02 07:30"]
    assert rows["李四"][4:6] == ["A", shop_a["colleague"].name] and rows["李四"][6] == "0"
    assert rows["赵六"][4:] == ["B", "", "0", "2026-03-02 05:30"]  # Urumqi is UTC+6


def test_gbk_csv_round_trips_chinese_names(client, auth, shop_a):
    auth.login(shop_a["mine"])
    r = _export(client, "customers", "gbk")
    assert r.status_code == 200 and "gbk" in r.headers["Content-Type"]
    assert not r.data.startswith(b"\xef\xbb\xbf")
    with pytest.raises(UnicodeDecodeError):
        r.data.decode("utf-8")  # truly GBK bytes, as Excel in China opens them
    names = {row[1] for row in _csv(r.data, "gbk")[1:]}
    assert names == {"王小明", "李四"}


def test_bookings_in_excel_have_the_stores_rows_with_masked_phones(client, auth, f, shop_a):
    f.booking(shop_a["own"], shop_a["a"])
    f.booking(shop_a["other"], shop_a["a"], days=2)
    f.booking(shop_a["far"], shop_a["b"])
    auth.login(shop_a["mine"])
    r = _export(client, "bookings", "xlsx")
    assert r.status_code == 200 and r.headers["Content-Type"] == exports.XLSX
    sheet = load_workbook(io.BytesIO(r.data), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("Record ID", "Booked slot", "Status", "Customer", "Phone number")
    assert sorted((row[3], row[4]) for row in rows[1:]) == [
        ("李四", "139****0002"),
        ("王小明", "13900000001"),
    ]


def test_leads_export_keeps_to_the_store(client, auth, f, shop_a):
    from crm import leads as crm_leads

    for store, phone in ((shop_a["a"], "13655550001"), (shop_a["b"], "13655550002")):
        crm_leads.capture(crm_leads.Inquiry(name="潜客", phone=phone, store=store, source="phone"))
    _db.session.commit()
    auth.login(f.manager(shop_a["a"]))
    rows = _csv(_export(client, "leads", "csv").data, "utf-8-sig")
    assert [r[3] for r in rows[1:]] == ["13655550001"]


def test_a_formula_in_a_name_is_written_as_text(client, auth, f, shop_a):
    f.owner(shop_a["a"], name="=HYPERLINK(1)", advisor_id=shop_a["mine"].id)
    auth.login(shop_a["mine"])
    sheet = load_workbook(io.BytesIO(_export(client, "customers", "xlsx").data)).worksheets[0]
    names = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "'=HYPERLINK(1)" in names and "=HYPERLINK(1)" not in names


def test_an_unknown_list_or_format_is_refused_with_a_message(client, auth, shop_a):
    auth.login(shop_a["mine"])
    r = _export(client, "passwords", "csv")
    assert r.status_code == 422 and "Not a valid choice" in r.get_data(as_text=True)
    assert _export(client, "customers", "pdf").status_code == 422
    assert _db.session.scalar(select(func.count(ExportJob.id))) == 0


def _queue_big_export(app, client, auth, shop_a, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_SYNC_ROWS", 1)
    auth.login(shop_a["mine"])
    r = _export(client, "customers", "xlsx")
    assert r.status_code == 303 and "/admin/exports/jobs/" in r.headers["Location"]
    job = _db.session.scalar(select(ExportJob))
    assert job.status == QUEUED and job.user_id == shop_a["mine"].id
    return job.id, r.headers["Location"]


def _status(client, url: str) -> int:
    r = client.get(url)
    r.close()  # a file response holds the file open until closed
    return r.status_code


def _download_href(page: str) -> str:
    start = page.index('id="export-download" href="') + len('id="export-download" href="')
    return page[start : page.index('"', start)]


def test_a_big_export_runs_on_the_worker_with_progress_and_a_link(
    app, client, auth, shop_a, monkeypatch
):
    job_id, location = _queue_big_export(app, client, auth, shop_a, monkeypatch)
    waiting = client.get(location, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in waiting and 'hx-trigger="every 2s"' in waiting and "0 %" in waiting
    monkeypatch.setattr(export_sources, "BATCH", 1)
    seen = []
    original = exports._progress

    def watching(job_id):
        report = original(job_id)

        def both(n):
            report(n)
            seen.append(_db.session.get(ExportJob, job_id).done_rows)

        return both

    monkeypatch.setattr(exports, "_progress", watching)
    assert exports.run_exports() == {"made": 1, "purged": 0}
    assert seen == [1, 2]  # the progress was committed row batch by row batch
    _db.session.expire_all()
    job = _db.session.get(ExportJob, job_id)
    assert (job.status, job.total_rows, job.done_rows, job.percent) == (DONE, 2, 2, 100)
    done = client.get(location, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "hx-trigger" not in done  # a finished export stops polling
    page = client.get(location).get_data(as_text=True)
    assert "<html" in page
    r = client.get(_download_href(page))
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    body = r.data
    r.close()
    rows = list(load_workbook(io.BytesIO(body)).worksheets[0].iter_rows(values_only=True))
    assert {row[2] for row in rows[1:]} == {"13900000001", "139****0002"}


def test_the_link_is_only_its_owners_and_expires(app, client, auth, f, shop_a, clock, monkeypatch):
    job_id, location = _queue_big_export(app, client, auth, shop_a, monkeypatch)
    exports.run_exports()
    href = _download_href(client.get(location).get_data(as_text=True))
    auth.logout()
    auth.login(shop_a["colleague"])  # a colleague with the same link gets nothing
    assert _status(client, href) == 404
    assert _status(client, location) == 404  # nor the export's page
    auth.logout()
    auth.login(shop_a["mine"])
    assert _status(client, href) == 200
    monkeypatch.setitem(app.config, "EXPORT_LINK_SECONDS", 60)
    clock.advance(seconds=61)  # (an hour would also end the staff session)
    r = client.get(href)
    assert r.status_code == 410 and "expired" in r.get_data(as_text=True)
    assert client.get(href[:-3] + "abc").status_code == 404  # a tampered link
    fresh = _download_href(client.get(location).get_data(as_text=True))
    assert _status(client, fresh) == 200  # the export's page gives a new link


def test_old_files_are_deleted_and_the_page_says_so(app, client, auth, shop_a, clock, monkeypatch):
    job_id, location = _queue_big_export(app, client, auth, shop_a, monkeypatch)
    exports.run_exports()
    name = _db.session.get(ExportJob, job_id).file_name
    folder = exports.export_dir()
    assert (folder / name).is_file()
    monkeypatch.setitem(app.config, "EXPORT_KEEP_SECONDS", 60)
    clock.advance(seconds=61)
    assert exports.purge_old_files() == 1
    assert not (folder / name).exists()
    assert 'id="export-gone"' in client.get(location).get_data(as_text=True)


def test_a_queued_export_is_claimed_by_one_worker_only(app, f, db):
    store = f.store()
    me = f.advisor(store)
    job = ExportJob(user_id=me.id, kind="customers", fmt="csv", locale="en")
    db.session.add(job)
    db.session.commit()
    claims: list = []
    gate = threading.Barrier(6)

    def one() -> None:
        with app.app_context():
            gate.wait()
            try:
                claims.append(claim_oldest(ExportJob))
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claims, key=str) == sorted([job.id] + [None] * 5, key=str)
    db.session.expire_all()
    assert db.session.get(ExportJob, job.id).status == RUNNING
