"""Importing products, stock counts and price lists: a dry run with errors by row and column,
then the worker applies all rows or none, its progress on the import's page; bad files get a
clear message and change nothing; scheduled prices start at midnight in the store's zone."""

from __future__ import annotations

import io
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from admin import catalog_imports, import_jobs
from admin.models import ImportJob
from portal.extensions import db as ext_db
from portal.models import AuditEvent
from shop import prices, stock
from shop.models import Category, Product, ScheduledPrice, StockMove

PRODUCTS_HEADER = "商品编码 / sku,中文名称,name_en,分类,价格（元）"


@pytest.fixture(autouse=True)
def upload_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_DIR", str(tmp_path / "files"))


@pytest.fixture
def people(f, db):
    store_a, store_b = f.store("A"), f.store("B")
    people = {"manager": f.manager(store_a), "admin": f.admin(), "store_b": store_b}
    db.session.commit()
    return people


@pytest.fixture
def catalog(db, f, people):
    """Two products with 10 units each on the shelf of store A (the manager's)."""
    oil = Category(name="机油", name_en="Engine oil")
    db.session.add(oil)
    made = {}
    for sku, name, price in (("OIL-1", "全合成机油", 39900), ("WIPER-2", "雨刮片", 12800)):
        p = Product(sku=sku, name=name, name_en=sku, category=oil, price_fen=price)
        db.session.add(p)
        db.session.flush()
        f.stock(p, 10, people["manager"].store)
        made[sku] = p
    db.session.commit()
    return made


def _preview(client, data: bytes, kind: str, store_id: int, name: str = "file.csv"):
    return client.post(
        "/admin/catalog_imports/preview",
        data={"upload": (io.BytesIO(data), name), "kind": kind, "store": store_id},
        content_type="multipart/form-data",
    )


def _token(page: str) -> str:
    m = re.search(r'name="token" value="([^"]+)"', page)
    assert m, page[:3000]
    return m.group(1)


def _apply(client, page: str):
    """Apply the checked file: queue its job, then run the worker as the job's page waits."""
    r = client.post("/admin/catalog_imports/apply", data={"token": _token(page)})
    import_jobs.run_imports()
    return r


def _products(db) -> dict[str, tuple]:
    db.session.expire_all()
    return {
        p.sku: (p.name, p.name_en, p.price_fen, p.stock)
        for p in db.session.scalars(select(Product))
    }


def test_dry_run_lists_errors_by_row_and_column_and_changes_nothing(
    client, auth, db, people, catalog
):
    before = _products(db)
    data = "\n".join(
        [
            PRODUCTS_HEADER,
            "MAT-9,脚垫,Floor mats,机油,199",  # fine: a new product
            "OIL-1,全合成机油,,机油,399.00",  # no English name
            "WIPER-2,雨刮片,Wiper,Engine oil,12.345",  # a third decimal
            "CUP-3,杯架,Cup holder,轮胎,20",  # no such category
            "MAT-9,脚垫,Floor mats,机油,199",  # the SKU of line 2 again
            "bad sku!,名,Name,机油,1",
        ]
    ).encode()
    auth.login(people["admin"])
    r = _preview(client, data, "products", people["store_b"].id)
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert 'name="token"' not in page
    for line, column in ((3, "name_en"), (4, "price"), (5, "category"), (6, "sku"), (7, "sku")):
        row = re.search(rf'<tr id="line-{line}".*?</tr>', page, re.S).group(0)
        assert f'data-column="{column}"' in row, (line, row)
    assert "at most two decimals" in page
    assert "Duplicate row: the same SKU as line 2." in page
    assert re.search(r'<tr id="line-2">', page)  # the good row is not marked
    assert _products(db) == before


def test_a_clean_gbk_product_file_applies_in_one_go(client, auth, db, people, catalog):
    data = "\n".join(
        [
            PRODUCTS_HEADER + ",低库存提醒",
            "OIL-1,全合成机油 5W-30,Full synthetic oil 5W-30,机油,\uffe5419.50,5",
            'MAT-9,脚垫,Floor mats,Engine oil,"1,299",',
        ]
    ).encode("gbk")
    auth.login(people["admin"])
    r = _preview(client, data, "products", people["store_b"].id)
    assert r.status_code == 200, r.get_data(as_text=True)[:2000]
    checked = r.get_data(as_text=True)
    assert _apply(client, checked).status_code == 303
    after = _products(db)
    assert after["OIL-1"] == ("全合成机油 5W-30", "Full synthetic oil 5W-30", 41950, 10)
    assert after["MAT-9"] == ("脚垫", "Floor mats", 129900, 0)
    assert db.session.scalar(select(Product.low_stock).where(Product.sku == "OIL-1")) == 5
    assert db.session.scalar(
        select(func.count()).where(AuditEvent.action == "shop_products_imported")
    )
    # The same token again: the file was applied and is gone, nothing happens twice.
    r = _apply(client, checked)
    assert "Upload the file again" in client.get(r.location).get_data(as_text=True)
    assert db.session.scalar(select(func.count(Product.id))) == 3


