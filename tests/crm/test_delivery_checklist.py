"""The delivery checklist: ticked by whoever did the item, required before the car goes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm import delivery
from crm import orders as order_svc
from crm.pipeline_models import DeliveryCheck, SalesOrder
from portal.errors import NotAllowed, ValidationError
from tests import factories
from tests.crm.test_pipeline import accepted_quote, shop  # noqa: F401 (the fixture)
from tests.threads import at_once


@pytest.fixture
def invoiced(shop, db):  # noqa: F811 (the fixture above)
    store, adv, lead, _car = shop
    order = order_svc.sign(adv, accepted_quote(adv, lead, db), 20_000_00, None)
    order_svc.allocate(adv, order, factories.vin())
    order_svc.invoice(adv, order, "FP-00012345")
    db.session.commit()
    return store, adv, order


def _ticked(order) -> list[str]:
    from portal.extensions import db

    return sorted(
        db.session.scalars(select(DeliveryCheck.item).where(DeliveryCheck.order_id == order.id))
    )


def test_the_car_waits_for_every_required_item_and_only_those(invoiced, db):
    _store, adv, order = invoiced
    required = [item for item in delivery.ITEMS if item.required]
    for item in required[:-1]:
        delivery.tick(adv, order, item.code, True)
    db.session.commit()
    with pytest.raises(ValidationError, match="Tick the delivery checklist first") as refused:
        order_svc.deliver(adv, order, "粤B12345")
    assert str(required[-1].label) in refused.value.message
    assert "Delivery photo" not in refused.value.message  # optional items are not asked for
    db.session.rollback()
    delivery.tick(adv, order, required[-1].code, True)
    vehicle = order_svc.deliver(adv, order, "粤B12345")
    db.session.commit()
    assert (order.stage, vehicle.plate) == ("delivered", "粤B12345")
    with pytest.raises(ValidationError, match="checklist is closed"):
        delivery.tick(adv, order, "photo", True)


def test_unticking_reopens_an_item_and_a_second_tick_keeps_the_first(invoiced, f, db):
    store, adv, order = invoiced
    manager = f.manager(store)
    delivery.tick(adv, order, "keys", True)
    db.session.commit()
    delivery.tick(manager, order, "keys", True)  # already ticked: the advisor's tick stays
    db.session.commit()
    assert delivery.checks(order)["keys"].done_by_id == adv.id
    delivery.tick(manager, order, "keys", False)
    db.session.commit()
    assert _ticked(order) == []


def test_only_the_leads_advisor_or_a_manager_ticks_and_only_known_items(invoiced, f, db):
    store, adv, order = invoiced
    with pytest.raises(NotAllowed):
        delivery.tick(f.advisor(store), order, "keys", True)
    with pytest.raises(ValidationError, match="Choose an item"):
        delivery.tick(adv, order, "champagne", True)
    db.session.rollback()
    assert _ticked(order) == []


def test_two_people_ticking_the_same_item_at_once_make_one_row(app, invoiced, db):
    _store, adv, order = invoiced
    adv_id, order_id = adv.id, order.id

    def tick():
        from portal.extensions import db as session_db
        from portal.models import User

        me, mine = (
            session_db.session.get(User, adv_id),
            session_db.session.get(SalesOrder, order_id),
        )
        delivery.tick(me, mine, "pdi", True)
        return "ok"

    assert at_once(app, tick, 4) == ["ok"] * 4
    count = (
        select(func.count()).select_from(DeliveryCheck).where(DeliveryCheck.order_id == order_id)
    )
    assert db.session.scalar(count) == 1


def test_the_order_page_shows_the_checklist_and_refuses_a_bad_item(invoiced, client, auth, db):
    _store, adv, order = invoiced
    auth.login(adv)
    page = client.get(f"/admin/sales_orders/{order.id}").get_data(as_text=True)
    assert 'id="delivery-checklist"' in page and "Pre-delivery inspection (PDI) passed" in page
    bad = client.post(
        f"/admin/sales_orders/{order.id}/check",
        data={"item": "x" * 5000, "done": "1"},
        headers={"HX-Request": "true"},
    )
    assert bad.status_code == 422 and "Choose an item of the checklist." in bad.get_data(True)
    plain = client.post(f"/admin/sales_orders/{order.id}/check", data={"item": "keys", "done": "1"})
    assert plain.status_code == 303 and _ticked(order) == ["keys"]
