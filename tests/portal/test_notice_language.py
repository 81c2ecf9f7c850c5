"""Rescue and used-car notices reach the owner in the owner's language, not in the language
of the staff member whose click sent them."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from portal.models import Notification, OutboxMessage
from portal.services import rescue as rescue_svc
from tests.factories import PASSWORD
from tests.portal.test_usedcars import submit


def _last_text(db, user) -> str:
    db.session.expire_all()
    return db.session.scalars(
        select(Notification.text)
        .where(Notification.user_id == user.id)
        .order_by(Notification.id.desc())
    ).first()


def _subjects(db, user) -> set[str]:
    return set(
        db.session.scalars(select(OutboxMessage.subject).where(OutboxMessage.user_id == user.id))
    )


def _staff_client(app, staff, page: str, heading: str):
    """Sign the staff member in and check the back office speaks their language."""
    client = app.test_client()
    client.post("/login", data={"login": staff.phone, "password": PASSWORD})
    assert heading in client.get(page).get_data(as_text=True)
    return client


# --- roadside rescue --------------------------------------------------------------------


@pytest.fixture
def rescue_scene(f, db):
    store = f.store()
    advisor = f.advisor(store, locale="en", name="Li Lei")
    owner = f.owner(store, locale="zh_CN", email="owner@example.com")
    vehicle = f.vehicle(owner)
    rescue, _created = rescue_svc.request_rescue(
        owner,
        vehicle,
        problem="battery",
        callback_phone="13800138000",
        idempotency_key="notice-language-0001",
        address="S9 出口",
    )
    db.session.commit()
    return advisor, owner, rescue


def _rescue_step(client, rescue, **data):
    r = client.post(f"/admin/rescue_queue/{rescue.id}/act", data=data)
    assert r.status_code == 303, r.get_data(as_text=True)[:300]


def test_a_chinese_owner_reads_chinese_when_an_english_advisor_handles_the_rescue(
    app, db, rescue_scene
):
    advisor, owner, rescue = rescue_scene
    client = _staff_client(app, advisor, "/admin/rescue_queue/", "Rescue queue")
    _rescue_step(client, rescue, action="claim")
    assert _last_text(db, owner).endswith("正在处理您的救援请求。")
    _rescue_step(client, rescue, action="dispatch", eta="25")
    assert _last_text(db, owner) == "救援正在赶来，预计约 25 分钟后到达。"
    _rescue_step(client, rescue, action="on_site")
    assert _last_text(db, owner) == "救援人员已到达。"
    assert _subjects(db, owner) == {f"道路救援 #{rescue.id}"}


def test_an_english_owner_reads_english_when_a_chinese_advisor_handles_the_rescue(
    app, db, rescue_scene
):
    advisor, owner, rescue = rescue_scene
    advisor.locale, owner.locale = "zh_CN", "en"
    db.session.commit()
    client = _staff_client(app, advisor, "/admin/rescue_queue/", "待处理救援")
    _rescue_step(client, rescue, action="claim")
    _rescue_step(client, rescue, action="dispatch", eta="25")
    assert _last_text(db, owner) == "Help is on the way, arriving in about 25 minutes."
    assert _subjects(db, owner) == {f"Roadside rescue #{rescue.id}"}


def test_a_reassigned_advisor_reads_their_own_language_not_the_managers(f, app, db, rescue_scene):
    advisor, owner, rescue = rescue_scene
    manager = f.manager(rescue.store, locale="zh_CN")
    db.session.commit()
    client = _staff_client(app, manager, "/admin/rescue_queue/", "待处理救援")
    _rescue_step(client, rescue, action="reassign", advisor=str(advisor.id))
    assert _last_text(db, advisor) == f"Rescue #{rescue.id} is now yours."
    assert _last_text(db, owner).endswith("正在处理您的救援请求。")


# --- used-car vetting -------------------------------------------------------------------


@pytest.fixture
def usedcar_scene(f, db):
    store = f.store()
    advisor = f.advisor(store, locale="en")
    owner = f.owner(store, locale="zh_CN")
    req = submit(owner)
    db.session.commit()
    return advisor, owner, req


def _vet(client, req, **data):
    r = client.post(f"/admin/usedcar_review/{req.id}/act", data=data)
    assert r.status_code == 303, r.get_data(as_text=True)[:300]


def test_a_chinese_seller_reads_chinese_when_an_english_expert_vets_the_car(app, db, usedcar_scene):
    advisor, owner, req = usedcar_scene
    client = _staff_client(app, advisor, "/admin/usedcar_review/", "Vetting queue")
    _vet(client, req, verb="take", expert=str(advisor.id))
    assert _last_text(db, owner) == "评估师正在审核您的车辆。"
    _vet(client, req, verb="changes", reason="Please add a photo of the boot.")
    assert _last_text(db, owner) == "评估师请您修改申请。 Please add a photo of the boot."


def test_an_english_seller_reads_english_when_a_chinese_expert_vets_the_car(app, db, usedcar_scene):
    advisor, owner, req = usedcar_scene
    advisor.locale, owner.locale = "zh_CN", "en"
    db.session.commit()
    client = _staff_client(app, advisor, "/admin/usedcar_review/", "待评估车辆")
    _vet(client, req, verb="take", expert=str(advisor.id))
    assert _last_text(db, owner) == "An expert is reviewing your car."
    _vet(client, req, verb="reject", reason="泡水车")
    assert _last_text(db, owner) == "Your request was rejected. 泡水车"


# --- the owner's request tells the advisors, each in their own language -------------------


def test_advisors_read_a_new_and_a_cancelled_rescue_in_their_own_language(f, db):
    store = f.store()
    zh_advisor = f.advisor(store, locale="zh_CN")
    en_advisor = f.advisor(store, locale="en")
    owner = f.owner(store, locale="en")
    with force_locale("en"):  # the owner's request speaks English
        rescue, _created = rescue_svc.request_rescue(
            owner,
            f.vehicle(owner),
            problem="battery",
            callback_phone="13800138000",
            idempotency_key="notice-language-0002",
            address="S9 出口",
        )
    assert _last_text(db, zh_advisor) == f"新的道路救援 #{rescue.id}：电瓶亏电。"
    assert _last_text(db, en_advisor) == f"New roadside rescue #{rescue.id}: Flat battery."
    rescue_svc.claim(zh_advisor, rescue)
    with force_locale("en"):
        rescue_svc.cancel(owner, rescue, "Solved it myself")
    assert _last_text(db, zh_advisor) == f"救援 #{rescue.id} 已被车主取消。"
