"""Download my data (PIPL): everything about me, nothing about anyone else, no secrets."""

from __future__ import annotations

import csv
import io
import json
import zipfile

from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, Rating
from portal.models.bookings import COMPLETED
from portal.services import notify
from portal.services import privacy as svc


def _download(client) -> zipfile.ZipFile:
    response = client.post("/account/privacy/export")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    return zipfile.ZipFile(io.BytesIO(response.data))


def test_the_zip_holds_my_records_as_json_and_csv(f, client, auth):
    store = f.store()
    me = f.owner(store, name="张伟")
    car = f.vehicle(me, plate="粤B12345")
    booking = f.booking(me, store, vehicle=car)
    booking.status = COMPLETED
    db.session.add(Rating(booking_id=booking.id, owner_id=me.id, service_stars=5, advisor_stars=4))
    f.rescue(me, car)
    notify.notify(me, "您的车辆已完工")
    db.session.commit()
    auth.login(me)

    archive = _download(client)
    names = set(archive.namelist())
    assert {"README.txt", "data.json", "csv/users.csv", "csv/vehicles.csv"} <= names
    data = json.loads(archive.read("data.json"))
    tables = data["tables"]
    assert [u["name"] for u in tables["users"]] == ["张伟"]
    assert [v["plate"] for v in tables["vehicles"]] == ["粤B12345"]
    assert [b["id"] for b in tables["bookings"]] == [booking.id]
    assert {e["booking_id"] for e in tables["booking_events"]} == {booking.id}  # children too
    assert len(tables["rescues"]) == 1 and tables["rescue_events"]
    assert tables["ratings"][0]["service_stars"] == 5
    assert tables["notifications"][0]["text"] == "您的车辆已完工"
    rows = list(csv.DictReader(io.StringIO(archive.read("csv/vehicles.csv").decode("utf-8-sig"))))
    assert rows[0]["plate"] == "粤B12345"
    # the download is audited
    assert db.session.scalar(
        select(AuditEvent.action)
        .where(AuditEvent.actor_id == me.id)
        .where(AuditEvent.action == "privacy_export")
    )


def test_nothing_about_other_people_and_no_secrets(f, client, auth, db):
    store = f.store()
    me, other = f.owner(store), f.owner(store, name="李娜", phone="13912345678")
    theirs = f.vehicle(other, plate="粤B99999")
    f.booking(other, store, vehicle=theirs)
    f.rescue(other, theirs)
    f.vehicle(me)
    auth.login(me)
    archive = _download(client)
    blob = b"".join(archive.read(n) for n in archive.namelist()).decode("utf-8")
    for foreign in ("李娜", "13912345678", "粤B99999", theirs.vin):
        assert foreign not in blob
    users = json.loads(archive.read("data.json"))["tables"]["users"]
    assert [u["id"] for u in users] == [me.id]
    assert "password_hash" not in users[0] and me.password_hash not in blob
    assert "calendar_token" not in users[0]
    for table in svc.SKIP_TABLES:
        assert f"csv/{table}.csv" not in archive.namelist()


def test_csv_cells_never_become_spreadsheet_formulas():
    assert svc._csv('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert svc._csv("-1+2") == "'-1+2"
    assert svc._csv("正常备注") == "正常备注"
    assert svc._csv(["a"]) == '["a"]'


def test_the_download_needs_a_post_with_its_csrf_token(f, app, auth, client):
    me = f.owner()
    auth.login(me)
    refused = client.get("/account/privacy/export")  # an HTML 405 says what it allows
    assert refused.status_code == 405
    assert set(refused.headers["Allow"].split(", ")) == {"OPTIONS", "POST"}
    page = client.get("/account/privacy/")
    assert page.status_code == 200 and b"privacy-download" in page.data
    title = page.get_data(as_text=True).split("<title>", 1)[1].split("</title>", 1)[0]
    assert "<" not in title and "M4S" in title  # the page's sections are in the page only
