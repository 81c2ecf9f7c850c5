"""Surveys after a new-car delivery: sent once per delivery however many workers run, reminded
once, their own questions, a low score opening one delivery complaint about the sales advisor,
and the CSI page showing service and delivery results apart (both databases)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crm import quality_stats, surveys
from crm.quality_models import Complaint, Survey
from portal.extensions import db
from portal.models import Notification, User
from tests.crm.quality_data import delivered_order, finished_job
from tests.threads import at_once


@pytest.fixture
def shop(f):
    store = f.store()
    advisor = f.advisor(store)
    db.session.commit()
    return store, advisor


def _handover_mails(user_id: int) -> list[Notification]:
    """The customer's notifications about the handover survey (a lead's customer has no mail
    address: the portal notification is what every customer gets)."""
    return list(
        db.session.scalars(
            select(Notification).where(
                Notification.user_id == user_id, Notification.text.like("%handover%")
            )
        )
    )


def test_a_delivery_gets_one_survey_with_its_own_wording_and_one_reminder(shop, clock):
    store, advisor = shop
    order = delivered_order(store, advisor)
    assert surveys.send_due() == {"sent": 1, "reminded": 0}
    assert surveys.send_due() == {"sent": 0, "reminded": 0}
    survey = db.session.scalar(select(Survey))
    assert (survey.kind, survey.sales_order_id, survey.booking_id) == ("delivery", order.id, None)
    assert survey.advisor_id == advisor.id and survey.customer_id == order.customer_id
    mails = _handover_mails(order.customer_id)
    assert len(mails) == 1 and "handover of your new car" in mails[0].text
    assert order.number in mails[0].text and mails[0].link.startswith("/survey/")
    clock.advance(days=2, minutes=1)
    assert surveys.send_due() == {"sent": 0, "reminded": 1}
    clock.advance(days=2)
    assert surveys.send_due() == {"sent": 0, "reminded": 0}
    mails = _handover_mails(order.customer_id)
    assert len(mails) == 2 and sum("reminder" in m.text for m in mails) == 1


def test_an_old_delivery_is_not_surveyed(shop, clock):
    store, advisor = shop
    delivered_order(store, advisor)
    clock.advance(days=4)
    assert surveys.send_due() == {"sent": 0, "reminded": 0}


def test_two_workers_at_once_send_each_delivery_and_job_survey_once(app, shop):
    store, advisor = shop
    order = delivered_order(store, advisor)
    finished_job(store, advisor)
    results = at_once(app, surveys.send_due, 4)
    assert all(isinstance(r, dict) for r in results), results
    assert sum(r["sent"] for r in results) == 2
    kinds = db.session.execute(select(Survey.kind, func.count(Survey.id)).group_by(Survey.kind))
    assert dict(kinds.all()) == {"delivery": 1, "service": 1}
    assert len(_handover_mails(order.customer_id)) == 1


def test_the_database_holds_a_survey_to_exactly_one_job_or_delivery(shop):
    store, advisor = shop
    order = delivered_order(store, advisor)
    booking = finished_job(store, advisor)
    common = {"customer_id": order.customer_id, "store_id": store.id, "answers": []}
    for bad in (
        {"kind": "delivery", "sales_order_id": order.id, "booking_id": booking.id},
        {"kind": "delivery"},
        {"kind": "service", "sales_order_id": order.id},
    ):
        db.session.add(Survey(**common, **bad))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_delivery_questions_are_their_own_and_the_page_asks_them(shop, f, auth, client):
    store, advisor = shop
    manager = f.manager(store)
    db.session.commit()
    auth.login(manager)
    page = client.get("/admin/csi/questions?kind=delivery").get_data(as_text=True)
    assert surveys.DEFAULT_DELIVERY_QUESTIONS[0][0] in page
    form = {f"zh{i}": f"交车问题{i}" for i in range(1, 4)} | {"kind": "delivery"}
    assert client.post("/admin/csi/questions?kind=delivery", data=form).status_code == 303
    assert [zh for zh, _en in surveys.questions(store.id, "delivery")] == [
        "交车问题1", "交车问题2", "交车问题3",
    ]  # fmt: skip
    assert surveys.questions(store.id) == list(surveys.DEFAULT_QUESTIONS)  # service untouched
    assert "交车问题1" not in client.get("/admin/csi/questions").get_data(as_text=True)
    delivered_order(store, advisor)
    surveys.send_due()
    survey = db.session.scalar(select(Survey))
    auth.logout()
    page = client.get(surveys.link_path(survey)).get_data(as_text=True)
    assert "交车问题2" in page and "handover of your new car" in page
    assert surveys.DEFAULT_QUESTIONS[0][1] not in page


def test_a_low_delivery_score_opens_one_delivery_complaint_about_the_sales_advisor(app, shop):
    store, advisor = shop
    delivered_order(store, advisor)
    surveys.send_due()
    survey_id = db.session.scalar(select(Survey.id))
    db.session.commit()

    def answer():
        return surveys.submit(db.session.get(Survey, survey_id), 2, [1, 2, 1], "车里很脏").id

    results = at_once(app, answer, 4)
    assert sum(isinstance(r, int) for r in results) == 1, results
    (complaint,) = db.session.scalars(select(Complaint)).all()
    assert (complaint.category, complaint.source, complaint.severity) == (
        "delivery",
        "survey",
        "high",
    )
    assert complaint.booking_id is None and complaint.advisor_id == advisor.id


def test_results_keep_service_and_delivery_apart_per_store_and_sales_advisor(shop, f, auth, client):
    store, advisor = shop
    sales = f.advisor(store)
    manager = f.manager(store)
    db.session.commit()
    delivered_order(store, sales, phone="13812340001")
    delivered_order(store, sales, phone="13812340002")
    finished_job(store, advisor)
    surveys.send_due()
    for survey in db.session.scalars(select(Survey).order_by(Survey.id)).all():
        nps = {"delivery": 10, "service": 8}[survey.kind]
        surveys.submit(survey, nps, [5, 5, 5])
    db.session.commit()
    (job,) = quality_stats.csi_by(manager, Survey.advisor_id, User)
    (handover,) = quality_stats.csi_by(manager, Survey.advisor_id, User, kind="delivery")
    assert (job.label, job.n, job.nps) == (advisor.name, 1, 0.0)
    assert (handover.label, handover.n, handover.nps) == (sales.name, 2, 100.0)
    (per_store,) = quality_stats.csi_by(manager, Survey.store_id, type(store), kind="delivery")
    assert (per_store.n, per_store.nps) == (2, 100.0)
    auth.login(manager)
    page = client.get("/admin/csi/?kind=delivery").get_data(as_text=True)
    assert f"{sales.name} (n=2)" in page and f"{advisor.name} (n=1)" not in page
    page = client.get("/admin/csi/").get_data(as_text=True)
    assert f"{advisor.name} (n=1)" in page and f"{sales.name} (n=2)" not in page
