"""Buyers' inquiries recorded before they became CRM leads are folded in: once, quietly, with
what happened to them kept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from crm import leads as lead_svc
from crm.models import CONTACTED, FIRST_CONTACT, LOST, NEW, OPEN, PHONE, USED_CAR, Lead, Task
from crm.used_car_fold import fold_earlier_inquiries
from portal.models import Notification, OutboxMessage, UsedCarLead, User
from portal.worker.jobs import JOBS
from tests.crm import test_used_car_leads

THEN = datetime(2025, 3, 8, 2, 30, tzinfo=UTC)
market = test_used_car_leads.market  # the fixture: a store with a listed car


def _earlier(db, market, *, phone="13912345678", status="new", advisor=None, name="陈女士"):
    row = UsedCarLead(
        request_id=market["car"].id,
        store_id=market["store"].id,
        advisor_id=(advisor or market["advisor"]).id,
        name=name,
        phone=phone,
        message="还能便宜吗？",
        status=status,
        created_at=THEN,
    )
    db.session.add(row)
    db.session.commit()
    return row


def _quiet(db) -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(Notification)),
        db.session.scalar(select(func.count()).select_from(OutboxMessage)),
    )


def test_a_new_inquiry_becomes_its_advisors_open_lead_with_a_call_to_make(market, db):
    row = _earlier(db, market)
    before = _quiet(db)
    assert fold_earlier_inquiries() == {"leads": 1, "joined": 0, "skipped": 0}
    db.session.expire_all()
    lead = db.session.get(Lead, db.session.get(UsedCarLead, row.id).lead_id)
    assert (lead.source, lead.stage, lead.state) == (USED_CAR, NEW, OPEN)
    assert lead.used_car_id == market["car"].id and lead.advisor_id == market["advisor"].id
    assert lead.created_at == THEN and lead.note == "还能便宜吗？"
    assert lead.customer.phone == "13912345678" and lead.customer.name == "陈女士"
    task = db.session.scalar(select(Task).where(Task.lead_id == lead.id))
    assert task.kind == FIRST_CONTACT and task.owner_id == market["advisor"].id
    assert _quiet(db) == before  # told when they asked, not again now
    assert db.session.get(UsedCarLead, row.id).folded_at is not None


def test_contacted_and_closed_keep_what_happened(market, db):
    contacted = _earlier(db, market, status="contacted")
    closed = _earlier(db, market, phone="13912345679", status="closed")
    assert fold_earlier_inquiries()["leads"] == 2
    db.session.expire_all()
    first = db.session.get(Lead, db.session.get(UsedCarLead, contacted.id).lead_id)
    assert (first.stage, first.state, first.first_contact_at) == (CONTACTED, OPEN, THEN)
    gone = db.session.get(Lead, db.session.get(UsedCarLead, closed.id).lead_id)
    assert (gone.state, gone.lost_reason) == (LOST, "other")
    assert db.session.scalar(select(func.count()).select_from(Task)) == 0


def test_a_buyer_with_an_active_lead_gets_the_inquiry_on_it_and_stays_one_customer(market, db):
    store = market["store"]
    lead = lead_svc.capture(
        lead_svc.Inquiry(name="陈女士", phone="13912345678", store=store, source=PHONE)
    ).lead
    db.session.commit()
    people = db.session.scalar(select(func.count()).select_from(User))
    row = _earlier(db, market)
    assert fold_earlier_inquiries() == {"leads": 0, "joined": 1, "skipped": 0}
    db.session.expire_all()
    assert db.session.get(UsedCarLead, row.id).lead_id == lead.id
    assert db.session.get(Lead, lead.id).used_car_id == market["car"].id
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 1
    assert db.session.scalar(select(func.count()).select_from(User)) == people
    assert any(e.kind == "repeat" for e in db.session.get(Lead, lead.id).events)


def test_an_advisor_who_left_is_replaced_by_the_stores_routing(market, db):
    gone = market["advisor"]
    gone.is_active = False
    db.session.commit()
    row = _earlier(db, market, advisor=gone)
    fold_earlier_inquiries()
    lead = db.session.get(Lead, db.session.get(UsedCarLead, row.id).lead_id)
    assert lead.advisor_id not in (None, gone.id)
    assert db.session.get(User, lead.advisor_id).store_id == market["store"].id


@pytest.mark.parametrize("phone", ["0755-1234", "12345"])
def test_a_number_that_is_no_mobile_is_marked_and_not_folded(market, db, phone):
    row = _earlier(db, market, phone=phone)
    assert fold_earlier_inquiries() == {"leads": 0, "joined": 0, "skipped": 1}
    db.session.expire_all()
    kept = db.session.get(UsedCarLead, row.id)
    assert kept.folded_at is not None and kept.lead_id is None and kept.fold_note == "not_mobile"
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 0


def test_a_staff_members_number_is_not_made_a_customer(market, db):
    row = _earlier(db, market, phone=market["advisor2"].phone)
    assert fold_earlier_inquiries()["skipped"] == 1
    kept = db.session.get(UsedCarLead, row.id)
    assert kept.lead_id is None and kept.fold_note == "staff_number"


def test_folding_twice_folds_nothing_more_and_the_worker_runs_it(market, db):
    _earlier(db, market)
    _earlier(db, market, phone="13912345679")
    assert fold_earlier_inquiries(batch=1)["leads"] == 2
    assert fold_earlier_inquiries() == {"leads": 0, "joined": 0, "skipped": 0}
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 2
    job = next(j for j in JOBS if j.name == "used-car-inquiry-fold")
    assert job.path == "crm.used_car_fold:fold_earlier_inquiries"


def test_the_earlier_inquiries_page_links_each_to_its_lead_or_says_why_not(
    market, db, client, auth
):
    folded = _earlier(db, market)
    _earlier(db, market, phone="12345", name="无效号码")
    waiting_name = "还没转"
    fold_earlier_inquiries()
    _earlier(db, market, phone="13912345670", name=waiting_name)
    lead_id = db.session.get(UsedCarLead, folded.id).lead_id
    auth.login(market["manager"])
    page = client.get("/admin/usedcar_leads/")
    assert page.status_code == 200
    assert f'href="/admin/leads/{lead_id}"' in page.text
    assert "Not folded: not a mainland mobile number" in page.text
    assert "Waiting to be folded" in page.text
