"""The rest of what a group's stores fill, at the scale of their customers: the shop's
catalogue, rescues, used-car submissions and buyers' inquiries, loans and insurance policies,
cameras and viewing sessions, notices to advisors. Orders and CRM leads: bench.group_sales."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection

from bench.group_sales import Sales
from bench.sink import Sink, close
from portal.demo import chinese_name
from portal.models import (
    InsurancePolicy,
    Loan,
    Notice,
    NoticeRecipient,
    Rescue,
    RescueEvent,
    UsedCarLead,
    UsedCarRequest,
)
from portal.models.finance import policy_number_hash
from shop.demo import CATALOG
from shop.models import Category, Product, StockMove, StoreStock
from workshop_video.models import Camera, VideoSession

STORE_STOCK = 10_000  # units of each product on each store's shelf before the sales history

LENDERS = ("平安银行汽车金融", "招商银行信用卡中心", "丰田汽车金融", "上汽通用汽车金融", "建设银行")
INSURERS = ("中国人保财险", "平安产险", "太平洋产险", "中华联合", "大地保险")
NOTICES = (
    ("本周保养套餐活动", "本周到店保养享工时八折，请各位顾问主动告知客户。"),
    ("节前预约高峰提醒", "节前一周预约量大，请提前确认配件库存与工位安排。"),
    ("新版接车流程", "即日起接车须拍摄四角照片并录入里程，谢谢配合。"),
    ("夏季空调检测", "七月起免费空调检测，请在接车时提醒客户。"),
    ("质量回访要求", "完工三天内完成电话回访，并在系统中记录结果。"),
)
RESCUE_PROBLEMS = (
    ("breakdown", 30),
    ("flat_tyre", 22),
    ("battery", 25),
    ("accident", 10),
    ("locked_out", 5),
    ("fuel", 3),
    ("other", 5),
)
USEDCAR_STATUSES = (
    ("sold", 30),
    ("listed", 15),
    ("withdrawn", 12),
    ("rejected", 10),
    ("approved", 5),
    ("under_review", 8),
    ("changes_requested", 5),
    ("submitted", 15),
)


def _pick(rng: random.Random, pairs: tuple) -> str:
    return rng.choices([p for p, _ in pairs], [w for _, w in pairs])[0]


class Setup:
    """Per-store and group-wide rows made once: cameras, notices, the shop's catalogue."""

    def __init__(self, conn: Connection, rng: random.Random, specs: list[dict], when: datetime):
        self.specs, self.when = specs, when
        cameras = Sink(conn, Camera.__table__, "id store_id bay name source is_active created_at")
        notices = Sink(conn, Notice.__table__, "id store_id author_id title body to_all created_at")
        readers = Sink(conn, NoticeRecipient.__table__, "notice_id advisor_id read_at", [notices])
        cid = nid = 0
        for s in specs:
            s["cameras"] = []
            for bay in range(1, s["bays"] + 1):
                cid += 1
                cameras.add(
                    (
                        cid,
                        s["id"],
                        bay,
                        f"{bay}号工位",
                        f"rtsp://10.{s['id']}.0.{bay}/live",
                        True,
                        s["created_at"],
                    )
                )
                s["cameras"].append(cid)
            for week in range(0, 3 * 52, 1 + (s["share"] < 0.01)):
                nid += 1
                at = when - timedelta(weeks=week, hours=rng.randint(0, 100))
                title, body = rng.choice(NOTICES)
                notices.add((nid, s["id"], s["manager"], title, body, True, at))
                for adv in s["advisors"]:
                    read = (
                        at + timedelta(hours=rng.randint(1, 48))
                        if week or rng.random() < 0.5
                        else None
                    )
                    readers.add((nid, adv, read))
        categories = Sink(conn, Category.__table__, "id name position")
        products = Sink(
            conn,
            Product.__table__,
            "id sku name description category_id price_fen low_stock is_active created_at",
            [categories],
        )
        # Each store's own shelf of every product, and the ledger row that put it there.
        shelves = Sink(
            conn, StoreStock.__table__, "id store_id product_id stock low_stock", [products]
        )
        moves = Sink(
            conn, StockMove.__table__, "id store_id product_id delta reason note at", [shelves]
        )
        self.products: list[tuple[int, str, int]] = []
        pid = 0
        stocked = when - timedelta(days=3 * 365)
        for ci, (cat, items) in enumerate(CATALOG.items(), start=1):
            categories.add((ci, cat, ci))
            for name, price in items:
                pid += 1
                products.add((pid, f"GB-{pid:04d}", name, "", ci, price, 20, True, stocked))
                self.products.append((pid, name, price))
        row = 0
        for s in specs:
            for pid, _name, _price in self.products:
                row += 1
                shelves.add((row, s["id"], pid, STORE_STOCK, 20))
                moves.add((row, s["id"], pid, STORE_STOCK, "initial", "", stocked))
        self.next_move = row + 1
        self.counts = close(cameras, notices, readers, categories, products, moves)


