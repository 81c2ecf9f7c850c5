"""Inspection pages: the technician's screen in the back office and the owner's signed link."""

from __future__ import annotations

import io
import re

from PIL import Image as PILImage
from sqlalchemy import func, select

from portal.models import Inspection, InspectionItem, JobLine
from portal.services import inspections as svc
from tests.portal.test_bookings import jpeg
from tests.portal.test_inspections import checked_in_booking, make_template, sent_inspection

HX = {"HX-Request": "true"}


def test_staff_record_an_inspection_with_a_photo_and_send_it(client, auth, f, db):
    store = f.store()
    advisor = f.advisor(store)
    template = make_template(db, store)
    booking = checked_in_booking(f, db, store, advisor)
    auth.login(advisor)
    page = client.get("/admin/inspections/")
    assert page.status_code == 200 and booking.vehicle.plate in page.get_data(as_text=True)
    r = client.post(f"/admin/inspections/start/{booking.id}", data={"template": template.id})
    assert r.status_code == 303
    inspection = db.session.scalar(select(Inspection).where(Inspection.booking_id == booking.id))
    item = inspection.items[0]
    r = client.post(
        f"/admin/inspections/{inspection.id}/items/{item.id}",
        data={
            "severity": "red",
            "note": "刹车片剩 2 mm",
            "price": "520.00",
            "photo": (io.BytesIO(jpeg(size=(2400, 1800))), "pads.jpg"),
        },
        headers=HX,
        content_type="multipart/form-data",
    )
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in body and f'id="item-{item.id}"' in body
    db.session.expire_all()
    item = db.session.get(InspectionItem, item.id)
    assert (item.severity, item.note, item.price_fen) == ("red", "刹车片剩 2 mm", 52000)
    with PILImage.open(io.BytesIO(item.image.data)) as img:
        assert max(img.size) == 1600 and not img.getexif()
    assert client.get(f"/admin/inspections/{inspection.id}").status_code == 200
    thumb = re.search(r'src="(/media/[^"]+/thumb)"', body).group(1)
    assert client.get(thumb).status_code == 200  # staff of the store see the photo
    bad = client.post(
        f"/admin/inspections/{inspection.id}/items/{item.id}",
        data={"severity": "red", "price": "abc"},
        headers=HX,
    )
    assert bad.status_code == 422 and "<html" not in bad.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(InspectionItem, item.id).price_fen == 52000  # refused: unchanged
    r = client.post(f"/admin/inspections/{inspection.id}/send")
    assert r.status_code == 303
    db.session.expire_all()
    assert db.session.get(Inspection, inspection.id).status == "sent"
    auth.logout()
    auth.login(f.advisor(f.store()))
    assert client.get(thumb).status_code == 404  # another store's staff do not
    auth.logout()
    auth.login(booking.owner)
    assert client.get(thumb).status_code == 200  # the car's owner does