def test_a_stock_count_from_excel_sets_the_stock_and_the_ledger(client, auth, db, people, catalog):
    book = Workbook()
    sheet = book.active
    sheet.append(["商品编码", "盘点数量"])
    sheet.append(["OIL-1", 4])
    sheet.append(["WIPER-2", "25"])
    out = io.BytesIO()
    book.save(out)
    auth.login(people["manager"])
    r = _preview(client, out.getvalue(), "stock", people["manager"].store_id, "count.xlsx")
    assert r.status_code == 200, r.get_data(as_text=True)[:2000]
    assert "10 → 4" in r.get_data(as_text=True)
    assert _apply(client, r.get_data(as_text=True)).status_code == 303
    after = _products(db)
    assert (after["OIL-1"][3], after["WIPER-2"][3]) == (4, 25)
    for sku in ("OIL-1", "WIPER-2"):
        assert stock.ledger_total(catalog[sku].id) == after[sku][3]
    notes = db.session.scalars(select(StockMove.note).where(StockMove.reason == "adjust")).all()
    assert sorted(notes) == ["count 25: stock count import", "count 4: stock count import"]


def test_a_manager_counts_only_their_store_and_imports_no_products(
    client, auth, db, people, catalog
):
    auth.login(people["manager"])
    csv_data = b"sku,count\nOIL-1,3\n"
    r = _preview(client, csv_data, "stock", people["store_b"].id)
    assert r.status_code == 422  # store B is not a choice for store A's manager
    r = _preview(client, (PRODUCTS_HEADER + "\nMAT-9,脚垫,Mats,机油,1\n").encode(), "products",
                 people["manager"].store_id)  # fmt: skip
    assert r.status_code == 422
    for kind in ("products", "prices"):
        assert client.get(f"/admin/catalog_imports/{kind}/template").status_code == 403
        assert client.get(f"/admin/catalog_imports/{kind}/sample").status_code == 403
    assert client.get("/admin/catalog_imports/nonsense/template").status_code == 403
    assert _products(db)["OIL-1"][3] == 10


def test_apply_checks_again_and_applies_nothing_when_a_row_went_bad(
    client, auth, db, people, catalog
):
    auth.login(people["admin"])
    data = b"sku,price\nOIL-1,100\nWIPER-2,200\n"
    r = _preview(client, data, "prices", people["store_b"].id)
    assert r.status_code == 200
    catalog["WIPER-2"].sku = "WIPER-3"  # renamed meanwhile: line 3's SKU is unknown now
    db.session.commit()
    r = _apply(client, r.get_data(as_text=True))
    assert r.status_code == 303
    assert "Nothing was imported: 1 rows have errors" in client.get(r.location).get_data(
        as_text=True
    )
    assert _products(db)["OIL-1"][2] == 39900  # the good row was not applied either


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"\xff\xfe\xfd\xfc,\xff\n\xfe\xff", "neither UTF-8 nor GBK"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "Old Excel files (.xls)"),
        (b"PK\x03\x04 not really a workbook", "This Excel file cannot be read"),
        ("商品编码\nOIL-1\n".encode(), "Columns missing from the file: 盘点数量 / count"),
        (b"sku,count\n", "The file has no rows below its header."),
        (b'sku,count\n"OIL-1,3\n', "盘点数量"),  # an unclosed quote: one odd cell
    ],
)
def test_bad_files_get_a_clear_message(client, auth, db, people, catalog, data, message):
    auth.login(people["admin"])
    r = _preview(client, data, "stock", people["store_b"].id)
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)
    assert _products(db)["OIL-1"][3] == 10


def test_sizes_are_bounded(app, client, auth, db, people, catalog, monkeypatch):
    auth.login(people["admin"])
    monkeypatch.setitem(app.config, "CATALOG_IMPORT_MAX_ROWS", 2)
    r = _preview(client, b"sku,count\nOIL-1,1\nOIL-1,1\nOIL-1,1\n", "stock", people["store_b"].id)
    assert r.status_code == 422 and "more than 2 rows" in r.get_data(as_text=True)
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 1024)
    big = b"sku,count\n" + b"OIL-1,1\n" * 200
    r = _preview(client, big, "stock", people["store_b"].id)
    assert r.status_code == 422 and "The file is larger than" in r.get_data(as_text=True)