class Extras:
    """Per-customer rows of the other rooms, written as each customer is made."""

    def __init__(
        self,
        conn: Connection,
        people: Any,
        history: Any,
        setup: Setup,
        when: datetime,
        base: int = 0,
    ) -> None:
        self.when, self.today = when, when.date()
        self.base = base  # this stream's ids start after it (bench.group: one range per chunk)
        self.history, self.setup = history, setup
        users, vehicles = people.users, people.vehicles
        self.rescues = Sink(
            conn,
            Rescue.__table__,
            "id owner_id vehicle_id store_id status problem note callback_phone latitude "
            "longitude accuracy_m address idempotency_key advisor_id claimed_at dispatched_at "
            "on_site_at resolved_at cancelled_at created_at updated_at",
            [vehicles],
        )
        self.rescue_events = Sink(
            conn,
            RescueEvent.__table__,
            "id rescue_id at actor_id kind from_status to_status",
            [self.rescues],
        )
        self.usedcars = Sink(
            conn,
            UsedCarRequest.__table__,
            "id owner_id store_id vehicle_id vin brand series model_year mileage_km "
            "first_registered_on asking_price_fen status expert_id grade valuation_low_fen "
            "valuation_high_fen created_at updated_at listed_at",
            [vehicles],
        )
        self.inquiries = Sink(
            conn,
            UsedCarLead.__table__,
            "id request_id store_id advisor_id name phone message status ip created_at",
            [self.usedcars],
        )
        self.loans = Sink(
            conn,
            Loan.__table__,
            "id customer_id vehicle_id store_id lender principal_fen annual_rate_bp "
            "term_months start_date status created_by_id created_at",
            [vehicles],
        )
        self.policies = Sink(
            conn,
            InsurancePolicy.__table__,
            "id customer_id vehicle_id store_id insurer policy_number policy_number_hash coverage "
            "premium_fen starts_on ends_on created_by_id created_at",
            [vehicles],
        )
        self.ids: Counter[str] = Counter()
        self.sales = Sales(conn, users, setup, self.past, base)

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.base + self.ids[table]

    def past(self, rng: random.Random, since: datetime, days: int = 3 * 365) -> datetime:
        start = max(since, self.when - timedelta(days=days))
        span = max(int((self.when - start).total_seconds()), 60)
        return start + timedelta(seconds=rng.randrange(span))

    def add(self, rng: random.Random, customer: dict) -> None:
        for car in customer["cars"]:
            if rng.random() < 0.015:
                self.add_rescue(rng, customer, car)
            if rng.random() < 0.012:
                self.add_usedcar(rng, customer, car)
            if rng.random() < 0.22 and car["purchase"] > self.today - timedelta(days=6 * 365):
                self.add_loan(rng, customer, car)
            if rng.random() < 0.55:
                self.add_policies(rng, customer, car)
        self.sales.add(rng, customer)

    def add_rescue(self, rng: random.Random, customer: dict, car: dict) -> None:
        store = customer["store"]
        rid = self.next_id("rescues")
        at = self.past(rng, customer["joined"])
        status = rng.choices(("resolved", "cancelled", "received", "dispatched"), (88, 9, 2, 1))[0]
        if at < self.when - timedelta(days=1) and status in ("received", "dispatched"):
            status = "resolved"
        advisor = None if status in ("received", "cancelled") else rng.choice(store["advisors"])
        claimed = at + timedelta(minutes=rng.randint(1, 6)) if advisor else None
        dispatched = claimed + timedelta(minutes=rng.randint(2, 15)) if advisor else None
        on_site = (
            dispatched + timedelta(minutes=rng.randint(15, 70)) if status == "resolved" else None
        )
        resolved = on_site + timedelta(minutes=rng.randint(10, 90)) if on_site else None
        cancelled = at + timedelta(minutes=rng.randint(1, 20)) if status == "cancelled" else None
        lat = store["lat"] + rng.uniform(-0.2, 0.2)
        lon = store["lon"] + rng.uniform(-0.2, 0.2)
        self.rescues.add(
            (
                rid,
                customer["id"],
                car["id"],
                store["id"],
                status,
                _pick(rng, RESCUE_PROBLEMS),
                "",
                customer["phone"],
                lat,
                lon,
                rng.randint(5, 80),
                "",
                f"bench-{rid}",
                advisor,
                claimed,
                dispatched,
                on_site,
                resolved,
                cancelled,
                at,
                resolved or cancelled or dispatched or at,
            )
        )
        steps = [(at, None, None, "received")]
        if claimed:
            steps += [
                (claimed, advisor, "received", "claimed"),
                (dispatched, advisor, "claimed", "dispatched"),
            ]
        if resolved:
            steps += [
                (on_site, advisor, "dispatched", "on_site"),
                (resolved, advisor, "on_site", "resolved"),
            ]
        if cancelled:
            steps.append((cancelled, customer["id"], "received", "cancelled"))
        for when, actor, old, new in steps:
            self.rescue_events.add((self.next_id("rescue_events"), rid, when, actor, new, old, new))
        if claimed:
            self.history.add_staff_audit(
                claimed, advisor, store["id"], "rescue_claimed", "Rescue", rid
            )
        if resolved:
            self.history.add_staff_audit(
                resolved, advisor, store["id"], "rescue_resolved", "Rescue", rid
            )

    def add_usedcar(self, rng: random.Random, customer: dict, car: dict) -> None:
        store = customer["store"]
        rid = self.next_id("usedcars")
        at = self.past(rng, customer["joined"], 2 * 365)
        status = _pick(rng, USEDCAR_STATUSES)
        reviewed = status not in ("submitted",)
        graded = status in ("approved", "listed", "sold", "withdrawn")
        km = max(int((at.date() - car["purchase"]).days * car["km_per_day"]), 100)
        price = max(3_000_000, 18_000_000 - km * 60 + rng.randint(-2_000_000, 2_000_000))
        listed = at + timedelta(days=rng.randint(2, 10)) if status in ("listed", "sold") else None
        self.usedcars.add(
            (
                rid,
                customer["id"],
                store["id"],
                car["id"],
                car["vin"],
                car["brand"],
                car["series"],
                car["year"],
                km,
                car["purchase"],
                price,
                status,
                rng.choice(store["advisors"]) if reviewed else None,
                rng.choice("ABCD") if graded else None,
                price * 85 // 100 if graded else None,
                price * 105 // 100 if graded else None,
                at,
                listed or at + timedelta(days=1),
                listed,
            )
        )
        if listed:
            for _ in range(rng.choice((0, 1, 1, 2, 3, 5))):
                self.inquiries.add(
                    (
                        self.next_id("inquiries"),
                        rid,
                        store["id"],
                        rng.choice(store["advisors"]),
                        chinese_name(rng),
                        f"159{rng.randint(0, 99_999_999):08d}",
                        "请问车还在吗？",
                        rng.choice(("new", "contacted", "closed")),
                        "10.9.8.7",
                        listed + timedelta(hours=rng.randint(1, 500)),
                    )
                )

    def add_loan(self, rng: random.Random, customer: dict, car: dict) -> None:
        store = customer["store"]
        term = rng.choice((12, 24, 36, 36, 48, 60))
        ends = car["purchase"] + timedelta(days=term * 30)
        status = "active" if ends > self.today else "paid_off"
        self.loans.add(
            (
                self.next_id("loans"),
                customer["id"],
                car["id"],
                store["id"],
                rng.choice(LENDERS),
                rng.randint(50_000, 250_000) * 100,
                rng.randint(250, 800),
                term,
                car["purchase"],
                status,
                store["manager"],
                datetime.combine(car["purchase"], time(3), tzinfo=UTC),
            )
        )

    def add_policies(self, rng: random.Random, customer: dict, car: dict) -> None:
        store = customer["store"]
        starts = car["purchase"]
        while starts + timedelta(days=365) < self.today - timedelta(days=3 * 365):
            starts += timedelta(days=365)
        insurer = rng.choice(INSURERS)
        while starts <= self.today:
            pid = self.next_id("policies")
            ends = starts + timedelta(days=365)
            number = f"PDAA{starts.year}{pid:010d}"
            self.policies.add(
                (
                    pid,
                    customer["id"],
                    car["id"],
                    store["id"],
                    insurer,
                    number,
                    policy_number_hash(number),
                    rng.choice(("combined", "combined", "compulsory")),
                    rng.randint(950, 6800) * 100,
                    starts,
                    ends,
                    store["manager"],
                    datetime.combine(starts, time(2), tzinfo=UTC),
                )
            )
            starts = ends

    def close(self) -> dict[str, int]:
        counts = close(
            self.rescues,
            self.rescue_events,
            self.usedcars,
            self.inquiries,
            self.loans,
            self.policies,
        )
        return {**counts, **self.sales.close()}


def add_sessions(
    conn: Connection, specs: list[dict], completed: list[tuple[int, int, int, datetime]]
) -> dict[str, int]:
    """Viewing sessions of recent completed bookings: the owner watched the bay's camera."""
    rng = random.Random(len(completed))
    by_id = {s["id"]: s for s in specs}
    sessions = Sink(
        conn,
        VideoSession.__table__,
        "id booking_id viewer_id store_id camera_id assigned_by_id status requested_at "
        "assigned_at started_at last_seen_at ended_at end_reason duration_s",
    )
    for session_id, (booking_id, owner_id, store_id, slot) in enumerate(completed, start=1):
        camera = rng.choice(by_id[store_id]["cameras"])
        asked = slot + timedelta(minutes=rng.randint(20, 120))
        started = asked + timedelta(seconds=rng.randint(5, 90))
        seconds = rng.randint(30, 1500)
        ended = started + timedelta(seconds=seconds)
        sessions.add(
            (
                session_id,
                booking_id,
                owner_id,
                store_id,
                camera,
                by_id[store_id]["manager"],
                "ended",
                asked,
                asked,
                started,
                ended,
                ended,
                rng.choice(("stopped", "job_done", "closed")),
                seconds,
            )
        )
    return close(sessions)