def test_owner_opens_the_link_without_login_and_decides_item_by_item(client, auth, f, db):
    store = f.store()
    advisor = f.advisor(store)
    inspection = sent_inspection(f, db, store, advisor)
    red, amber, amber2, green = inspection.items
    link = svc.link_token(inspection)
    auth.login(advisor)  # the advisor checking the link is not the owner opening it
    assert client.get(f"/inspection/{link}").status_code == 200
    db.session.expire_all()
    assert db.session.get(Inspection, inspection.id).opened_at is None
    auth.logout()
    page = client.get(f"/inspection/{link}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Brake pads" in body and "Wiper blades" in body and "Checked and fine" in body
    assert "not enough data yet" in body
    db.session.expire_all()
    assert db.session.get(Inspection, inspection.id).opened_at is not None
    r = client.post(f"/inspection/{link}/items/{red.id}", data={"decision": "approve"}, headers=HX)
    frag = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in frag and "added to your job" in frag
    again = client.post(
        f"/inspection/{link}/items/{red.id}", data={"decision": "decline"}, headers=HX
    )
    assert again.status_code == 409 and "already decided" in again.get_data(as_text=True)
    r = client.post(f"/inspection/{link}/items/{amber.id}", data={"decision": "decline"})
    assert r.status_code == 303
    assert (
        client.post(
            f"/inspection/{link}/items/{green.id}", data={"decision": "approve"}
        ).status_code
        == 400
    )
    hx_green = client.post(
        f"/inspection/{link}/items/{green.id}", data={"decision": "approve"}, headers=HX
    )
    assert hx_green.status_code == 422 and "nothing to decide" in hx_green.get_data(as_text=True)
    assert (
        client.post(f"/inspection/{link}/items/{amber2.id}", data={"decision": "maybe"}).status_code
        == 400
    )
    lines = db.session.scalars(
        select(JobLine).where(JobLine.booking_id == inspection.booking_id)
    ).all()
    assert [line.description_en for line in lines] == ["Brake pads"]
    db.session.expire_all()
    assert db.session.get(InspectionItem, amber.id).decision == "declined"
    assert db.session.get(InspectionItem, amber2.id).decision == "pending"
    auth.login(inspection.booking.owner)  # the booking page lists the approved work
    page = client.get(f"/bookings/{inspection.booking_id}").get_data(as_text=True)
    assert "Work you approved" in page and "Brake pads" in page and "Wiper blades" not in page


def test_a_bad_link_is_a_404_that_changes_nothing(client, f, db):
    store = f.store()
    inspection = sent_inspection(f, db, store, f.advisor(store))
    link = svc.link_token(inspection)
    item = inspection.items[0]
    for bad in (link[:-3] + "abc", "x", "1.2.3"):
        assert client.get(f"/inspection/{bad}").status_code == 404
        r = client.post(f"/inspection/{bad}/items/{item.id}", data={"decision": "approve"})
        assert r.status_code == 404
    other = sent_inspection(f, db, store, f.advisor(store))
    cross = client.post(
        f"/inspection/{svc.link_token(other)}/items/{item.id}", data={"decision": "approve"}
    )
    assert cross.status_code == 404
    assert db.session.scalar(select(func.count(JobLine.id))) == 0
    db.session.expire_all()
    assert db.session.get(Inspection, inspection.id).opened_at is None


def test_advisor_sees_decisions_live_and_polling_stops_when_all_are_decided(client, auth, f, db):
    store = f.store()
    advisor = f.advisor(store)
    inspection = sent_inspection(f, db, store, advisor, severities=("red", "amber"))
    auth.login(advisor)
    url = f"/admin/inspections/{inspection.id}/decisions"
    frag = client.get(url, headers=HX).get_data(as_text=True)
    assert "<html" not in frag and 'hx-trigger="every 3s"' in frag and "No job lines yet" in frag
    svc.decide(inspection, inspection.items[0].id, True)
    db.session.commit()
    frag = client.get(url, headers=HX).get_data(as_text=True)
    assert "Brake pads" in frag and "¥480.00" in frag and "every 3s" in frag
    svc.decide(inspection, inspection.items[1].id, False)
    db.session.commit()
    frag = client.get(url, headers=HX).get_data(as_text=True)
    assert "every 3s" not in frag and "Declined" in frag
    other_store = f.store()
    auth.logout()
    auth.login(f.advisor(other_store))
    assert client.get(url, headers=HX).status_code == 404


def test_funnel_page_draws_the_charts(client, auth, f, db):
    store = f.store()
    advisor = f.advisor(store)
    inspection = sent_inspection(f, db, store, advisor)
    svc.decide(inspection, inspection.items[0].id, True)
    db.session.commit()
    auth.login(f.manager(store))
    page = client.get("/admin/inspection_funnel/?days=90")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="inspection-funnel"' in body and 'id="inspection-amounts"' in body
    assert 'id="inspection-items"' in body and "built-in method" not in body
    assert advisor.name in body and "¥480.00" in body
    assert client.get("/admin/inspection_funnel/?days=abc").status_code == 200


def test_manager_edits_a_template_with_a_linked_maintenance_code(client, auth, f, db):
    from tests.portal.test_maintenance import make_plan

    make_plan(db)
    store = f.store()
    auth.login(f.manager(store))
    form = {
        "name": "春季检查",
        "active": "y",
        "items-0-position": "1",
        "items-0-name_zh": "变速箱油",
        "items-0-name_en": "Transmission oil",
        "items-0-plan_item_code": "transmission_oil",
        "items-0-price_fen": "90000",
    }
    r = client.post("/admin/inspection_templates/new/", data=form)
    assert r.status_code == 302
    templates = svc.store_templates(store.id)
    assert [t.name for t in templates] == ["春季检查"]
    assert templates[0].items[0].plan_item_code == "transmission_oil"
    bad = dict(form, name="坏的", **{"items-0-plan_item_code": "no_such_item"})
    r = client.post("/admin/inspection_templates/new/", data=bad, follow_redirects=True)
    assert "no_such_item" in r.get_data(as_text=True)
    assert [t.name for t in svc.store_templates(store.id)] == ["春季检查"]