def test_a_price_list_schedules_prices_from_midnight_in_the_store_zone(
    client, auth, db, people, catalog, clock
):
    store = people["store_b"]
    store.timezone = "Asia/Urumqi"
    db.session.commit()
    today = prices.store_today(store)
    later = today + timedelta(days=3)
    data = f"sku,price,starts_on\nOIL-1,420,{later:%Y/%m/%d}\nWIPER-2,99.9,{today}\n".encode()
    auth.login(people["admin"])
    r = _preview(client, data, "prices", store.id)
    assert r.status_code == 200, r.get_data(as_text=True)[:2000]
    assert _apply(client, r.get_data(as_text=True)).status_code == 303
    after = _products(db)
    assert (after["OIL-1"][2], after["WIPER-2"][2]) == (39900, 9990)  # today's applies now
    planned = db.session.scalars(select(ScheduledPrice)).one()
    midnight = datetime.combine(later, time(0), ZoneInfo("Asia/Urumqi"))
    assert planned.starts_at == midnight.astimezone(ZoneInfo("UTC"))
    assert "OIL-1" in client.get("/admin/catalog_imports/?kind=prices").get_data(as_text=True)
    assert prices.apply_due() == 0
    clock.now = planned.starts_at - timedelta(seconds=1)
    assert prices.apply_due() == 0
    clock.now = planned.starts_at
    assert prices.apply_due() == 1
    assert prices.apply_due() == 0  # applied once
    assert _products(db)["OIL-1"][2] == 42000


def test_a_date_too_far_or_malformed_is_a_row_error(client, auth, db, people, catalog):
    far = prices.store_today(people["store_b"]) + timedelta(days=400)
    data = f"sku,price,starts_on\nOIL-1,420,{far}\nWIPER-2,99,next week\n".encode()
    auth.login(people["admin"])
    r = _preview(client, data, "prices", people["store_b"].id)
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "at most a year ahead" in page and "Bad date next week" in page
    assert db.session.scalar(select(func.count(ScheduledPrice.id))) == 0


@pytest.mark.parametrize("kind", catalog_imports.KINDS)
def test_the_template_and_the_sample_download_and_check_clean(
    client, auth, db, people, catalog, kind
):
    auth.login(people["admin"])
    r = client.get(f"/admin/catalog_imports/{kind}/template")
    assert r.status_code == 200 and r.data.startswith(b"\xef\xbb\xbf")
    header = r.data.decode("utf-8-sig").strip().split(",")
    assert header[0] == "商品编码 / sku"
    assert catalog_imports.column_map(kind, header)
    r = client.get(f"/admin/catalog_imports/{kind}/sample")
    assert r.status_code == 200
    rows = list(load_workbook(io.BytesIO(r.data)).active.iter_rows(values_only=True))
    assert len(rows) == 3  # the header and the two products
    r = _preview(client, r.data, kind, people["store_b"].id, "sample.xlsx")
    assert r.status_code == 200, r.get_data(as_text=True)[:2000]
    assert 'name="token"' in r.get_data(as_text=True)


def test_two_workers_apply_a_scheduled_price_once(app, db, people, catalog, clock):
    from tests.threads import at_once

    store = people["store_b"]
    oil = catalog["OIL-1"]
    prices.schedule(
        oil, 45000, prices.store_today(store) + timedelta(days=1), store, people["admin"]
    )
    db.session.commit()
    clock.advance(days=2)
    assert sorted(at_once(app, prices.apply_due, 4)) == [0, 0, 0, 1]
    db.session.expire_all()
    assert db.session.get(Product, oil.id).price_fen == 45000
    assert db.session.scalar(select(ScheduledPrice.applied_at)) is not None


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_utf8_with_or_without_bom_and_gbk_read_alike(client, auth, db, people, catalog, encoding):
    data = "商品编码,盘点数量\r\nOIL-1,7\r\n".encode(encoding)
    auth.login(people["manager"])
    r = _preview(client, data, "stock", people["manager"].store_id)
    assert r.status_code == 200, r.get_data(as_text=True)[:2000]
    assert _apply(client, r.get_data(as_text=True)).status_code == 303
    assert _products(db)["OIL-1"][3] == 7


def test_an_excel_date_cell_schedules_the_price(client, auth, db, people, catalog):
    store = people["store_b"]
    later = prices.store_today(store) + timedelta(days=10)
    book = Workbook()
    book.active.append(["sku", "price", "starts_on"])
    book.active.append(["OIL-1", 405.5, datetime.combine(later, time(0))])
    out = io.BytesIO()
    book.save(out)
    auth.login(people["admin"])
    r = _preview(client, out.getvalue(), "prices", store.id, "prices.xlsx")
    assert r.status_code == 200, r.get_data(as_text=True)[:2000]
    assert _apply(client, r.get_data(as_text=True)).status_code == 303
    planned = db.session.scalars(select(ScheduledPrice)).one()
    assert (planned.price_fen, planned.store_id) == (40550, store.id)
    assert _products(db)["OIL-1"][2] == 39900


