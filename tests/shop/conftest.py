"""Shop fixtures: products with stock (through the ledger), placements and carts."""

from __future__ import annotations

import itertools

import pytest

from portal.extensions import db
from shop.models import Category, Discount, Fitment, Placement, Product
from tests import factories

_seq = itertools.count(1)


class ShopFactory:
    def category(self, name: str | None = None) -> Category:
        c = Category(name=name or f"Category {next(_seq)}")
        db.session.add(c)
        db.session.commit()
        return c

    def product(self, *, stock_qty: int = 10, price_fen: int = 9900, category=None, fits=(),
                name: str | None = None, low_stock: int = 3, store=None) -> Product:  # fmt: skip
        """A product with stock_qty units at the store (the group's first store by default)."""
        n = next(_seq)
        p = Product(
            sku=f"SKU-{n}",
            name=name or f"Accessory {n}",
            description="A fine accessory",
            category=category or self.category(),
            price_fen=price_fen,
            low_stock=low_stock,
        )
        for brand, series in fits:
            p.fitments.append(Fitment(brand=brand, series=series))
        db.session.add(p)
        db.session.commit()
        factories.stock(p, stock_qty, store)
        return p

    def discount(self, product, kind="percent", value=20, **kw) -> Discount:
        d = Discount(product_id=product.id, kind=kind, value=value, **kw)
        db.session.add(d)
        db.session.commit()
        return d

    def placement(self, product, kind="hot", position=0, **kw) -> Placement:
        p = Placement(product_id=product.id, kind=kind, position=position, **kw)
        db.session.add(p)
        db.session.commit()
        return p


@pytest.fixture
def shop(db):
    return ShopFactory()


@pytest.fixture
def store(f):
    return f.store()


@pytest.fixture
def owner(f, store):
    return f.owner(store)


@pytest.fixture
def stripe_keys(app, monkeypatch):
    """Switch Stripe on with test keys (no network: tests replace the calls they need)."""
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_m4s")
    monkeypatch.setitem(app.config, "STRIPE_PUBLISHABLE_KEY", "pk_test_m4s")
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", "whsec_test_m4s")
    return app.config
