"""Saves sent from a technician's phone carry a key of their own: the same key twice (the
phone retried after losing the answer), also at once from two threads, is one change."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.errors import ValidationError
from portal.models import Image, InspectionItem, InspectionItemSave
from portal.services import inspections as svc
from tests.portal.test_bookings import _race, jpeg
from tests.portal.test_inspections import checked_in_booking, make_template

KEY = "0f8e2b7c-5d1a-4c3e-9b6f-2a7d8e9c1b40"


@pytest.fixture
def draft(f, db):
    store = f.store()
    advisor = f.advisor(store)
    inspection = svc.start(
        advisor, checked_in_booking(f, db, store, advisor), make_template(db, store).id
    )
    db.session.commit()
    return advisor, inspection


def _images(db) -> int:
    return db.session.scalar(select(func.count(Image.id)))


def test_the_same_key_twice_is_one_change(draft, db):
    advisor, inspection = draft
    item_id = inspection.items[0].id
    before = _images(db)
    save = dict(severity="amber", note="刹车片 3 mm", price_fen=48000, photo=jpeg(), save_key=KEY)
    svc.record_item(advisor, inspection, item_id, **save)
    db.session.commit()
    # A colleague changes the note meanwhile; the phone's retry of the first save must not undo it.
    svc.record_item(advisor, inspection, item_id, severity="red", note="换了", price_fen=50000)
    db.session.commit()
    svc.record_item(advisor, inspection, item_id, **{**save, "photo": jpeg()})
    db.session.commit()
    item = db.session.get(InspectionItem, item_id)
    assert (item.severity, item.note, item.price_fen) == ("red", "换了", 50000)
    assert _images(db) == before + 1
    assert db.session.scalar(select(func.count()).select_from(InspectionItemSave)) == 1


def test_a_new_key_is_a_new_change(draft, db):
    advisor, inspection = draft
    item_id = inspection.items[0].id
    svc.record_item(
        advisor, inspection, item_id, severity="amber", note="a", price_fen=1, save_key=KEY
    )
    svc.record_item(
        advisor, inspection, item_id, severity="red", note="b", price_fen=2, save_key=KEY[:-1] + "1"
    )
    db.session.commit()
    assert db.session.get(InspectionItem, item_id).note == "b"


def test_a_key_of_another_item_or_a_bad_key_is_refused(draft, db):
    advisor, inspection = draft
    first, second = inspection.items[0].id, inspection.items[1].id
    svc.record_item(
        advisor, inspection, first, severity="amber", note="a", price_fen=1, save_key=KEY
    )
    db.session.commit()
    with pytest.raises(ValidationError):
        svc.record_item(
            advisor, inspection, second, severity="red", note="b", price_fen=2, save_key=KEY
        )
    db.session.rollback()
    with pytest.raises(ValidationError):
        svc.record_item(
            advisor, inspection, second, severity="red", note="b", price_fen=2, save_key="x'; --"
        )
    db.session.rollback()
    assert db.session.get(InspectionItem, second).note == ""


def test_a_refused_save_records_no_key(draft, db):
    advisor, inspection = draft
    item_id = inspection.items[0].id
    with pytest.raises(ValidationError):
        svc.record_item(
            advisor, inspection, item_id, severity="blue", note="", price_fen=0, save_key=KEY
        )
    db.session.rollback()
    assert db.session.get(InspectionItemSave, KEY) is None


def test_the_same_key_at_once_from_four_threads_is_one_change(app, draft, db):
    advisor, inspection = draft
    inspection_id, item_id, advisor_id = inspection.id, inspection.items[0].id, advisor.id
    before = _images(db)
    photo = jpeg()
    db.session.commit()

    def save(i, tdb):
        from portal.models import Inspection, User

        svc.record_item(
            tdb.session.get(User, advisor_id),
            tdb.session.get(Inspection, inspection_id),
            item_id,
            severity="amber",
            note="刹车片 3 mm",
            price_fen=48000,
            photo=photo,
            save_key=KEY,
        )

    results = _race(app, 4, save)
    assert results == ["ok"] * 4  # every retry is answered as saved
    db.session.expire_all()
    assert _images(db) == before + 1
    assert db.session.get(InspectionItem, item_id).note == "刹车片 3 mm"
    assert db.session.scalar(select(func.count()).select_from(InspectionItemSave)) == 1


def test_the_view_answers_a_repeated_key_as_saved(client, auth, draft, db):
    advisor, inspection = draft
    item_id = inspection.items[0].id
    auth.login(advisor)
    url = f"/admin/inspections/{inspection.id}/items/{item_id}"
    form = {"severity": "amber", "note": "刹车片", "price": "480.00", "save_key": KEY}
    for _ in range(2):
        res = client.post(url, data=form, headers={"HX-Request": "true"})
        assert res.status_code == 200
        assert b"dvi-saved" in res.data and b"<html" not in res.data
    res = client.post(
        url,
        data={**form, "price": "abc", "save_key": KEY[:-1] + "2"},
        headers={"HX-Request": "true"},
    )
    assert res.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(InspectionItemSave)) == 1


def test_manifest_and_service_worker(client, auth, draft):
    advisor, inspection = draft
    auth.login(advisor)
    res = client.get("/admin/inspections/manifest.webmanifest")
    assert res.status_code == 200 and res.mimetype == "application/manifest+json"
    assert res.json["scope"] == "/admin/inspections/" and res.json["display"] == "standalone"
    res = client.get("/admin/inspections/sw.js")
    assert res.status_code == 200 and res.mimetype == "text/javascript"
    assert res.headers["Service-Worker-Allowed"] == "/admin/inspections/"
    assert b'addEventListener("fetch"' in res.data
    page = client.get(f"/admin/inspections/{inspection.id}").get_data(as_text=True)
    assert 'rel="manifest"' in page and "dvi-offline.js" in page and "data-dvi-offline" in page