def test_apply_queues_a_job_whose_page_shows_the_progress_then_the_counts(
    client, auth, db, people, catalog
):
    data = (PRODUCTS_HEADER + "\nOIL-1,机油,Oil,机油,420\nMAT-9,脚垫,Mats,机油,1299\n").encode()
    auth.login(people["admin"])
    checked = _preview(client, data, "products", people["store_b"].id).get_data(as_text=True)
    r = client.post("/admin/catalog_imports/apply", data={"token": _token(checked)})
    assert r.status_code == 303 and "/admin/catalog_imports/jobs/" in r.location
    waiting = client.get(r.location, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in waiting and 'hx-trigger="every 2s"' in waiting
    assert _products(db)["OIL-1"][2] == 39900  # nothing applied in the request
    assert import_jobs.run_imports() == {"applied": 1}
    page = client.get(r.location).get_data(as_text=True)
    assert 'id="import-done"' in page and 'hx-trigger="every' not in page  # polling stopped
    assert 'new products: <strong id="import-created">1</strong>' in page
    assert 'products updated: <strong id="import-merged">1</strong>' in page
    assert 'id="import-skipped"' not in page and 'id="import-failed"' not in page
    assert _products(db)["MAT-9"][2] == 129900
    index = client.get("/admin/catalog_imports/?kind=products").get_data(as_text=True)
    assert f'href="{r.location}"' in index  # listed among the recent imports


def test_a_row_refused_while_applying_rolls_the_whole_file_back(
    app, client, auth, db, people, catalog
):
    data = (PRODUCTS_HEADER + "\nOIL-1,机油,Oil,机油,420\nMAT-9,脚垫,Mats,机油,1299\n").encode()
    auth.login(people["admin"])
    checked = _preview(client, data, "products", people["store_b"].id).get_data(as_text=True)
    r = client.post("/admin/catalog_imports/apply", data={"token": _token(checked)})
    category_id = catalog["OIL-1"].category_id
    checked_rows: list = []

    def total_saved(state) -> None:
        if state.is_update and state.statement.table.name == "import_jobs":
            if state.statement.compile().params.get("total_rows"):
                checked_rows.append(True)

    def colleague_adds_mat_9(_session) -> None:  # after the worker's check, before its apply
        if checked_rows and len(checked_rows) == 1:
            checked_rows.append(False)
            with Session(ext_db.engine) as s:
                s.add(Product(sku="MAT-9", name="脚垫", name_en="Mats", price_fen=100,
                              category_id=category_id))  # fmt: skip
                s.commit()

    event.listen(ext_db.session, "do_orm_execute", total_saved)
    event.listen(ext_db.session, "after_commit", colleague_adds_mat_9)
    try:
        import_jobs.run_imports()
    finally:
        event.remove(ext_db.session, "do_orm_execute", total_saved)
        event.remove(ext_db.session, "after_commit", colleague_adds_mat_9)
    page = client.get(r.location).get_data(as_text=True)
    assert 'id="import-job-failed"' in page
    assert "Nothing was imported: line 3 conflicts with a record added meanwhile" in page
    after = _products(db)
    assert after["OIL-1"][2] == 39900 and after["MAT-9"][2] == 100  # line 2 rolled back too


def test_a_catalog_job_is_seen_by_those_who_may_run_its_kind_at_its_store(
    client, auth, f, db, people, catalog
):
    store_a = people["manager"].store_id
    jobs = {}
    for kind, who in (("products", "admin"), ("stock", "manager")):
        job = ImportJob(kind=kind, store_id=store_a, user_id=people[who].id, upload=kind)
        db.session.add(job)
        db.session.commit()
        jobs[kind] = f"/admin/catalog_imports/jobs/{job.id}"
    auth.login(people["manager"])
    assert client.get(jobs["stock"]).status_code == 200
    assert client.get(jobs["products"]).status_code == 404  # the group's editors' import
    auth.logout()
    auth.login(f.manager(people["store_b"]))
    db.session.commit()
    assert client.get(jobs["stock"]).status_code == 404  # another store's count
    auth.logout()
    auth.login(people["admin"])
    assert client.get(jobs["products"]).status_code == 200
    assert client.get(jobs["stock"].replace("catalog_imports", "imports")).status_code == 404
