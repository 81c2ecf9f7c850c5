"""Stock per store: an order takes and gives back units at its store, a job at its booking's
store, staff change their own store's shelf; a unit in one store never serves another. The
races run in real threads on whichever database the suite runs on."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from portal.errors import Conflict
from portal.extensions import db
from portal.models import AuditEvent, InspectionItem, Store, User
from portal.services import inspections as inspection_svc
from shop import cart as carts
from shop import catalog, orders, stock
from shop.models import Order, Product, StockMove, StoreStock
from tests.portal.test_bookings import _race
from tests.portal.test_inspection_parts import inspection_with_part
from tests.portal.test_inspection_parts import product as part_product


@pytest.fixture
def two_stores(f):
    """Store A (the group's first) and store B, each with an owner at home there."""
    a, b = f.store("成都店"), f.store("北京店")
    return a, b, f.owner(a), f.owner(b)


def _left(product, store) -> int:
    db.session.rollback()
    return stock.at_store(store.id, product.id)


def _buyers(plan: list[tuple[int, int]], product_id: int):
    """The work of each racing thread: buy one unit now (pay at the store) as plan[i]'s
    (owner id, store id)."""

    def work(i, tdb):
        user_id, store_id = plan[i]
        user, store = tdb.session.get(User, user_id), tdb.session.get(Store, store_id)
        product = catalog.get_product(product_id)
        orders.buy_now(user, product, 1, delivery="pickup", store=store)

    return work


def test_two_checkouts_for_the_last_unit_at_a_store_sell_it_once(app, two_stores, f, shop):
    a, b, owner_a, _owner_b = two_stores
    p = shop.product(stock_qty=1, store=a)
    f.stock(p, 5, b)  # plenty elsewhere: it must not help
    plan = [(owner_a.id, a.id), (f.owner(a).id, a.id)]
    results = _race(app, 2, _buyers(plan, p.id))
    assert results.count("ok") == 1, results
    [refused] = [r for r in results if r != "ok"]
    assert isinstance(refused, Conflict) and refused.field == f"product-{p.id}", results
    assert (_left(p, a), _left(p, b)) == (0, 5)
    assert stock.ledger_total(p.id, a.id) == 0 and stock.ledger_total(p.id, b.id) == 5
    assert db.session.scalar(select(Order.store_id)) == a.id


def test_checkouts_at_two_stores_each_get_their_own_last_unit(app, two_stores, shop, f):
    a, b, owner_a, owner_b = two_stores
    p = shop.product(stock_qty=1, store=a)
    f.stock(p, 1, b)
    results = _race(app, 2, _buyers([(owner_a.id, a.id), (owner_b.id, b.id)], p.id))
    assert results == ["ok", "ok"], results
    assert (_left(p, a), _left(p, b)) == (0, 0)


def test_a_unit_at_store_b_does_not_satisfy_store_a(two_stores, shop, f):
    a, b, owner_a, _owner_b = two_stores
    p = shop.product(stock_qty=0, store=a)
    f.stock(p, 2, b)
    with pytest.raises(Conflict, match="sold out"):
        orders.buy_now(owner_a, p, 1, delivery="pickup", store=a)
    db.session.rollback()
    order = orders.buy_now(owner_a, p, 2, delivery="pickup", store=b)  # pick it up in B
    db.session.commit()
    assert (_left(p, a), _left(p, b)) == (0, 0)
    moves = db.session.scalars(select(StockMove).where(StockMove.order_id == order.id)).all()
    assert [(m.store_id, m.delta, m.reason) for m in moves] == [(b.id, -2, "sale")]


def test_releases_and_refunds_go_back_to_the_orders_store(two_stores, shop, f):
    a, b, owner_a, _owner_b = two_stores
    staff_b = f.advisor(b)
    p = shop.product(stock_qty=3, store=a)
    f.stock(p, 3, b)
    held = orders.buy_now(owner_a, p, 2, delivery="pickup", store=b)
    db.session.commit()
    orders.cancel(owner_a, held)
    db.session.commit()
    assert (_left(p, a), _left(p, b)) == (3, 3)
    paid = orders.buy_now(owner_a, p, 1, delivery="pickup", store=b)
    orders.mark_paid_at_store(staff_b, paid)
    orders.refund(f.manager(b), paid, paid.total_fen, "changed mind")
    db.session.commit()
    assert (_left(p, a), _left(p, b)) == (3, 3)
    for store in (a, b):
        assert stock.ledger_total(p.id, store.id) == 3
    reasons = db.session.scalars(
        select(StockMove.reason).where(StockMove.store_id == b.id).order_by(StockMove.id)
    ).all()
    assert reasons == ["initial", "sale", "release", "sale", "return"]


def test_adjustments_and_counts_change_only_the_named_store(two_stores, shop, f):
    a, b, _oa, _ob = two_stores
    manager_b = f.manager(b)
    p = shop.product(stock_qty=4, store=a)
    assert stock.adjust(manager_b, b.id, p, 6, "delivery") == 6
    assert stock.count(manager_b, b.id, p, 2, "stock take") == -4
    db.session.commit()
    assert (_left(p, a), _left(p, b)) == (4, 2)
    assert db.session.get(Product, p.id).stock == 6  # the group's total, derived
    row = db.session.scalar(select(StoreStock).where(StoreStock.store_id == b.id))
    assert row.low_stock == 3  # a new store row starts at the product's threshold


def test_the_owners_shop_shows_and_caps_at_the_home_stores_shelf(client, auth, two_stores, shop, f):
    a, b, owner_a, owner_b = two_stores
    p = shop.product(stock_qty=0, store=a, name="Roof box")
    f.stock(p, 2, b)
    auth.login(owner_a)
    page = client.get(f"/shop/products/{p.id}").get_data(as_text=True)
    assert 'class="warn" id="stock"' in page and "成都店" in page and 'id="buy-now"' not in page
    assert "Roof box" not in client.get("/shop/?stock=1").get_data(as_text=True)
    r = client.post(f"/shop/cart/add/{p.id}", data={"quantity": "1"}, follow_redirects=True)
    assert "sold out" in r.get_data(as_text=True)
    auth.logout()
    auth.login(owner_b)
    page = client.get(f"/shop/products/{p.id}").get_data(as_text=True)
    assert "北京店" in page and 'max="2"' in page and 'id="buy-now"' in page
    assert "Roof box" in client.get("/shop/?stock=1").get_data(as_text=True)
    client.post(f"/shop/cart/add/{p.id}", data={"quantity": "3"})
    assert carts.find(db.session.get(User, owner_b.id)) is None  # 3 > 2: refused, no cart


def test_staff_see_and_change_their_own_store_and_admins_pick_one(
    client, auth, two_stores, shop, f
):
    a, b, _oa, _ob = two_stores
    p = shop.product(stock_qty=7, store=a, name="Wiper")
    f.stock(p, 1, b)
    auth.login(f.manager(b))
    page = client.get(f"/admin/shop_stock/?store={a.id}").get_data(as_text=True)
    assert "北京店" in page and 'id="stock-store-picker"' not in page  # own store, whatever asked
    assert "<td>1</td>" in page and "<td>7</td>" not in page
    r = client.post(f"/admin/shop_stock/{p.id}/adjust",
                    data={"delta": "2", "reason": "delivery", "store": str(a.id)})  # fmt: skip
    assert r.status_code == 303
    assert (_left(p, a), _left(p, b)) == (7, 3)
    auth.logout()
    auth.login(f.admin())
    r = client.post(f"/admin/shop_stock/{p.id}/adjust",
                    data={"delta": "-2", "reason": "broken", "store": str(a.id)})  # fmt: skip
    assert r.status_code == 303 and (_left(p, a), _left(p, b)) == (5, 3)
    ledger = client.get(f"/admin/shop_stock/{p.id}?store={b.id}").get_data(as_text=True)
    assert 'id="ledger-stock">3<' in ledger and 'id="ledger-sum">3<' in ledger
    assert 'id="per-store"' in ledger and "成都店" in ledger  # the group's view: every store
    assert client.get(f"/admin/shop_stock/?store={b.id + 999}").status_code == 404


def test_a_job_reserves_from_its_own_stores_shelf_and_arrivals_fill_its_lines(two_stores, f):
    a, b, _oa, _ob = two_stores
    advisor_a, manager_a, manager_b = f.advisor(a), f.manager(a), f.manager(b)
    part = part_product(db, left=0, store=a)
    f.stock(part, 3, b)  # on the shelf in 北京, none in 成都
    inspection = inspection_with_part(f, db, a, advisor_a, part)
    pads = inspection.items[0]
    assert inspection_svc.short_of_stock(inspection) == {pads.id}
    inspection_svc.decide(inspection, pads.id, True)
    db.session.commit()
    assert db.session.get(InspectionItem, pads.id).part_state == "on_order"
    stock.adjust(manager_b, b.id, part, 1, "delivery to 北京")  # not this job's store
    db.session.commit()
    assert db.session.get(InspectionItem, pads.id).part_state == "on_order"
    stock.adjust(manager_a, a.id, part, 1, "delivery to 成都")
    db.session.commit()
    assert db.session.get(InspectionItem, pads.id).part_state == "reserved"
    assert (_left(part, a), _left(part, b)) == (0, 4)
    workshop = db.session.scalars(
        select(StockMove.store_id).where(StockMove.reason == "workshop")
    ).all()
    assert workshop == [a.id]


def test_the_migration_puts_the_pool_and_its_ledger_at_the_first_active_store(
    empty_database_app,
):
    """Stock made per store at the head, summed back into one pool by the downgrade, then
    moved to the group's first active store by the upgrade, with every ledger row."""
    from flask_migrate import downgrade, upgrade

    from tests import factories

    app = empty_database_app("storestock")
    with app.app_context():
        upgrade()
        closed = factories.store("关店")
        closed.is_active = False
        first, second = factories.store("成都店"), factories.store("北京店")
        p = Product(sku="M-1", name="垫", category=_category(), price_fen=100, low_stock=4)
        db.session.add(p)
        db.session.commit()
        factories.stock(p, 2, first)
        factories.stock(p, 5, second)
        first_id, product_id = first.id, p.id
        db.session.remove()
        downgrade(revision="0069_clip19_item_clips")
        assert db.session.execute(text("SELECT stock FROM shop_products")).scalar() == 7
        db.session.remove()
        upgrade()
        rows = db.session.execute(
            select(StoreStock.store_id, StoreStock.stock, StoreStock.low_stock)
        ).all()
        assert [tuple(r) for r in rows] == [(first_id, 7, 4)]
        moved = set(db.session.scalars(select(StockMove.store_id)))
        assert moved == {first_id} and stock.ledger_total(product_id, first_id) == 7
        db.session.remove()
        db.engine.dispose()


def _category():
    from shop.models import Category

    return Category(name="配件")


def test_a_manager_sets_their_stores_threshold_and_the_home_panel_follows(
    client, auth, two_stores, shop, f
):
    a, b, _oa, _ob = two_stores
    p = shop.product(stock_qty=5, store=a, name="Tyre gauge")
    f.stock(p, 5, b)
    manager_b = f.manager(b)
    auth.login(manager_b)
    url = f"/admin/shop_stock/{p.id}/adjust"
    assert client.post(url, data={"low_stock": "-1"}).status_code == 303
    assert client.post(url, data={"low_stock": "6", "store": str(a.id)}).status_code == 303
    db.session.rollback()
    lows = dict(db.session.execute(select(StoreStock.store_id, StoreStock.low_stock)).all())
    assert lows == {a.id: 3, b.id: 6}  # B's only, whatever store the form named
    panel = client.get("/admin/").get_data(as_text=True).split('id="low-stock"')[1]
    assert "Tyre gauge" in panel.split("</ul>")[0] and "成都店" not in panel.split("</ul>")[0]
    assert (
        db.session.scalar(
            select(AuditEvent.store_id).where(AuditEvent.action == "shop_stock_threshold")
        )
        == b.id
    )
