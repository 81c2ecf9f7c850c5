"""A technician records the inspection of the cars assigned to them, on a phone, and marks it
finished; sending it to the owner stays the advisor's (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from portal.errors import Conflict, NotFound
from portal.models import AuditEvent, Inspection, InspectionItem, InspectionItemSave
from portal.services import inspections as svc
from portal.services.bookings import job_card
from tests.portal.test_bookings import _race, jpeg
from tests.portal.test_inspections import checked_in_booking, make_template

HX = {"HX-Request": "true"}
KEY = "5b1c9e2a-7d4f-4a3b-8c6e-1f2a3b4c5d6e"


@pytest.fixture
def shop(f, db):
    """Store A with an advisor, two technicians and a checklist: a car in the workshop for
    each technician and one nobody is assigned to; store B's car assigned to its technician."""
    store, other = f.store("A"), f.store("B")
    advisor, advisor_b = f.advisor(store), f.advisor(other)
    me, colleague, tech_b = f.technician(store), f.technician(store), f.technician(other)
    template = make_template(db, store)
    make_template(db, other)
    mine = checked_in_booking(f, db, store, advisor)
    theirs = checked_in_booking(f, db, store, advisor)
    nobodys = checked_in_booking(f, db, store, advisor)
    elsewhere = checked_in_booking(f, db, other, advisor_b)
    job_card.assign(advisor, mine, me.id)
    job_card.assign(advisor, theirs, colleague.id)
    job_card.assign(advisor_b, elsewhere, tech_b.id)
    db.session.commit()
    return {
        "store": store,
        "advisor": advisor,
        "advisor_b": advisor_b,
        "me": me,
        "colleague": colleague,
        "tech_b": tech_b,
        "template": template,
        "mine": mine,
        "theirs": theirs,
        "nobodys": nobodys,
        "elsewhere": elsewhere,
    }


def _start(client, booking, template) -> Inspection:
    r = client.post(f"/admin/inspections/start/{booking.id}", data={"template": template.id})
    assert r.status_code == 303
    inspection_id = int(r.headers["Location"].rsplit("/", 1)[1])
    return _get(inspection_id)


def _get(inspection_id: int) -> Inspection:
    from portal.extensions import db

    db.session.expire_all()
    return db.session.get(Inspection, inspection_id)


def test_a_technician_sees_only_the_cars_assigned_to_them(shop, client, auth):
    auth.login(shop["me"])
    page = client.get("/admin/inspections/")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'id="dvi-booking-{shop["mine"].id}"' in body
    for other in ("theirs", "nobodys", "elsewhere"):
        assert f'id="dvi-booking-{shop[other].id}"' not in body
    assert body.count('class="card mb-2 dvi-booking"') == 1
    # Asking for another store changes nothing: a technician keeps their own jobs.
    body = client.get(f"/admin/inspections/?store={shop['elsewhere'].store_id}").get_data(
        as_text=True
    )
    assert f'id="dvi-booking-{shop["elsewhere"].id}"' not in body
    assert f'id="dvi-booking-{shop["mine"].id}"' in body
    # The installable app loads for them.
    assert client.get("/admin/inspections/manifest.webmanifest").status_code == 200
    assert client.get("/admin/inspections/sw.js").status_code == 200


def test_a_technician_starts_and_records_an_item_with_a_photo(shop, client, auth, db):
    me = shop["me"]
    auth.login(me)
    inspection = _start(client, shop["mine"], shop["template"])
    assert inspection.booking_id == shop["mine"].id
    assert inspection.inspector_id == me.id  # the technician is who inspected it
    item = inspection.items[0]
    url = f"/admin/inspections/{inspection.id}/items/{item.id}"
    form = {
        "severity": "amber",
        "note": "刹车片剩 3 mm",
        "price": "480.00",
        "part_no": "",
        "save_key": KEY,
    }
    for _ in range(2):  # the phone's queue sends the same save again after a lost answer
        r = client.post(
            url,
            data={**form, "photo": (io.BytesIO(jpeg()), "pads.jpg")},
            headers=HX,
            content_type="multipart/form-data",
        )
        body = r.get_data(as_text=True)
        assert r.status_code == 200 and "<html" not in body and "dvi-saved" in body
    db.session.expire_all()
    item = db.session.get(InspectionItem, item.id)
    assert (item.severity, item.note, item.price_fen) == ("amber", "刹车片剩 3 mm", 48000)
    assert item.image is not None
    assert db.session.scalar(select(func.count()).select_from(InspectionItemSave)) == 1
    thumb = re.search(r'src="(/media/[^"]+/thumb)"', body).group(1)
    assert client.get(thumb).status_code == 200  # they see the photo they took
    page = client.get(f"/admin/inspections/{inspection.id}").get_data(as_text=True)
    assert 'id="dvi-finish"' in page and 'id="dvi-send"' not in page
    auth.logout()
    auth.login(shop["colleague"])
    assert client.get(thumb).status_code == 404  # a colleague on another job does not
    auth.logout()
    auth.login(shop["advisor"])
    assert client.get(thumb).status_code == 200  # the store's advisor does


