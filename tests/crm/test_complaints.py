"""Complaints: filed by the owner or entered by staff, acknowledged and resolved in the back
office, escalated by the worker when late (a controlled clock), confirmed or reopened by the
customer through a signed link; and the analytics' known answers."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm import complaints as svc
from crm import quality_stats
from crm.quality_models import Complaint
from portal.errors import Conflict, NotAllowed, NotFound, ValidationError
from portal.extensions import db
from portal.models import Notification, OutboxMessage
from tests.crm.quality_data import finished_job


@pytest.fixture
def shop(f):
    store = f.store()
    advisor, manager, admin = f.advisor(store), f.manager(store), f.admin()
    db.session.commit()
    return store, advisor, manager, admin


def _complaint(store, owner, severity="medium", **kw) -> Complaint:
    complaint = svc.open_complaint(
        owner,
        store,
        source="phone",
        category="waiting",
        severity=severity,
        description="等太久",
        **kw,
    )
    db.session.commit()
    return complaint


def _told(user) -> list[str]:
    return list(
        db.session.scalars(
            select(Notification.text)
            .where(Notification.user_id == user.id)
            .order_by(Notification.id)
        )
    )


def test_deadlines_follow_the_severity_and_bad_input_is_refused(shop, f, clock):
    store, _advisor, _manager, _admin = shop
    owner = f.owner(store)
    urgent = _complaint(store, owner, "high")
    assert urgent.ack_due_at == clock.now + svc.sla("high")[0]
    assert urgent.resolve_due_at - urgent.created_at == svc.sla("high")[1]
    for field, kw in (
        ("category", {"category": "nope"}),
        ("severity", {"severity": "huge"}),
        ("description", {"description": "  "}),
    ):
        args = {"source": "phone", "category": "other", "severity": "low", "description": "x"}
        with pytest.raises(ValidationError) as exc:
            svc.open_complaint(owner, store, **{**args, **kw})
        assert exc.value.field == field


def test_a_late_complaint_goes_to_the_managers_then_to_the_group_once_each(shop, f, clock):
    store, advisor, manager, admin = shop
    other_store_manager = f.manager(f.store())
    owner = f.owner(store)
    complaint = _complaint(store, owner, "high")  # acknowledge in 2 h, resolve in 1 day
    cid = complaint.id
    assert svc.escalate() == {"managers": 0, "group": 0}
    clock.advance(hours=2, minutes=1)
    assert svc.escalate() == {"managers": 1, "group": 0}
    assert svc.escalate() == {"managers": 0, "group": 0}  # announced once
    assert [t for t in _told(manager) if f"#{cid}" in t] == [
        f"Complaint #{cid} missed its deadline."
    ]
    assert _told(other_store_manager) == [] and _told(admin) == []
    mail = db.session.scalar(select(OutboxMessage).where(OutboxMessage.user_id == manager.id))
    assert mail.channel == "email" and f"/admin/complaints/{cid}" in mail.body
    clock.advance(hours=22)  # past the resolve deadline: the group is told
    assert svc.escalate() == {"managers": 0, "group": 1}
    assert svc.escalate() == {"managers": 0, "group": 0}
    assert any(f"#{cid}" in t for t in _told(admin))
    assert db.session.get(Complaint, cid).escalation == 2


def test_an_acknowledged_complaint_escalates_only_when_its_resolve_deadline_passes(shop, f, clock):
    store, advisor, manager, admin = shop
    complaint = _complaint(store, f.owner(store), "low")  # 24 h, 7 days
    svc.acknowledge(advisor, complaint)
    db.session.commit()
    clock.advance(days=6)
    assert svc.escalate() == {"managers": 0, "group": 0}
    clock.advance(days=1, minutes=1)
    assert svc.escalate() == {"managers": 1, "group": 0}
    clock.advance(hours=3)
    assert svc.escalate() == {"managers": 0, "group": 0}  # the managers' four hours
    clock.advance(hours=1)
    assert svc.escalate() == {"managers": 0, "group": 1}


def test_a_resolved_complaint_is_not_escalated(shop, f, clock):
    store, advisor, _manager, _admin = shop
    complaint = _complaint(store, f.owner(store), "high")
    svc.resolve(advisor, complaint, "已道歉并免单")
    db.session.commit()
    clock.advance(days=3)
    assert svc.escalate() == {"managers": 0, "group": 0}


def test_the_owner_confirms_through_the_link_once(shop, f, client):
    store, advisor, _manager, _admin = shop
    owner = f.owner(store)
    complaint = _complaint(store, owner)
    svc.acknowledge(advisor, complaint)
    svc.resolve(advisor, complaint, "已更换配件")
    db.session.commit()
    mail = db.session.scalar(select(OutboxMessage).where(OutboxMessage.user_id == owner.id))
    assert "/complaint-answer/" in mail.body and "已更换配件" in mail.body
    path = svc.link_path(complaint)
    page = client.get(path)
    assert page.status_code == 200 and 'value="confirm"' in page.get_data(as_text=True)
    assert client.post(path, data={"answer": "confirm"}).status_code == 303
    assert client.post(path, data={"answer": "reopen"}).status_code == 409
    db.session.rollback()
    assert db.session.get(Complaint, complaint.id).status == "closed"
    assert 'value="confirm"' not in client.get(path).get_data(as_text=True)


def test_the_owner_reopens_and_the_old_link_is_spent(shop, f, client, clock):
    store, advisor, _manager, _admin = shop
    complaint = _complaint(store, f.owner(store))
    svc.resolve(advisor, complaint, "已解释")
    db.session.commit()
    first = svc.link_path(complaint)
    assert client.post(first, data={"answer": "maybe"}).status_code == 422
    clock.advance(days=1)
    assert client.post(first, data={"answer": "reopen", "note": "还是有异响"}).status_code == 303
    db.session.rollback()
    complaint = db.session.get(Complaint, complaint.id)
    assert complaint.status == "reopened" and complaint.reopened == 1
    assert "还是有异响" in complaint.description
    assert complaint.resolve_due_at == clock.now + svc.sla("medium")[1]
    svc.resolve(advisor, complaint, "已更换")
    db.session.commit()
    assert client.post(first, data={"answer": "confirm"}).status_code == 409  # the old round
    second = svc.link_path(complaint)
    assert client.post(second, data={"answer": "confirm"}).status_code == 303
    assert client.get("/complaint-answer/forged").status_code == 404


def test_staff_of_another_store_cannot_touch_it_and_two_resolves_make_one(shop, f):
    store, advisor, _manager, _admin = shop
    other = f.advisor(f.store())
    complaint = _complaint(store, f.owner(store))
    with pytest.raises(NotAllowed):
        svc.acknowledge(other, complaint)
    svc.resolve(advisor, complaint, "处理完毕")
    with pytest.raises(Conflict):
        svc.resolve(advisor, complaint, "再处理")
    with pytest.raises(NotFound):
        svc.from_link("x.y.z")


def test_the_owner_files_a_complaint_about_a_visit_in_the_portal(shop, f, auth, client):
    store, advisor, _manager, _admin = shop
    booking = finished_job(store, advisor)
    owner = booking.owner
    auth.login(owner)
    page = client.get("/complaints/new")
    assert page.status_code == 200
    empty = client.post("/complaints/new", data={"store": str(store.id), "category": "price"})
    assert empty.status_code == 422
    sent = client.post(
        "/complaints/new",
        data={
            "store": str(store.id),
            "booking": str(booking.id),
            "category": "price",
            "description": "发票金额不对",
        },
    )
    assert sent.status_code == 303
    complaint = db.session.scalar(select(Complaint))
    assert complaint.source == "portal" and complaint.advisor_id == advisor.id
    assert "发票金额不对" in client.get("/complaints").get_data(as_text=True)


def test_staff_enter_acknowledge_and_resolve_in_the_back_office(shop, f, auth, client):
    store, advisor, _manager, _admin = shop
    owner = f.owner(store, phone="13800001234")
    db.session.commit()
    auth.login(advisor)
    unknown = client.post(
        "/admin/complaints/new",
        data={"source": "phone", "phone": "13900009999", "category": "attitude",
              "severity": "high", "technician": "", "description": "态度差"},
    )  # fmt: skip
    assert unknown.status_code == 422 and "No customer" in unknown.get_data(as_text=True)
    made = client.post(
        "/admin/complaints/new",
        data={"source": "walk_in", "phone": "13800001234", "category": "attitude",
              "severity": "high", "technician": str(advisor.id), "description": "态度差"},
    )  # fmt: skip
    assert made.status_code == 303
    complaint = db.session.scalar(select(Complaint))
    assert complaint.customer_id == owner.id and complaint.technician_id == advisor.id
    assert complaint.entered_by_id == advisor.id
    assert f"complaint-{complaint.id}" in client.get("/admin/complaints/").get_data(as_text=True)
    show = f"/admin/complaints/{complaint.id}"
    client.post(f"{show}/act", data={"verb": "acknowledge"})
    handled = client.get("/admin/complaints/?status=open").get_data(as_text=True)
    assert f"complaint-{complaint.id}" in handled  # acknowledged is still being handled
    assert f"complaint-{complaint.id}" not in client.get("/admin/complaints/?status=closed").text
    client.post(f"{show}/act", data={"verb": "resolve", "resolution": ""})
    db.session.rollback()
    assert db.session.get(Complaint, complaint.id).status == "acknowledged"
    client.post(f"{show}/act", data={"verb": "resolve", "resolution": "已道歉"})
    db.session.rollback()
    assert db.session.get(Complaint, complaint.id).status == "resolved"


def test_complaint_numbers_on_known_data(shop, f, clock):
    store, advisor, manager, _admin = shop
    owner = f.owner(store)
    a = _complaint(store, owner)
    b = svc.open_complaint(
        owner,
        store,
        source="portal",
        category="price",
        severity="low",
        description="贵",
        technician_id=advisor.id,
    )
    db.session.commit()
    clock.advance(hours=6)
    svc.acknowledge(advisor, a)
    clock.advance(hours=18)
    svc.resolve(advisor, a, "ok")
    svc.resolve(advisor, b, "ok")
    db.session.commit()
    svc.answer(svc.link_path(b)[len("/complaint-answer/") :], confirm=False)
    db.session.commit()
    numbers = quality_stats.complaint_numbers(manager)
    assert numbers.total == 2
    assert dict(numbers.by_category) == {"waiting": 1, "price": 1}
    assert dict(numbers.by_technician) == {advisor.name: 1, "—": 1}
    assert numbers.ack_hours == pytest.approx((6 + 24) / 2)
    assert numbers.resolve_days == pytest.approx(
        1.0
    )  # a reopen keeps the time of the first resolution
    assert numbers.reopen_rate == pytest.approx(0.5)
