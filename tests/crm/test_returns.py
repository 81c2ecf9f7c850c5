"""The measured return on constructed data with a known answer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert

from crm import returns
from crm.campaign_models import DELIVERED, DONE, CampaignMember, CampaignSend
from portal.models import ServiceRecord
from portal.timeutil import now
from shop.models import Order
from tests.crm.campaign_data import campaign, customers


def order(db, user_id, store, at, total=10_000, status="paid"):
    db.session.add(
        Order(
            number=f"T{user_id}-{at:%H%M%S%f}",
            user_id=user_id,
            store_id=store.id,
            status=status,
            stock_state="sold",
            delivery="pickup",
            payment="store",
            total_fen=total,
            created_at=at,
            hold_expires_at=at,
        )
    )


def test_lift_cost_per_conversion_and_roi_have_the_known_answer(f, db):
    store = f.store()
    manager = f.manager(store)
    ids = customers(store, 50)
    c = campaign(manager, store, ("inapp",), holdout=10)
    sent = now() - timedelta(days=2)
    c.status, c.sent_at, c.cost_fen, c.window_days = DONE, sent, 10_000, 14
    holdout, reached = ids[:10], ids[10:]
    db.session.execute(
        insert(CampaignMember),
        [{"campaign_id": c.id, "customer_id": i, "holdout": i in holdout} for i in ids],
    )
    db.session.execute(
        insert(CampaignSend),
        [
            {
                "campaign_id": c.id,
                "customer_id": i,
                "channel": "inapp",
                "status": DELIVERED,
                "created_at": sent,
            }
            for i in reached
        ],
    )
    later = sent + timedelta(days=1)
    for i in holdout[:2] + reached[:16]:  # 2 of 10 in the holdout, 16 of 40 reached
        order(db, i, store, later)
    order(db, reached[20], store, sent + timedelta(days=20))  # after the window
    order(db, reached[21], store, later, status="cancelled")  # not paid
    order(db, reached[22], store, sent - timedelta(days=1))  # before the send
    # One reached customer who did not order books a service instead, worth 50 yuan.
    owner = db.session.get(type(manager), reached[30])
    booking = f.booking(owner, store, vehicle=f.vehicle(owner))
    db.session.add(
        ServiceRecord(
            booking_id=booking.id,
            vehicle_id=booking.vehicle_id,
            store_id=store.id,
            mileage_km=1,
            total_fen=5_000,
        )
    )
    db.session.commit()
    result = returns.measure(c)
    assert (result.reached.size, result.reached.converted) == (40, 17)
    assert (result.holdout.size, result.holdout.converted) == (10, 2)
    assert result.reached.revenue_fen == 165_000 and result.holdout.revenue_fen == 20_000
    assert result.lift_points == pytest.approx(22.5)  # 42.5 % against 20 %
    assert result.incremental_conversions == pytest.approx(9.0)
    assert result.incremental_revenue_fen == 85_000  # (4125 - 2000) fen each x 40
    assert result.cost_fen == 10_200 and result.channel_costs == {"inapp": (40, 200)}
    assert result.cost_per_contact_fen == 255
    assert result.cost_per_conversion_fen == 1_133  # 10,200 / 9
    assert result.roi == pytest.approx((85_000 - 10_200) / 10_200)


def test_nothing_is_measured_before_the_send(f, db):
    store = f.store()
    manager = f.manager(store)
    assert returns.measure(campaign(manager, store)) is None
