"""Importing customers and vehicles from a previous DMS: a dry run with row-level errors, then
the worker applies the file (or nothing, if a row turned bad); bad files get a clear message
and change nothing."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from admin import import_jobs
from admin.models import DONE, FAILED, ImportJob
from portal.models import AuditEvent, User, Vehicle
from tests import factories

HEADER = "姓名,手机,邮箱,车架号,车牌,品牌,车系,年款"


@pytest.fixture(autouse=True)
def upload_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_DIR", str(tmp_path / "files"))


@pytest.fixture
def manager(f, db):
    store = f.store("A")
    boss = f.manager(store)
    db.session.commit()
    return boss


def _counts(db) -> tuple[int, int]:
    db.session.expire_all()
    return (
        db.session.scalar(select(func.count(User.id))),
        db.session.scalar(select(func.count(Vehicle.id))),
    )


def _csv(*lines: str, encoding: str = "utf-8") -> bytes:
    return "\n".join([HEADER, *lines]).encode(encoding)


def _preview(client, manager, data: bytes, name: str = "dms.csv"):
    return client.post(
        "/admin/imports/preview",
        data={"upload": (io.BytesIO(data), name), "store": manager.store_id},
        content_type="multipart/form-data",
    )


def _token(page: str) -> str:
    m = re.search(r'name="token" value="([^"]+)"', page)
    assert m, page[:3000]
    return m.group(1)


def _row(name: str, phone: str, vin: str = "", plate: str = "", year: str = "2021") -> str:
    car = f"{vin},{plate},比亚迪,汉,{year}" if vin else ",,,,"
    return f"{name},{phone},,{car}"


def test_dry_run_lists_each_bad_row_and_changes_nothing(client, auth, f, db, manager):
    someone = f.owner(manager.store)
    taken = f.vehicle(someone)
    db.session.commit()
    before = _counts(db)
    vin = factories.vin()
    data = _csv(
        _row("张三", "13811112222", vin, factories.plate()),
        _row("李四", "1381111", factories.vin(), factories.plate()),  # bad phone
        _row("王五", "13811113333", "LSVAB1234", factories.plate()),  # bad VIN
        _row("赵六", "13811114444", vin, factories.plate()),  # the VIN of line 2 again
        _row("钱七", "13811115555"),
        _row("钱七", "13811115555"),  # the same row twice
        _row("孙八", "13811116666", taken.vin, factories.plate()),  # someone else's car
    )
    auth.login(manager)
    r = _preview(client, manager, data)
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert 'id="import-blocked"' in page and 'id="import-apply"' not in page
    assert "7 rows: 5 with errors" in page

    def line(n: int) -> str:
        return page.split(f'id="line-{n}"', 1)[1].split("</tr>", 1)[0]

    assert "Bad phone number: 1381111" in line(3)
    assert "Bad VIN LSVAB1234: A VIN has exactly 17 characters." in line(4)
    assert "Duplicate row: the same VIN as line 2." in line(5)
    assert "Duplicate row: the same phone number as line 6." in line(7)
    assert "This VIN or email belongs to another customer." in line(8)
    assert "new customer, vehicle added" in line(2)
    assert _counts(db) == before


def test_applying_adds_customers_and_vehicles_and_matches_known_customers(
    client, auth, f, db, manager
):
    known = f.owner(manager.store, name="老客户", phone="13922223333")
    db.session.commit()
    before = _counts(db)
    data = _csv(
        _row("张三", "138 1111 2222", factories.vin(), factories.plate()),
        _row("张三", "13811112222", factories.vin(), factories.plate()),  # a second car
        _row("老客户", "+86 139 2222 3333", factories.vin(), factories.plate()),
        _row("李四", "13811117777"),
    )
    auth.login(manager)
    r = _preview(client, manager, data)
    assert r.status_code == 200, r.get_data(as_text=True)[:3000]
    page = r.get_data(as_text=True)
    assert "4 rows: 0 with errors, 1 matching known customers, 3 new vehicles." in page
    r = client.post("/admin/imports/apply", data={"token": _token(page)})
    assert r.status_code == 303 and "/admin/imports/jobs/" in r.headers["Location"]
    assert _counts(db) == before  # queued: the worker applies it
    assert import_jobs.run_imports() == {"applied": 1}
    job_page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert (
        'id="import-done"' in job_page and 'hx-trigger="every' not in job_page
    )  # polling stopped (the menu's badge loads once)
    assert 'new customers: <strong id="import-created">2</strong>' in job_page
    assert 'added to known customers: <strong id="import-merged">2</strong>' in job_page
    assert '<strong id="import-vehicles">3</strong>' in job_page
    assert _counts(db) == (before[0] + 2, before[1] + 3)
    zhang = db.session.scalar(select(User).where(User.phone == "13811112222"))
    assert zhang.store_id == manager.store_id and len(zhang.vehicles) == 2
    assert len(db.session.get(User, known.id).vehicles) == 1  # no second record of them
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "customers_imported"))
    again = client.post("/admin/imports/apply", data={"token": _token(page)})
    assert again.status_code == 303 and _counts(db) == (before[0] + 2, before[1] + 3)


def test_all_or_nothing_when_a_row_turns_bad_before_applying(client, auth, f, db, manager):
    vin = factories.vin()
    data = _csv(
        _row("张三", "13811112222", factories.vin(), factories.plate()),
        _row("李四", "13811113333", vin, factories.plate()),
    )
    auth.login(manager)
    page = _preview(client, manager, data).get_data(as_text=True)
    token = _token(page)
    f.vehicle(f.owner(manager.store), vin=vin)  # meanwhile, someone registers line 3's car
    db.session.commit()
    before = _counts(db)
    r = client.post("/admin/imports/apply", data={"token": token})
    assert r.status_code == 303
    import_jobs.run_imports()
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Nothing was imported: 1 rows have errors." in page
    assert db.session.scalar(select(ImportJob.status)) == FAILED
    failures = client.get(r.headers["Location"] + "/failures").get_data(as_text=True)
    assert "3,This VIN or email belongs to another customer.,李四,13811113333" in failures
    assert _counts(db) == before  # not even line 2's customer
    assert db.session.scalar(select(User).where(User.phone == "13811112222")) is None


def test_a_gbk_csv_from_excel_and_an_xlsx_workbook_both_read(client, auth, db, manager):
    auth.login(manager)
    r = _preview(client, manager, _csv(_row("欧阳娜娜", "13811118888"), encoding="gbk"))
    assert r.status_code == 200 and "欧阳娜娜" in r.get_data(as_text=True)
    book = Workbook()
    sheet = book.active
    sheet.append(["name", "phone", "vin", "plate", "brand", "series", "model_year"])
    sheet.append(["诸葛亮", 13811119999, factories.vin(), factories.plate(), "吉利", "星越", 2022])
    out = io.BytesIO()
    book.save(out)
    r = _preview(client, manager, out.getvalue(), "dms.xlsx")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "诸葛亮" in page and "13811119999" in page
    r = client.post("/admin/imports/apply", data={"token": _token(page)})
    assert r.status_code == 303
    import_jobs.run_imports()
    assert db.session.scalar(select(ImportJob.status)) == DONE
    assert db.session.scalar(select(User).where(User.phone == "13811119999")).vehicles


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"\n\n", "The file is empty."),
        ("姓名,手机\n张三,13811112222".encode("utf-16"), "neither CSV text nor an Excel"),
        (b"name,phone\n\x81\xff\xfe,13811112222", "neither UTF-8 nor GBK"),
        (b"PK\x03\x04 not really a workbook", "This Excel file cannot be read"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "Old Excel files (.xls)"),
        ("姓名,邮箱\n张三,a@b.cn".encode(), "Columns missing from the file: phone / 手机"),
        (b'name,phone\n"unterminated,13811112222\x00', "neither CSV text"),
    ],
)
def test_a_bad_file_gets_a_clear_message_and_changes_nothing(
    client, auth, db, manager, data, message
):
    before = _counts(db)
    auth.login(manager)
    r = _preview(client, manager, data)
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)
    assert _counts(db) == before


def test_a_huge_file_is_refused(app, client, auth, db, manager, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 1024)
    auth.login(manager)
    r = _preview(client, manager, _csv(*[_row("张三", f"138{i:08d}") for i in range(100)]))
    assert r.status_code == 422 and "The file is larger than" in r.get_data(as_text=True)
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 1024 * 1024)
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 10)
    r = _preview(client, manager, _csv(*[_row("张三", f"138{i:08d}") for i in range(11)]))
    assert r.status_code == 422 and "more than 10 rows" in r.get_data(as_text=True)


def test_no_file_or_a_forged_token_changes_nothing(client, auth, db, f, manager):
    auth.login(manager)
    r = client.post("/admin/imports/preview", data={"store": manager.store_id})
    assert r.status_code == 422
    before = _counts(db)
    r = client.post("/admin/imports/apply", data={"token": "forged"})
    assert r.status_code == 303
    assert "this import is unknown" in client.get("/admin/imports/").get_data(as_text=True)
    assert _counts(db) == before


def test_another_managers_token_is_refused(client, auth, db, f, manager):
    auth.login(manager)
    page = _preview(client, manager, _csv(_row("张三", "13811112222"))).get_data(as_text=True)
    token = _token(page)
    auth.logout()
    auth.login(f.manager(f.store("B")))
    before = _counts(db)
    assert client.post("/admin/imports/apply", data={"token": token}).status_code == 303
    assert _counts(db) == before


def test_the_demo_has_a_finished_export_and_a_sample_dms_file(client, auth, f, db):
    from admin import demo, exports
    from admin.models import DONE, ExportJob
    from portal.demo import DEMO_LOGINS

    boss = f.manager(f.store("A"), phone=DEMO_LOGINS["manager"])
    f.owner(boss.store, name="演示客户")
    boss_id = boss.id
    assert demo.load_exports_demo() == {"exports": 1}
    boss = db.session.get(User, boss_id)  # the worker's batches left the session
    assert demo.load_exports_demo() == {"exports": 0}  # idempotent
    job = db.session.scalar(select(ExportJob).where(ExportJob.user_id == boss.id))
    assert job.status == DONE and job.total_rows == 1
    sample = (exports.export_dir() / demo.SAMPLE_IMPORT).read_bytes()
    auth.login(boss)
    r = _preview(client, boss, sample)
    assert r.status_code == 422
    assert "14 rows: 2 with errors" in r.get_data(as_text=True)


def test_an_upload_never_applied_is_deleted_after_the_retention(app, client, auth, db, manager):
    import os
    import time

    from admin import exports
    from admin.upload_retention import purge_unapplied

    auth.login(manager)
    _preview(client, manager, _csv(_row("张三", "13811112222")))
    (kept,) = (exports.export_dir() / "imports").glob("*")
    assert purge_unapplied()["deleted"] == 0
    old = time.time() - app.config["IMPORT_UPLOAD_KEEP_DAYS"] * 86400 - 5
    os.utime(kept, (old, old))
    assert exports.purge_old_files() == 0  # export files only
    assert purge_unapplied()["deleted"] == 1 and not kept.exists()
