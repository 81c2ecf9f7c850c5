"""Sales rooms of the group dataset: shop orders with their lines and stock moves, and CRM
leads with their steps and first-contact tasks, a few per hundred customers."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from bench.sink import Sink, close
from crm.models import Lead, LeadEvent, Task
from shop.models import Order, OrderLine, StockMove, StoreStock

LEAD_SOURCES = (("portal", 35), ("phone", 25), ("walk_in", 25), ("referral", 10), ("import", 5))
LEAD_STAGES = ("new", "contacted", "visited", "test_drive", "quote", "order", "delivered")
LOST_REASONS = ("competitor", "elsewhere", "postponed", "budget", "unreachable", "other")


def _pick(rng: random.Random, pairs: tuple) -> str:
    return rng.choices([p for p, _ in pairs], [w for _, w in pairs])[0]


class Sales:
    """Orders and leads of each customer, written as the customer is made."""

    def __init__(
        self,
        conn: Connection,
        users: Sink,
        setup: Any,
        past: Callable[..., datetime],
        base: int = 0,
    ) -> None:
        self.setup, self.past, self.when = setup, past, setup.when
        self.base = base  # this stream's ids start after it (bench.group: one range per chunk)
        self.next_move = base + setup.next_move
        self.orders = Sink(
            conn,
            Order.__table__,
            "id number user_id store_id status stock_state delivery address payment total_fen "
            "created_at hold_expires_at paid_at",
            [users],
        )
        self.lines = Sink(
            conn,
            OrderLine.__table__,
            "id order_id product_id name unit_price_fen list_price_fen quantity",
            [self.orders],
        )
        self.moves = Sink(
            conn,
            StockMove.__table__,
            "id store_id product_id delta reason order_id at",
            [self.orders],
        )
        self.leads = Sink(
            conn,
            Lead.__table__,
            "id customer_id store_id customer_store_id advisor_id source model_interest "
            "budget_fen timeframe "
            "grade wants_test_drive stage state lost_reason created_at first_contact_at "
            "updated_at",
            [users],
        )
        self.lead_events = Sink(
            conn, LeadEvent.__table__, "id lead_id kind stage actor_id at", [self.leads]
        )
        self.tasks = Sink(
            conn,
            Task.__table__,
            "id lead_id customer_id store_id owner_id kind status due_at done_at created_at",
            [self.leads],
        )
        self.ids: Counter[str] = Counter()
        self.sold: Counter[tuple[int, int]] = Counter()  # (store id, product id): units

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.base + self.ids[table]

    def add(self, rng: random.Random, customer: dict) -> None:
        if rng.random() < 0.1:
            for _ in range(rng.choice((1, 1, 1, 2, 3))):
                self.add_order(rng, customer)
        if rng.random() < 0.07:
            self.add_lead(rng, customer)

    def add_order(self, rng: random.Random, customer: dict) -> None:
        store = customer["store"]
        oid = self.next_id("orders")
        at = self.past(rng, customer["joined"], 2 * 365)
        status = rng.choices(
            ("completed", "cancelled", "refunded", "paid", "pending"), (80, 8, 4, 6, 2)
        )[0]
        if status in ("paid", "pending") and at < self.when - timedelta(days=3):
            status = "completed"
        stock_state = {
            "completed": "sold",
            "paid": "sold",
            "pending": "held",
            "cancelled": "released",
            "refunded": "returned",
        }[status]
        total = 0
        picks = rng.sample(self.setup.products, k=rng.choice((1, 1, 2, 3)))
        lines = []
        for pid, name, price in picks:
            qty = rng.choice((1, 1, 1, 2))
            total += qty * price
            lines.append((pid, name, price, qty))
        delivery = "pickup" if rng.random() < 0.7 else "delivery"
        paid = at + timedelta(minutes=rng.randint(1, 20)) if status != "pending" else None
        self.orders.add(
            (
                oid,
                f"GB{oid:010d}",
                customer["id"],
                store["id"],
                status,
                stock_state,
                delivery,
                "" if delivery == "pickup" else store["address"],
                rng.choice(("store", "stripe")),
                total,
                at,
                at + timedelta(minutes=30),
                paid,
            )
        )
        for pid, name, price, qty in lines:
            self.lines.add((self.next_id("lines"), oid, pid, name, price, price, qty))
            self.moves.add((self.next_move, store["id"], pid, -qty, "sale", oid, at))
            self.next_move += 1
            if stock_state in ("released", "returned"):
                self.moves.add(
                    (
                        self.next_move,
                        store["id"],
                        pid,
                        qty,
                        "release" if stock_state == "released" else "return",
                        oid,
                        at + timedelta(hours=2),
                    )
                )
                self.next_move += 1
            else:
                self.sold[store["id"], pid] += qty

    def add_lead(self, rng: random.Random, customer: dict) -> None:
        store = customer["store"]
        lid = self.next_id("leads")
        at = self.past(rng, customer["joined"], 2 * 365)
        state = rng.choices(("won", "lost", "open", "lost_pending"), (30, 45, 22, 3))[0]
        if state == "won":
            stage = "delivered"
        elif state == "open":
            stage = rng.choice(LEAD_STAGES[:6])
        else:
            stage = rng.choice(LEAD_STAGES[:5])
        advisor = rng.choice(store["advisors"])
        contacted = at + timedelta(minutes=rng.randint(3, 600)) if stage != "new" else None
        self.leads.add(
            (
                lid,
                customer["id"],
                store["id"],
                store["id"],  # the customer's store: every lead here is at their own store
                advisor,
                _pick(rng, LEAD_SOURCES),
                f"{store['brand']}新车",
                rng.randint(10, 40) * 1_000_000,
                rng.choice(("7d", "15d", "30d", "90d", "later")),
                rng.choice("HABC"),
                rng.random() < 0.4,
                stage,
                state,
                rng.choice(LOST_REASONS) if state in ("lost", "lost_pending") else None,
                at,
                contacted,
                contacted or at,
            )
        )
        self.lead_events.add((self.next_id("lead_events"), lid, "created", "new", None, at))
        if contacted:
            self.lead_events.add(
                (self.next_id("lead_events"), lid, "stage", stage, advisor, contacted)
            )
        self.tasks.add(
            (
                self.next_id("tasks"),
                lid,
                customer["id"],
                store["id"],
                advisor,
                "first_contact",
                "done" if contacted else "open",
                at + timedelta(hours=2),
                contacted,
                at,
            )
        )

    def close(self) -> dict[str, int]:
        """Write what is left; the stock sold is in sold, for take_sold_stock."""
        return close(self.orders, self.lines, self.moves, self.leads, self.lead_events, self.tasks)


def take_sold_stock(conn: Connection, sold: Counter[tuple[int, int]]) -> None:
    """Take what the orders sold off each store's stock of each product, so every store's
    shelf matches its ledger."""
    table = StoreStock.__table__
    for (store_id, pid), qty in sorted(sold.items()):
        conn.execute(
            table.update()
            .where(table.c.store_id == store_id, table.c.product_id == pid)
            .values(stock=table.c.stock - qty)
        )
