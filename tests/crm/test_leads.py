"""CRM services: dedupe, routing, the first-contact task, the pipeline, lost, masking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from crm import leads as svc
from crm.customers import NO_PASSWORD, clean_contact
from crm.models import FIRST_CONTACT, LOST, LOST_PENDING, OPEN, PHONE, PORTAL, WON, Lead, Task
from portal.errors import NotAllowed, ValidationError
from portal.models import AuditEvent, Notification, User
from portal.services import accounts


def inquiry(store, phone="13800000001", **kw):
    return svc.Inquiry(
        name=kw.pop("name", "王先生"),
        phone=phone,
        store=store,
        source=kw.pop("source", PORTAL),
        **kw,
    )


def test_a_new_phone_becomes_a_prospect_who_cannot_sign_in_and_gets_a_routed_lead(f, db, clock):
    clock.now = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai: open
    store = f.store()
    adv = f.advisor(store)
    got = svc.capture(
        inquiry(store, model_interest="帕萨特", timeframe="7d", budget_fen=2_000_000_00)
    )
    db.session.commit()
    lead = got.lead
    assert got.created and lead.advisor_id == adv.id and lead.grade == "H"
    customer = lead.customer
    assert customer.role == "owner" and customer.password_hash == NO_PASSWORD
    assert customer.advisor_id == adv.id  # the advisor of record from now on
    assert accounts.authenticate("13800000001", "") is None
    task = db.session.scalar(select(Task).where(Task.lead_id == lead.id))
    assert task.kind == FIRST_CONTACT and task.owner_id == adv.id
    assert task.due_at - lead.created_at == timedelta(minutes=5)
    note = db.session.scalar(select(Notification).where(Notification.user_id == adv.id))
    assert note is not None and note.link == f"/admin/leads/{lead.id}"


@pytest.mark.parametrize("raw", ["138 0000 0001", "+86 13800000001", "0086-138-0000-0001"])
def test_a_known_phone_in_any_spelling_attaches_to_the_existing_owner(f, db, raw):
    store = f.store()
    f.advisor(store)
    owner = f.owner(store, phone="13800000001")
    phone, _e, _v = clean_contact(raw)
    lead = svc.capture(inquiry(store, phone=phone)).lead
    db.session.commit()
    assert lead.customer_id == owner.id
    assert db.session.scalar(select(func.count(User.id)).where(User.role == "owner")) == 1


def test_a_known_vin_or_email_attaches_to_the_owner_group_wide(f, db):
    store_a, store_b = f.store(), f.store()
    f.advisor(store_b)
    owner = f.owner(store_a, email="li@example.com")
    car = f.vehicle(owner)
    by_vin = svc.capture(inquiry(store_b, phone="13900000009", vin=car.vin)).lead
    db.session.commit()
    assert by_vin.customer_id == owner.id and by_vin.store_id == store_b.id
    other = f.store()
    by_mail = svc.capture(inquiry(other, phone="13900000010", email="li@example.com")).lead
    assert by_mail.customer_id == owner.id


def test_a_repeated_inquiry_updates_the_open_lead_and_asks_nothing_twice(f, db):
    store = f.store()
    f.advisor(store)
    first = svc.capture(inquiry(store, model_interest="")).lead
    again = svc.capture(
        inquiry(store, model_interest="途观L", budget_fen=25_000_000, wants_test_drive=True)
    )
    db.session.commit()
    assert not again.created and again.lead.id == first.id
    assert (
        first.model_interest == "途观L"
        and first.budget_fen == 25_000_000
        and first.wants_test_drive
    )
    assert db.session.scalar(select(func.count(Lead.id))) == 1
    assert db.session.scalar(select(func.count(Task.id))) == 1
    assert [e.kind for e in first.events] == ["repeat", "created"]


def test_a_staff_number_is_refused_and_nothing_is_written(f, db):
    store = f.store()
    adv = f.advisor(store)
    with pytest.raises(ValidationError):
        svc.capture(inquiry(store, phone=adv.phone))
    db.session.rollback()
    assert db.session.scalar(select(func.count(Lead.id))) == 0


def test_the_advisor_of_record_gets_the_lead_before_round_robin(f, db):
    store = f.store()
    first, second = f.advisor(store), f.advisor(store)
    owner = f.owner(store, advisor_id=second.id)
    lead = svc.capture(inquiry(store, phone=owner.phone)).lead
    assert lead.advisor_id == second.id != first.id


def test_round_robin_takes_turns_and_skips_inactive_advisors(f, db):
    store = f.store()
    a, b, c = f.advisor(store), f.advisor(store), f.advisor(store)
    c.is_active = False
    db.session.commit()
    got = [svc.capture(inquiry(store, phone=f"1390000{i:04d}")).lead.advisor_id for i in range(6)]
    assert got == [a.id, b.id] * 3


def test_a_store_without_advisors_keeps_the_lead_unassigned_for_the_manager(f, db):
    store = f.store()
    manager = f.manager(store)
    lead = svc.capture(inquiry(store)).lead
    db.session.commit()
    assert lead.advisor_id is None
    from crm.timeline import leads_for

    assert [row[0].id for row in leads_for(manager, mine=False)] == [lead.id]


def test_each_step_records_date_and_person_and_the_first_contact(f, db, clock):
    store = f.store()
    adv = f.advisor(store)
    lead = svc.capture(inquiry(store, source=PHONE)).lead
    db.session.commit()
    clock.advance(minutes=3)
    svc.advance(adv, lead, "contacted")
    db.session.commit()
    assert lead.first_contact_at - lead.created_at == timedelta(minutes=3)
    assert lead.tasks[0].done_at == lead.first_contact_at
    for stage in ("visited", "test_drive", "quote", "order"):
        svc.advance(adv, lead, stage)
    with pytest.raises(ValidationError):
        svc.advance(adv, lead, "visited")  # never backwards
    svc.advance(adv, lead, "delivered", "交车")
    db.session.commit()
    assert lead.state == WON
    steps = [(e.stage, e.actor_id) for e in lead.events if e.kind == "stage"]
    assert steps[0] == ("delivered", adv.id) and len(steps) == 6


def test_a_colleague_cannot_work_the_lead_and_sees_the_phone_masked(f, db):
    store = f.store()
    owner_adv, colleague = f.advisor(store), f.advisor(store)
    manager = f.manager(store)
    lead = svc.capture(inquiry(store, phone="13812345678")).lead
    db.session.commit()
    assert lead.advisor_id == owner_adv.id
    assert svc.lead_phone(owner_adv, lead) == "13812345678"
    assert svc.lead_phone(manager, lead) == "13812345678"
    assert svc.lead_phone(colleague, lead) == "138****5678"
    assert svc.lead_phone(f.advisor(f.store()), lead) == ""
    with pytest.raises(NotAllowed):
        svc.advance(colleague, lead, "contacted")
    with pytest.raises(NotAllowed):
        svc.reassign(colleague, lead, colleague)
    assert svc.reveal_phone(colleague, lead) == "13812345678"
    db.session.commit()
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "lead_phone_revealed"))
    assert event.actor_id == colleague.id and event.target_id == lead.id


def test_lost_needs_a_reason_and_a_managers_approval(f, db):
    store = f.store()
    adv = f.advisor(store)
    manager = f.manager(store)
    lead = svc.capture(inquiry(store)).lead
    with pytest.raises(ValidationError):
        svc.request_lost(adv, lead, "whatever")
    svc.request_lost(adv, lead, "competitor", "买了别家")
    assert lead.state == LOST_PENDING
    with pytest.raises(NotAllowed):
        svc.decide_lost(adv, lead, approve=True)
    svc.decide_lost(manager, lead, approve=False)
    assert lead.state == OPEN and lead.lost_reason is None
    svc.request_lost(adv, lead, "budget")
    svc.decide_lost(manager, lead, approve=True)
    db.session.commit()
    assert lead.state == LOST and lead.lost_reason == "budget"
    # A lost lead frees the slot: the next inquiry opens a new lead.
    again = svc.capture(inquiry(store))
    assert again.created and again.lead.id != lead.id


def test_only_a_manager_reassigns_and_it_is_audited(f, db):
    store = f.store()
    a, b = f.advisor(store), f.advisor(store)
    manager = f.manager(store)
    lead = svc.capture(inquiry(store)).lead
    assert lead.advisor_id == a.id
    with pytest.raises(ValidationError):
        svc.reassign(manager, lead, f.advisor(f.store()))  # another store's advisor
    svc.reassign(manager, lead, b)
    db.session.commit()
    assert lead.advisor_id == b.id and lead.tasks[0].owner_id == b.id
    assert lead.customer.advisor_id == b.id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "lead_reassigned"))
    assert event.detail == {"before": a.id, "after": b.id}


def test_speed_to_lead_gives_median_and_p90_minutes_per_advisor(f, db):
    from crm.stats import speed_to_lead

    store = f.store()
    adv = f.advisor(store)
    manager = f.manager(store)
    waits = [1, 2, 3, 4, 20]
    made = []
    for i, wait in enumerate(waits):
        made.append((svc.capture(inquiry(store, phone=f"1360000{i:04d}")).lead, wait))
    unanswered = svc.capture(inquiry(store, phone="13600009999")).lead
    db.session.commit()
    for lead, wait in made:
        lead.first_contact_at = lead.created_at + timedelta(minutes=wait)
    db.session.commit()
    [row] = speed_to_lead(manager)
    assert (row.advisor, row.leads, row.contacted) == (adv.name, 6, 5)
    assert (row.median_min, row.p90_min, row.on_time) == (3, 20, 4)
    assert unanswered.first_contact_at is None
    assert speed_to_lead(f.manager(f.store())) == []  # another store sees none of it
    store.first_contact_minutes = 2  # on time is against the store's own target
    db.session.commit()
    [row] = speed_to_lead(manager)
    assert row.on_time == 2
