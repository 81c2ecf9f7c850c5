"""CRM notices to customers sent from a staff member's request (a complaint resolved, a test
drive booked, a new car delivered) are written in the customer's language, not in the
language of the staff member's request."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from crm import complaints as complaint_svc
from crm import delivery, surveys
from crm import orders as order_svc
from crm import test_drives as drive_svc
from portal.extensions import db
from portal.models import Notification
from tests import factories
from tests.crm.quality_data import finished_job
from tests.crm.test_pipeline import accepted_quote, book, lead_of, tomorrow_slot


@pytest.fixture
def shop(f):
    store = f.store()
    adv = f.advisor(store)
    lead = lead_of(store)
    car = drive_svc.add_car(f.manager(store), store, "丰田", "丰田 凯美瑞", "Toyota Camry", "")
    db.session.commit()
    return store, adv, lead, car


def _last_text(user) -> str:
    return db.session.scalars(
        select(Notification.text)
        .where(Notification.user_id == user.id)
        .order_by(Notification.id.desc())
    ).first()


@pytest.mark.parametrize(
    "staff_lang, owner_lang, expected",
    [
        ("en", "zh_CN", "您的投诉 #{id} 已处理：已道歉 请确认结果，或重新打开投诉。"),
        ("zh_CN", "en", "Your complaint #{id} is resolved: 已道歉 Please confirm, or reopen it."),
    ],
)
def test_a_resolved_complaint_is_told_in_the_customers_language(
    f, staff_lang, owner_lang, expected
):
    store = f.store()
    advisor, owner = f.advisor(store), f.owner(store, locale=owner_lang)
    complaint = complaint_svc.open_complaint(
        owner, store, source="phone", category="waiting", severity="medium", description="等太久"
    )
    db.session.commit()
    with force_locale(staff_lang):  # the advisor's request
        complaint_svc.resolve(advisor, complaint, "已道歉")
    assert _last_text(owner) == expected.format(id=complaint.id)


@pytest.mark.parametrize(
    "staff_lang, owner_lang, car_name",
    [("en", "zh_CN", "丰田 凯美瑞"), ("zh_CN", "en", "Toyota Camry")],
)
def test_a_booked_test_drive_is_told_in_the_customers_language(
    shop, staff_lang, owner_lang, car_name
):
    store, adv, lead, car = shop
    lead.customer.locale = owner_lang
    db.session.commit()
    with force_locale(staff_lang):
        book(adv, lead, car, tomorrow_slot(store))
    text = _last_text(lead.customer)
    assert car_name in text
    if owner_lang == "en":
        assert text.startswith("Test drive booked: Toyota Camry at ")
    else:
        assert text.startswith("试驾已预约：")


@pytest.mark.parametrize("staff_lang, owner_lang", [("en", "zh_CN"), ("zh_CN", "en")])
def test_a_delivered_car_is_told_in_the_customers_language(shop, staff_lang, owner_lang):
    store, adv, lead, _car = shop
    lead.customer.locale = owner_lang
    order = order_svc.sign(adv, accepted_quote(adv, lead, db), 20_000_00, None)
    order_svc.allocate(adv, order, factories.vin())
    order_svc.invoice(adv, order, "FP-00012345")
    delivery.tick_all(adv, order)
    db.session.commit()
    with force_locale(staff_lang):
        vehicle = order_svc.deliver(adv, order, "粤B12345")
    text = _last_text(lead.customer)
    if owner_lang == "en":
        assert text == f"Congratulations on your new {vehicle.label}! It is in your portal now."
    else:
        assert text == f"恭喜您喜提新车 {vehicle.label}！爱车已添加到您的账号。"


@pytest.mark.parametrize(
    "worker_lang, owner_lang, expected",
    [
        ("en", "zh_CN", "您对本次到店（工单 #{id}）满意吗？花两分钟告诉我们。"),
        ("zh_CN", "en", "How was your visit (job #{id})? Tell us in two minutes."),
    ],
)
def test_a_survey_is_sent_in_the_customers_language_whatever_the_workers(
    f, clock, worker_lang, owner_lang, expected
):
    store = f.store()
    owner = f.owner(store, locale=owner_lang)
    booking = finished_job(store, f.advisor(store), owner)
    with force_locale(worker_lang):  # the worker's language is the configured default
        assert surveys.send_due()["sent"] == 1
    assert _last_text(owner) == expected.format(id=booking.id)
