"""The platform lead import pages: upload, a dry run that changes nothing, import the whole
file (through the worker); bad files get a clear message and change nothing."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from admin import import_jobs
from crm.lead_import_models import PlatformLead
from crm.models import YICHE, Lead, Task

DATA = Path(__file__).resolve().parent.parent / "data" / "lead_imports"


@pytest.fixture(autouse=True)
def upload_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_DIR", str(tmp_path / "files"))


@pytest.fixture
def manager(f, db):
    store = f.store("A")
    f.advisor(store)
    boss = f.manager(store)
    db.session.commit()
    return boss


def _preview(client, manager, data: bytes, name: str = "leads.csv", platform: str = ""):
    return client.post(
        "/admin/lead_imports/preview",
        data={"upload": (io.BytesIO(data), name), "store": manager.store_id, "platform": platform},
        content_type="multipart/form-data",
    )


def _leads(db) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Lead.id)))


def test_a_sample_export_is_told_checked_and_imported_once(client, auth, db, manager):
    auth.login(manager)
    assert "Autohome" in client.get("/admin/lead_imports/").get_data(as_text=True)
    r = _preview(client, manager, (DATA / "dongchedi_gbk.csv").read_bytes())
    page = r.get_data(as_text=True)
    assert r.status_code == 200, page[:3000]
    assert "Platform: Dongchedi (told from the columns)" in page
    assert "2 rows: 0 with errors, 0 with warnings; 2 new leads" in page
    assert _leads(db) == 0
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    r = client.post("/admin/lead_imports/apply", data={"token": token})
    assert r.status_code == 303 and _leads(db) == 0  # queued for the worker
    import_jobs.run_imports()
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert 'new leads: <strong id="import-created">2</strong>' in page
    assert 'already imported (skipped): <strong id="import-skipped">0</strong>' in page
    assert _leads(db) == 2
    assert db.session.scalar(select(func.count(Task.id)).where(Task.owner_id.is_(None))) == 0
    again = client.post("/admin/lead_imports/apply", data={"token": token})  # the token is spent
    assert again.status_code == 303 and _leads(db) == 2
    r = _preview(client, manager, (DATA / "dongchedi_gbk.csv").read_bytes())
    assert "2 already imported (skipped)" in r.get_data(as_text=True)


def test_an_excel_export_with_the_platform_chosen(client, auth, db, manager):
    book = Workbook()
    sheet = book.active
    sheet.append(["订单号", "用户姓名", "手机号码", "车系", "提交时间"])
    sheet.append(["Y1", "周先生", 13900004001, "汉EV", "2026-12-01 10:00"])
    buf = io.BytesIO()
    book.save(buf)
    auth.login(manager)
    r = _preview(client, manager, buf.getvalue(), "leads.xlsx", platform=YICHE)
    page = r.get_data(as_text=True)
    assert r.status_code == 200, page[:3000]
    assert "Platform: Yiche" in page and "told from the columns" not in page


def test_row_errors_block_the_import(client, auth, db, manager):
    data = "线索ID,客户姓名,手机号\nA1,甲,1390000\nA1,乙,13900004002\n".encode()
    auth.login(manager)
    r = _preview(client, manager, data, platform="autohome")
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert 'id="import-blocked"' in page and 'id="import-apply"' not in page
    assert "Bad phone number: 1390000" in page
    assert "Duplicate row: the same lead ID as line 2." in page


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "leads.csv", "The file is empty."),
        (b"PK\x03\x04 not really a workbook", "leads.xlsx", "This Excel file cannot be read"),
        ("线索ID,手机号\n1,13900004003\n".encode("utf-16"), "leads.csv", "neither CSV"),
        (b"\xff\xfe\xfa\xfb,\x81\n", "leads.csv", "neither UTF-8 nor GBK"),
        ("姓名,手机号\n甲,13900004004\n".encode(), "leads.csv", "cannot be told from the columns"),
        ("线索ID,意向车系\n1,汉EV\n".encode(), "leads.csv", "Columns missing from the file"),
    ],
)
def test_bad_files_are_refused_with_a_reason(client, auth, db, manager, data, name, message):
    auth.login(manager)
    r = _preview(client, manager, data, name)
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)
    assert _leads(db) == 0 and not db.session.scalar(select(func.count(PlatformLead.id)))


def test_too_many_rows_are_refused(app, client, auth, db, manager, monkeypatch):
    monkeypatch.setitem(app.config, "LEAD_IMPORT_MAX_ROWS", 3)
    rows = "\n".join(f"L{i},客户{i},1390000500{i}" for i in range(4))
    auth.login(manager)
    r = _preview(client, manager, f"线索ID,客户姓名,手机号\n{rows}\n".encode(), platform="yiche")
    assert r.status_code == 422
    assert "The file has more than 3 rows: split it." in r.get_data(as_text=True)
