"""A buyer's inquiry about a listed used car is a CRM lead: deduplicated, routed, masked."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from crm import leads as lead_svc
from crm.models import FIRST_CONTACT, USED_CAR, Lead, LeadEvent, Task
from crm.used_car_leads import inquire
from portal.errors import NotFound, ValidationError
from portal.models import Notification, UsedCarEvent, User
from portal.services import usedcars
from tests import factories


@pytest.fixture
def market(f, db):
    """A store with two advisors and a manager, and an owner's car listed for sale."""
    store = f.store()
    owner = f.owner(store)
    advisor, advisor2 = f.advisor(store), f.advisor(store)
    car = usedcars.submit_request(
        owner,
        vin=factories.vin(),
        brand="丰田",
        series="凯美瑞",
        model_year=2020,
        mileage_km=42_000,
        first_registered_on=date(2020, 6, 1),
        asking_price_fen=12_800_000,
        photos=[],
    )
    usedcars.start_review(advisor, car, advisor)
    usedcars.approve(
        advisor,
        car,
        grade="B",
        checked_items=["engine"],
        valuation_low_fen=11_000_000,
        valuation_high_fen=12_500_000,
    )
    usedcars.list_car(advisor, car)
    db.session.commit()
    return {
        "store": store,
        "owner": owner,
        "advisor": advisor,
        "advisor2": advisor2,
        "manager": f.manager(store),
        "car": car,
    }


def test_an_inquiry_from_the_page_becomes_a_routed_lead_with_a_first_contact_task(
    market, client, db
):
    car = market["car"]
    r = client.post(
        f"/market/{car.id}/inquiry",
        data={"name": "买家甲", "phone": "139 1234 5678", "message": "还在吗？能便宜点吗"},
    )
    assert r.status_code == 303
    lead = db.session.scalars(select(Lead)).one()
    assert lead.source == USED_CAR and lead.used_car_id == car.id
    assert lead.store_id == market["store"].id
    assert lead.advisor_id in (market["advisor"].id, market["advisor2"].id)
    assert "凯美瑞" in lead.model_interest and "能便宜点吗" in lead.note
    buyer = lead.customer
    assert buyer.phone == "13912345678" and buyer.name == "买家甲" and buyer.role == "owner"
    task = db.session.scalars(select(Task).where(Task.lead_id == lead.id)).one()
    assert task.kind == FIRST_CONTACT and task.done_at is None
    # The advisor is told; the seller sees on their car's page that someone asked.
    assert db.session.scalar(
        select(func.count(Notification.id)).where(Notification.user_id == lead.advisor_id)
    )
    events = db.session.scalars(select(UsedCarEvent).where(UsedCarEvent.kind == "lead")).all()
    assert [e.recipient_id for e in events] == [market["owner"].id]


def test_leads_take_turns_and_a_repeat_buyer_keeps_one_lead(market, db):
    car = market["car"]
    first = inquire(car, name="买家一", phone="13912340001").lead
    second = inquire(car, name="买家二", phone="13912340002").lead
    db.session.commit()
    assert {first.advisor_id, second.advisor_id} == {
        market["advisor"].id,
        market["advisor2"].id,
    }
    again = inquire(car, name="买家一", phone="13912340001", message="周末能看车吗")
    db.session.commit()
    assert not again.created and again.lead.id == first.id
    assert db.session.scalar(select(func.count(Lead.id))) == 2
    repeat = db.session.scalars(
        select(LeadEvent).where(LeadEvent.lead_id == first.id, LeadEvent.kind == "repeat")
    ).one()
    assert "周末能看车吗" in repeat.note
    assert db.session.scalar(select(func.count(User.id)).where(User.phone == "13912340001")) == 1


def test_an_existing_customer_is_found_not_duplicated(market, db):
    owner = market["owner"]
    got = inquire(market["car"], name="别的名字", phone=owner.phone)
    db.session.commit()
    assert got.lead.customer_id == owner.id


def test_bad_inquiries_are_refused_and_change_nothing(market, db):
    car = market["car"]
    with pytest.raises(ValidationError):
        inquire(car, name="  ", phone="13912345678")
    with pytest.raises(ValidationError):
        inquire(car, name="买家", phone="")
    usedcars.mark_sold(market["advisor"], car)
    db.session.commit()
    with pytest.raises(NotFound):
        inquire(car, name="买家", phone="13912345678")
    db.session.rollback()
    assert db.session.scalar(select(func.count(Lead.id))) == 0


def test_a_colleague_sees_the_buyer_masked_and_another_store_sees_nothing(
    market, f, db, auth, client
):
    got = inquire(market["car"], name="买家", phone="13912345678").lead
    db.session.commit()
    mine = db.session.get(User, got.advisor_id)
    colleague = market["advisor2"] if mine.id == market["advisor"].id else market["advisor"]
    assert lead_svc.lead_phone(mine, got) == "13912345678"
    assert lead_svc.lead_phone(colleague, got) != "13912345678"
    auth.login(colleague)
    page = client.get("/admin/usedcar_buyers/").get_data(as_text=True)
    assert "买家" in page and "13912345678" not in page and "139****5678" in page
    car_page = client.get(f"/admin/usedcar_review/{market['car'].id}").get_data(as_text=True)
    assert f'id="buyer-lead-{got.id}"' in car_page and "13912345678" not in car_page
    auth.logout()
    auth.login(mine)
    assert "13912345678" in client.get("/admin/usedcar_buyers/").get_data(as_text=True)
    lead_page = client.get(f"/admin/leads/{got.id}").get_data(as_text=True)
    assert 'id="lead-used-car"' in lead_page
    other = f.advisor(f.store())
    auth.logout()
    auth.login(other)
    assert f'id="buyer-lead-{got.id}"' not in client.get("/admin/usedcar_buyers/").get_data(
        as_text=True
    )


def test_demo_buyers_ask_about_listed_cars_once(db):
    from crm.demo_portal_leads import QUESTIONS, load_portal_leads_demo
    from crm.models import TRADE_IN_VALUATION
    from crm.profile_models import CustomerProfile
    from portal.demo import load_demo

    load_demo(owners=12)
    db.session.commit()
    assert load_portal_leads_demo() == {"used_car_leads": len(QUESTIONS), "trade_ins": 3}
    db.session.commit()
    assert load_portal_leads_demo() == {"used_car_leads": 0, "trade_ins": 0}
    trade_ins = db.session.scalars(select(Lead).where(Lead.source == TRADE_IN_VALUATION)).all()
    assert len(trade_ins) == 3
    assert all(db.session.get(CustomerProfile, x.customer_id).trade_in for x in trade_ins)
    leads = db.session.scalars(select(Lead).where(Lead.source == USED_CAR)).all()
    assert len(leads) == len(QUESTIONS)
    assert all(lead.used_car_id and lead.advisor_id for lead in leads)
    assert all(lead.used_car.status == "listed" for lead in leads)
