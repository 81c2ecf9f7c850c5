"""Shop tables: catalog, placements, carts, orders, the stock ledger and Stripe records."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from portal.models import Image, Store, User
from portal.models.base import Base, Bilingual, UTCDateTime, utcnow

PENDING, PAID, READY, SHIPPED, COMPLETED = "pending", "paid", "ready", "shipped", "completed"
CANCELLED, REFUNDED = "cancelled", "refunded"
ORDER_STATUSES = (PENDING, PAID, READY, SHIPPED, COMPLETED, CANCELLED, REFUNDED)
# How far an order has come; a change never lowers it (out-of-order webhooks, double clicks).
STATUS_RANK = {PENDING: 0, PAID: 1, READY: 2, SHIPPED: 2, COMPLETED: 3, CANCELLED: 4, REFUNDED: 4}
HELD, RELEASED, SOLD, RETURNED = "held", "released", "sold", "returned"
# An online order's Stripe payment method, and its payment's state while it is unpaid.
CARD, ALIPAY, WECHAT_PAY = "card", "alipay", "wechat_pay"
PAYMENT_METHODS = (CARD, ALIPAY, WECHAT_PAY)
PROCESSING, FAILED = "processing", "failed"
# "workshop": units reserved for an approved inspection item of a job (given back as "release").
LEDGER_REASONS = ("initial", "sale", "release", "adjust", "return", "workshop")


class Category(Bilingual, Base):
    __tablename__ = "shop_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    name_en: Mapped[str] = mapped_column(String(80), default="", server_default="")
    position: Mapped[int] = mapped_column(default=0)

    products: Mapped[list[Product]] = relationship(back_populates="category")

    def __str__(self) -> str:
        return self.name


class Product(Bilingual, Base):
    """A product of the group's catalog; its stock lives per store (StoreStock)."""

    __tablename__ = "shop_products"
    __table_args__ = (
        CheckConstraint("price_fen >= 0", name="price_nonnegative"),
        CheckConstraint("low_stock >= 0", name="low_stock_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    name_en: Mapped[str] = mapped_column(String(120), default="", server_default="")
    description: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="", server_default="")
    category_id: Mapped[int] = mapped_column(ForeignKey("shop_categories.id"), index=True)
    price_fen: Mapped[int] = mapped_column()
    # The threshold a store's stock row starts with (each store then has its own).
    low_stock: Mapped[int] = mapped_column(default=3, server_default=text("3"))
    image_id: Mapped[int | None] = mapped_column(ForeignKey("images.id"))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    category: Mapped[Category] = relationship(back_populates="products")
    image: Mapped[Image | None] = relationship()
    fitments: Mapped[list[Fitment]] = relationship(
        back_populates="product", cascade="all, delete-orphan"
    )
    discounts: Mapped[list[Discount]] = relationship(back_populates="product")
    placements: Mapped[list[Placement]] = relationship(back_populates="product")

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"


class StoreStock(Base):
    """The units of a product on one store's shelf for sale, and the store's low-stock
    threshold for it. The only stock there is: every change is a conditional UPDATE of this
    row with a ledger row (shop.stock)."""

    __tablename__ = "shop_store_stock"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock_nonnegative"),
        CheckConstraint("low_stock >= 0", name="low_stock_nonnegative"),
        UniqueConstraint("store_id", "product_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("shop_products.id"), index=True)
    stock: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    low_stock: Mapped[int] = mapped_column(default=3, server_default=text("3"))

    store: Mapped[Store] = relationship()
    product: Mapped[Product] = relationship()


# The group's total of a product (the sum of its stores' rows), read only and loaded only when
# asked for: the back office's catalog list and the tests read it; selling never does.
Product.stock = column_property(
    select(func.coalesce(func.sum(StoreStock.stock), 0))
    .where(StoreStock.product_id == Product.id)
    .correlate_except(StoreStock)
    .scalar_subquery(),
    deferred=True,
)


class Fitment(Base):
    """The product fits this brand (and series, when given); no fitment row fits every car."""

    __tablename__ = "shop_fitments"
    __table_args__ = (UniqueConstraint("product_id", "brand", "series"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("shop_products.id", ondelete="CASCADE"), index=True
    )
    brand: Mapped[str] = mapped_column(String(40))
    series: Mapped[str] = mapped_column(String(60), default="")

    product: Mapped[Product] = relationship(back_populates="fitments")

    def __str__(self) -> str:
        return f"{self.brand} {self.series}".strip()


class Discount(Base):
    __tablename__ = "shop_discounts"
    __table_args__ = (
        CheckConstraint("kind IN ('percent', 'fixed')", name="kind_known"),
        CheckConstraint("value > 0", name="value_positive"),
        CheckConstraint("kind != 'percent' OR value < 100", name="percent_below_100"),
        CheckConstraint(
            "ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at", name="window"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("shop_products.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[int] = mapped_column()  # percent off, or fen off
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_active: Mapped[bool] = mapped_column(default=True)

    product: Mapped[Product] = relationship(back_populates="discounts")


class Placement(Base):
    """A product shown as hot or recommended, in this order, optionally in a time window."""

    __tablename__ = "shop_placements"
    __table_args__ = (
        CheckConstraint("kind IN ('hot', 'recommended')", name="kind_known"),
        CheckConstraint(
            "ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at", name="window"
        ),
        UniqueConstraint("product_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("shop_products.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(default=0)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    product: Mapped[Product] = relationship(back_populates="placements")


class Cart(Base):
    """An owner's cart (user_id) or an anonymous one (key, carried in a signed cookie)."""

    __tablename__ = "shop_carts"
    __table_args__ = (CheckConstraint("user_id IS NOT NULL OR key IS NOT NULL", name="has_holder"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    items: Mapped[list[CartItem]] = relationship(
        back_populates="cart", cascade="all, delete-orphan", order_by="CartItem.id"
    )


class CartItem(Base):
    __tablename__ = "shop_cart_items"
    __table_args__ = (
        UniqueConstraint("cart_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("shop_carts.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("shop_products.id"), index=True)
    quantity: Mapped[int] = mapped_column()

    cart: Mapped[Cart] = relationship(back_populates="items")
    product: Mapped[Product] = relationship()


class Order(Base):
    __tablename__ = "shop_orders"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'paid', 'ready', 'shipped', 'completed', 'cancelled', "
            "'refunded')",
            name="status_known",
        ),
        CheckConstraint("stock_state IN ('held', 'released', 'sold', 'returned')", name="stock"),
        CheckConstraint("delivery IN ('pickup', 'delivery')", name="delivery_known"),
        CheckConstraint("payment IN ('store', 'stripe')", name="payment_known"),
        CheckConstraint("total_fen >= 0", name="total_nonnegative"),
        CheckConstraint("discount_fen >= 0", name="discount_nonnegative"),
        CheckConstraint(
            "refunded_fen >= 0 AND refunded_fen <= total_fen", name="refund_within_total"
        ),
        CheckConstraint("delivery = 'pickup' OR address != ''", name="delivery_has_address"),
        CheckConstraint(
            "payment_method IS NULL OR (payment = 'stripe' AND "
            "payment_method IN ('card', 'alipay', 'wechat_pay'))",
            name="payment_method_known",
        ),
        CheckConstraint(
            "payment_state IS NULL OR (payment = 'stripe' AND "
            "payment_state IN ('processing', 'failed'))",
            name="payment_state_known",
        ),
        Index("ix_shop_orders_status_hold", "status", "stock_state", "hold_expires_at"),
        # The back-office list: a store's orders, newest first, a keyset page at a time.
        Index("ix_shop_orders_store_created", "store_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=PENDING)
    stock_state: Mapped[str] = mapped_column(String(10), default=HELD)
    delivery: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(String(255), default="")
    payment: Mapped[str] = mapped_column(String(8))
    total_fen: Mapped[int] = mapped_column()
    refunded_fen: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # A coupon's discount, already taken off total_fen, and the coupon's code (shop.coupons).
    discount_fen: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    coupon_code: Mapped[str | None] = mapped_column(String(24))
    payment_intent_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # How an online order was (or is being) paid, as Stripe's events say: card, alipay or
    # wechat_pay; and while it is unpaid, whether the last attempt is processing or failed.
    payment_method: Mapped[str | None] = mapped_column(String(12))
    payment_state: Mapped[str | None] = mapped_column(String(12))
    note: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    hold_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # A pay-at-store pickup: the day the owner comes; the hold lasts to the end of that day
    # in the store's zone (hold_expires_at), then the order is cancelled (shop.orders.pickup).
    pickup_on: Mapped[date | None] = mapped_column(Date, index=True)

    user: Mapped[User] = relationship()
    store: Mapped[Store] = relationship()
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )
    refunds: Mapped[list[Refund]] = relationship(back_populates="order", order_by="Refund.id")

    @property
    def is_paid(self) -> bool:
        return self.paid_at is not None


class OrderLine(Bilingual, Base):
    """A line of an order, with the prices copied at checkout."""

    __tablename__ = "shop_order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_fen >= 0", name="price_nonnegative"),
        UniqueConstraint("order_id", "product_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("shop_orders.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("shop_products.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))  # the product's names when it was bought
    name_en: Mapped[str] = mapped_column(String(120), default="", server_default="")
    unit_price_fen: Mapped[int] = mapped_column()
    list_price_fen: Mapped[int] = mapped_column()
    quantity: Mapped[int] = mapped_column()

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()

    @property
    def total_fen(self) -> int:
        return self.unit_price_fen * self.quantity


class StockMove(Base):
    """The stock ledger: every change of a store's stock of a product, with its reason."""

    __tablename__ = "shop_stock_moves"
    __table_args__ = (
        CheckConstraint(
            "reason IN ('initial', 'sale', 'release', 'adjust', 'return', 'workshop')",
            name="reason_known",
        ),
        CheckConstraint("delta != 0", name="delta_nonzero"),
        # A store's ledger of a product, newest first (the stock screen's ledger page).
        Index("ix_shop_stock_moves_store_product", "store_id", "product_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("shop_products.id"), index=True)
    delta: Mapped[int] = mapped_column()
    reason: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(String(255), default="")
    order_id: Mapped[int | None] = mapped_column(ForeignKey("shop_orders.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    product: Mapped[Product] = relationship()
    store: Mapped[Store] = relationship()
    actor: Mapped[User | None] = relationship()


class ScheduledPrice(Base):
    """A product's list price from a moment on (a price list's date, at midnight in the zone
    of the store it was imported for); the worker applies it when due (shop.prices)."""

    __tablename__ = "shop_scheduled_prices"
    __table_args__ = (
        CheckConstraint("price_fen >= 0", name="price_nonnegative"),
        UniqueConstraint("product_id", "starts_at"),
        Index("ix_shop_scheduled_prices_due", "applied_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("shop_products.id"), index=True)
    price_fen: Mapped[int] = mapped_column()
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))  # whose zone
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    product: Mapped[Product] = relationship()
    store: Mapped[Store | None] = relationship()


class Refund(Base):
    __tablename__ = "shop_refunds"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("shop_orders.id"), index=True)
    amount_fen: Mapped[int] = mapped_column()
    reason: Mapped[str] = mapped_column(String(255), default="")
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    stripe_refund_id: Mapped[str | None] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    order: Mapped[Order] = relationship(back_populates="refunds")


class StripeEvent(Base):
    """A Stripe webhook event already processed; written with the order change it caused."""

    __tablename__ = "shop_stripe_events"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("shop_orders.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


from shop.coupon_models import Coupon, CouponOffer  # noqa: E402, F401  (register the tables)
