"""Shop services called directly: prices, stock, holds, orders, refunds and the race."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.errors import Conflict, ValidationError
from portal.extensions import db
from portal.timeutil import now
from shop import cart as carts
from shop import catalog, orders, stock
from shop.models import Order, Product, StockMove


def _order(owner, store, product, qty=1, **kw):
    cart = carts.open_cart(owner)
    carts.set_quantity(cart, product, qty)
    order = orders.place_order(owner, cart, delivery="pickup", store=store, **kw)
    db.session.commit()
    return order


def _stock(product) -> int:
    return db.session.scalar(select(Product.stock).where(Product.id == product.id))


def test_discounts_respect_their_window(shop, clock):
    p = shop.product(price_fen=10000)
    shop.discount(p, "percent", 10)
    shop.discount(p, "fixed", 3000, starts_at=now() + timedelta(days=1))
    assert catalog.price_of(p).sale_fen == 9000
    clock.advance(days=2)
    assert catalog.price_of(p).sale_fen == 7000  # the better of the two


def test_placements_respect_order_and_window(shop, clock):
    a, b, c = shop.product(), shop.product(), shop.product()
    shop.placement(a, "hot", 2)
    shop.placement(b, "hot", 1)
    shop.placement(c, "hot", 0, ends_at=now() + timedelta(hours=1))
    assert catalog.placed("hot") == [c, b, a]
    clock.advance(hours=2)
    assert catalog.placed("hot") == [b, a]


def test_checkout_copies_prices_and_writes_the_ledger(owner, store, shop):
    p = shop.product(stock_qty=5, price_fen=10000)
    shop.discount(p, "percent", 25)
    order = _order(owner, store, p, 2)
    line = order.lines[0]
    assert (line.unit_price_fen, line.list_price_fen, order.total_fen) == (7500, 10000, 15000)
    p.price_fen = 1  # a later price change does not touch the order
    db.session.commit()
    assert db.session.get(Order, order.id).total_fen == 15000
    assert _stock(p) == 3 == stock.ledger_total(p.id)


def test_negative_and_excess_quantities_are_refused(owner, shop):
    p = shop.product(stock_qty=2)
    cart = carts.open_cart(owner)
    with pytest.raises(ValidationError, match="negative"):
        carts.set_quantity(cart, p, -1)
    with pytest.raises(ValidationError, match="Only 2"):
        carts.add(cart, p, 3)
    with pytest.raises(ValidationError):
        carts.add(cart, p, 0)


def test_sold_out_between_cart_and_checkout_changes_nothing(owner, store, f, shop):
    p = shop.product(stock_qty=1)
    cart = carts.open_cart(owner)
    carts.set_quantity(cart, p, 1)
    db.session.commit()
    _order(f.owner(store), store, p, 1)
    with pytest.raises(Conflict, match="sold out"):
        orders.place_order(owner, cart, delivery="pickup", store=store)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Order.id))) == 1 and _stock(p) == 0


def test_hold_expiry_is_lazy_and_idempotent(owner, store, shop, clock, app):
    p = shop.product(stock_qty=2)
    order = _order(owner, store, p, 2)
    clock.advance(minutes=app.config["SHOP_HOLD_MINUTES"] - 1)
    assert orders.expire_holds() == 0
    clock.advance(minutes=2)
    assert orders.expire_holds() == 1
    assert orders.expire_holds() == 0
    db.session.commit()
    assert _stock(p) == 2 == stock.ledger_total(p.id)
    assert db.session.get(Order, order.id).stock_state == "released"


def test_hold_sweep_is_bounded_oldest_first(owner, store, shop, clock):
    p = shop.product(stock_qty=3)
    first, second = _order(owner, store, p, 1), _order(owner, store, p, 1)
    clock.advance(hours=1)
    assert orders.expire_holds(product_ids=[p.id], limit=1) == 1
    db.session.commit()
    assert db.session.get(Order, first.id).stock_state == "released"
    assert db.session.get(Order, second.id).stock_state == "held"
    assert orders.expire_holds(product_ids=[p.id], limit=1) == 1
    assert orders.expire_holds() == 0
    db.session.commit()
    assert _stock(p) == 3 == stock.ledger_total(p.id)


def test_expire_holds_command(owner, store, shop, clock, app):
    p = shop.product(stock_qty=1)
    _order(owner, store, p, 1)
    clock.advance(hours=1)
    result = app.test_cli_runner().invoke(args=["m4s", "shop-expire-holds"])
    assert result.exit_code == 0 and "1" in result.output
    assert _stock(p) == 1


def test_paying_at_the_store_after_expiry_reserves_again_or_refuses(owner, store, f, shop, clock):
    staff = f.advisor(store)
    p = shop.product(stock_qty=1)
    order = _order(owner, store, p, 1)
    clock.advance(hours=1)
    orders.expire_holds()
    db.session.commit()
    orders.mark_paid_at_store(staff, order)
    db.session.commit()
    assert order.status == "paid" and _stock(p) == 0 and stock.ledger_total(p.id) == 0
    # a second order whose units were sold meanwhile: clear error, nothing changed
    stock.adjust(staff, store.id, p, 1, "found one")
    late = _order(owner, store, p, 1)
    clock.advance(hours=1)
    orders.expire_holds()
    _order(f.owner(store), store, p, 1)
    with pytest.raises(Conflict):
        orders.mark_paid_at_store(staff, late)
    db.session.rollback()
    assert db.session.get(Order, late.id).status == "pending" and _stock(p) == 0


def test_fulfilment_moves_forward_only(owner, store, f, shop):
    staff = f.advisor(store)
    order = _order(owner, store, shop.product(), 1)
    with pytest.raises(Conflict):
        orders.advance(staff, order, "ready")  # not paid yet
    orders.mark_paid_at_store(staff, order)
    orders.advance(staff, order, "ready")
    orders.advance(staff, order, "completed")
    with pytest.raises(Conflict):
        orders.advance(staff, order, "ready")
    with pytest.raises(Conflict):
        orders.cancel(staff, order)


def test_partial_then_full_refund_returns_stock(owner, store, f, shop):
    staff = f.advisor(store)
    p = shop.product(stock_qty=3, price_fen=1000)
    order = _order(owner, store, p, 2)
    orders.mark_paid_at_store(staff, order)
    orders.refund(staff, order, 500, "scratched")
    assert order.status == "paid" and order.refunded_fen == 500
    with pytest.raises(ValidationError):
        orders.refund(staff, order, 1600)
    orders.refund(staff, order, 1500, "returned")
    db.session.commit()
    assert order.status == "refunded" and _stock(p) == 3 == stock.ledger_total(p.id)
    reasons = db.session.scalars(select(StockMove.reason).order_by(StockMove.id)).all()
    assert reasons == ["initial", "sale", "return"]


def test_manual_adjustment_needs_a_reason_and_never_goes_negative(store, f, shop):
    manager = f.manager(store)
    p = shop.product(stock_qty=2)
    with pytest.raises(ValidationError, match="reason"):
        stock.adjust(manager, store.id, p, 5, " ")
    with pytest.raises(ValidationError, match="below zero"):
        stock.adjust(manager, store.id, p, -3, "broken")
    stock.adjust(manager, store.id, p, -2, "broken in transit")
    db.session.commit()
    assert _stock(p) == 0 == stock.ledger_total(p.id)


@pytest.mark.parametrize("way", ["cart", "buy now"])
def test_thirty_buyers_for_the_last_five_units(app, store, f, shop, way):
    """30 concurrent checkouts, each a POST with its own session: exactly 5 orders."""
    p = shop.product(stock_qty=5, price_fen=1000)
    buyers = [f.owner(store) for _ in range(30)]
    if way == "cart":
        for b in buyers:
            carts.set_quantity(carts.open_cart(b), p, 1)
    db.session.commit()
    product_id = p.id
    ids = [b.id for b in buyers]
    store_id, results, gate = store.id, [], threading.Barrier(30)

    def buy(user_id: int) -> None:
        from portal.models import Store, User

        with app.test_request_context("/shop/checkout", method="POST"):
            gate.wait()
            try:
                user, shop_at = db.session.get(User, user_id), db.session.get(Store, store_id)
                if way == "cart":
                    orders.place_order(user, carts.find(user), delivery="pickup", store=shop_at)
                else:
                    product = catalog.get_product(product_id)
                    orders.buy_now(user, product, 1, delivery="pickup", store=shop_at)
                db.session.commit()
                results.append("ok")
            except Conflict:
                db.session.rollback()
                results.append("sold out")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=buy, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db.session.rollback()  # end the test's own read snapshot before counting
    assert results.count("ok") == 5 and results.count("sold out") == 25
    assert db.session.scalar(select(func.count(Order.id))) == 5
    assert _stock(p) == 0 == stock.ledger_total(p.id)
    moves = db.session.scalars(select(StockMove).where(StockMove.reason == "sale")).all()
    assert len(moves) == 5 and all(m.delta == -1 and m.order_id for m in moves)
