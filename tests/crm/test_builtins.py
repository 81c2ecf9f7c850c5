"""The built-in "maintenance due but not booked" campaign a store switches on."""

from __future__ import annotations

from sqlalchemy import func, select

from crm import builtins, campaign_sending, campaign_variants
from crm.campaign_models import MAINTENANCE_DUE, Campaign, CampaignMember
from portal.models import DueEvent, Notification
from portal.services import consent
from tests.crm.test_campaigns import DAYTIME


def due(db, vehicle):
    db.session.add(
        DueEvent(
            vehicle_id=vehicle.id,
            code="engine_oil",
            brand=vehicle.brand,
            series=vehicle.series,
            due_key="10000|",
            due_km=10_000,
            status="open",
        )
    )
    db.session.commit()


def test_switched_on_it_reaches_due_unbooked_owners_once_a_day_and_once_a_month(f, db, clock):
    clock.now = DAYTIME
    store = f.store()
    manager = f.manager(store)
    waiting, booked, fine = f.owner(store), f.owner(store), f.owner(store)
    for owner in (waiting, booked, fine):
        consent.set_consent(owner.id, "inapp", True)
        car = f.vehicle(owner)
        if owner is not fine:
            due(db, car)
    f.booking(booked, store)
    assert builtins.run_builtins() == 0  # not switched on yet
    builtins.switch(manager, store, MAINTENANCE_DUE, True)
    db.session.commit()
    assert builtins.switches(store)[MAINTENANCE_DUE] is True
    assert builtins.run_builtins() == 1
    assert builtins.run_builtins() == 0  # once a store day
    first = db.session.scalar(select(Campaign))
    members = set(db.session.scalars(select(CampaignMember.customer_id)))
    assert members == {waiting.id}
    campaign_sending.queue_due()
    held_out = campaign_variants.holdout_bucket(first.id, waiting.id) < 10
    notes = db.session.scalar(select(func.count(Notification.id)))
    assert notes == (0 if held_out else 1)
    clock.advance(days=1)
    assert builtins.run_builtins() == 1  # the next day: a new run, without the first's members
    second = db.session.scalar(select(Campaign).where(Campaign.id != first.id))
    assert second.audience == 0
    clock.advance(days=30)
    assert builtins.run_builtins() == 1  # a month on, they are due to hear again
    third = db.session.scalar(select(Campaign).order_by(Campaign.id.desc()))
    assert third.audience == 1
    clock.advance(days=31)
    builtins.switch(manager, store, MAINTENANCE_DUE, False)
    db.session.commit()
    assert builtins.run_builtins() == 0
    assert builtins.switches(store)[MAINTENANCE_DUE] is False