def test_a_colleagues_job_and_another_stores_do_not_exist_for_them(shop, client, auth, db):
    advisor, me, template = shop["advisor"], shop["me"], shop["template"]
    theirs = svc.start(advisor, shop["theirs"], template.id)
    elsewhere = svc.start(
        shop["advisor_b"], shop["elsewhere"], make_template(db, shop["elsewhere"].store).id
    )
    db.session.commit()
    auth.login(me)
    for booking in (shop["theirs"], shop["nobodys"], shop["elsewhere"]):
        r = client.post(f"/admin/inspections/start/{booking.id}", data={"template": template.id})
        assert r.status_code == 404
    for inspection in (theirs, elsewhere):
        item = inspection.items[0]
        base = f"/admin/inspections/{inspection.id}"
        assert client.get(base).status_code == 404
        save = client.post(f"{base}/items/{item.id}", data={"severity": "red", "price": "1"})
        assert save.status_code == 404
        assert client.post(f"{base}/finish").status_code == 404
    db.session.expire_all()
    assert db.session.get(InspectionItem, theirs.items[0].id).severity == "green"
    assert db.session.get(Inspection, theirs.id).finished_at is None
    # The services say the same to anyone calling them.
    with pytest.raises(NotFound):
        svc.start(me, shop["nobodys"], template.id)
    with pytest.raises(NotFound):
        svc.staff_inspection(me, theirs.id)
    with pytest.raises(NotFound):
        svc.record_item(me, theirs, theirs.items[0].id, severity="red", note="", price_fen=1)
    with pytest.raises(NotFound):
        svc.finish(me, elsewhere)
    # Unassigned from the job, the technician loses its inspection too.
    mine = svc.start(me, shop["mine"], template.id)
    db.session.commit()
    job_card.unassign(advisor, shop["mine"], me.id)
    db.session.commit()
    assert client.get(f"/admin/inspections/{mine.id}").status_code == 404


def test_a_technician_finishes_and_the_advisor_sends(shop, client, auth, db):
    advisor, me = shop["advisor"], shop["me"]
    auth.login(me)
    inspection = _start(client, shop["mine"], shop["template"])
    base = f"/admin/inspections/{inspection.id}"
    # Sending, and the advisor's screen of decisions and job lines, are the advisor's.
    assert client.post(f"{base}/send").status_code == 403
    assert client.get(f"{base}/decisions").status_code == 403
    with pytest.raises(NotFound):
        svc.send(me, inspection)
    db.session.rollback()
    assert _get(inspection.id).status == "draft"
    assert client.post(f"{base}/finish").status_code == 303
    assert client.post(f"{base}/finish").status_code == 303  # a second tap changes nothing
    inspection = _get(inspection.id)
    assert inspection.finished_by_id == me.id and inspection.finished_at is not None
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "inspection_finished")
    ).all()
    assert [(e.actor_id, e.target_id, e.detail["inspection_id"]) for e in events] == [
        (me.id, shop["mine"].id, inspection.id)
    ]
    page = client.get(base).get_data(as_text=True)
    assert 'id="dvi-state"' in page and 'id="dvi-finish"' not in page
    assert 'id="dvi-send"' not in page
    listing = client.get("/admin/inspections/").get_data(as_text=True)
    assert "dvi-finished" in listing
    auth.logout()

    auth.login(advisor)
    listing = client.get("/admin/inspections/").get_data(as_text=True)
    card = listing.split(f'id="dvi-booking-{shop["mine"].id}"')[1].split("dvi-booking-")[0]
    assert "dvi-finished" in card and me.name in card
    page = client.get(base).get_data(as_text=True)
    assert 'id="dvi-finished"' in page and 'id="dvi-send"' in page
    assert client.post(f"{base}/send").status_code == 303
    assert _get(inspection.id).status == "sent"
    auth.logout()

    auth.login(me)
    page = client.get(base).get_data(as_text=True)
    assert 'id="dvi-state"' in page and "dvi-decisions" not in page
    assert f'id="outcome-{inspection.id}"' in page  # they follow the owner's, read only
    assert client.post(f"{base}/finish").status_code == 303  # sent: says so, nothing changes
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "inspection_finished")
        )
        == 1
    )
    with pytest.raises(Conflict):
        svc.finish(me, _get(inspection.id))


def test_my_jobs_link_each_job_to_its_inspection(shop, client, auth):
    me = shop["me"]
    auth.login(me)
    page = client.get("/admin/my_jobs/").get_data(as_text=True)
    job = page.split(f'id="my-job-{shop["mine"].id}"')[1]
    assert f'action="/admin/inspections/start/{shop["mine"].id}"' in job
    inspection = _start(client, shop["mine"], shop["template"])
    page = client.get("/admin/my_jobs/").get_data(as_text=True)
    assert f'href="/admin/inspections/{inspection.id}"' in page
    assert "/admin/inspections/start/" not in page


def test_two_technicians_finishing_at_once_finish_it_once(app, shop, db):
    me, colleague = shop["me"], shop["colleague"]
    job_card.assign(shop["advisor"], shop["mine"], colleague.id)
    inspection = svc.start(me, shop["mine"], shop["template"].id)
    db.session.flush()
    inspection_id, ids = inspection.id, (me.id, colleague.id)
    db.session.commit()  # and no read after it: the threads' writes are seen afterwards

    def finish(i, tdb):
        from portal.models import User

        svc.finish(tdb.session.get(User, ids[i]), tdb.session.get(Inspection, inspection_id))

    assert _race(app, 2, finish) == ["ok", "ok"]
    db.session.expire_all()
    assert db.session.get(Inspection, inspection_id).finished_by_id in ids
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "inspection_finished")
        )
        == 1
    )
