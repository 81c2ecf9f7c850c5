"""Each car's service history for the group dataset: service records with their items, the
bookings of the last three years (when the portal went live), ratings, mileage readings, a few
upcoming bookings, and the customers' audit trail.

Visits follow the seasons of a Chinese workshop: busy before the Spring Festival, quiet during
it, busy again in the summer (air conditioning) and before the National Day holiday.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection

from bench.sink import Sink, close
from portal.models import (
    AuditEvent,
    Booking,
    MileageReading,
    Rating,
    ServiceItem,
    ServiceRecord,
    SlotUsage,
)

LIVE_DAYS = 3 * 365  # the portal's bookings, ratings and audit trail start here
MONTH_WEIGHT = (0, 1.35, 0.55, 0.9, 0.95, 0.9, 1.0, 1.25, 1.15, 1.3, 0.8, 0.95, 1.2)
FAULTS = (
    ("maintenance", 46),
    ("brakes", 9),
    ("tyres", 9),
    ("electrical", 7),
    ("air_conditioning", 7),
    ("suspension", 5),
    ("engine", 5),
    ("body", 6),
    ("transmission", 2),
    ("other", 4),
)
# Parts by fault: description, part number prefix, price in fen.
PARTS = {
    "maintenance": [
        ("机油 5W-30 4L", "OIL", 36000),
        ("机油滤清器", "OF", 6800),
        ("空气滤清器", "AF", 9800),
        ("空调滤芯", "CF", 12800),
        ("火花塞", "SP", 16000),
        ("刹车油", "BF", 18000),
    ],
    "brakes": [("前刹车片", "BP", 68000), ("后刹车片", "BP", 52000), ("刹车盘", "BD", 98000)],
    "tyres": [("轮胎 225/55R17", "TY", 89000), ("四轮定位", "AL", 20000)],
    "electrical": [("蓄电池 60Ah", "BT", 78000), ("大灯总成", "HL", 210000)],
    "air_conditioning": [("空调冷媒加注", "AC", 28000), ("空调压缩机", "CP", 420000)],
    "suspension": [("减震器", "SH", 115000), ("下摆臂", "CA", 68000)],
    "engine": [("正时皮带套件", "TB", 168000), ("水泵", "WP", 86000), ("点火线圈", "IC", 42000)],
    "body": [("前保险杠喷漆", "PT", 120000), ("钣金修复", "PN", 80000)],
    "transmission": [("变速箱油", "TF", 98000), ("离合器片", "CL", 260000)],
    "other": [("雨刮片", "WB", 9800), ("玻璃水", "WW", 2000)],
}
LABOUR = {"maintenance": 20000, "body": 60000, "engine": 80000, "transmission": 90000}
NOT_DONE = (("cancelled", 55), ("no_show", 25), ("rejected", 20))
REJECT_REASONS = ("no_capacity", "parts_unavailable", "other")
COMMENTS = (
    "",
    "",
    "",
    "服务很好，师傅很专业。",
    "等待时间有点长。",
    "顾问沟通及时，满意。",
    "价格透明，下次还来。",
)


BOOKING_COLUMNS = (
    "id owner_id vehicle_id store_id slot_start status service_types description "
    "advisor_id decided_at decision_reason checkin_km created_at updated_at"
)


class History:
    """The sinks of the history tables, and the counters that hand out their ids."""

    def __init__(
        self, conn: Connection, people: Any, setup: Any, when: datetime, base: int = 0
    ) -> None:
        self.when, self.today = when, when.date()
        self.base = base  # this stream's ids start after it (bench.group: one range per chunk)
        self.live = self.today - timedelta(days=LIVE_DAYS)
        self.setup = setup
        users, vehicles = people.users, people.vehicles
        self.bookings = Sink(conn, Booking.__table__, BOOKING_COLUMNS, parents=[vehicles])
        self.records = Sink(
            conn,
            ServiceRecord.__table__,
            "id booking_id vehicle_id store_id advisor_id mileage_km fault_category "
            "technician_note total_fen completed_at",
            parents=[self.bookings],
        )
        self.items = Sink(
            conn,
            ServiceItem.__table__,
            "id record_id kind description part_no quantity unit_price_fen",
            parents=[self.records],
        )
        self.ratings = Sink(
            conn,
            Rating.__table__,
            "id booking_id store_id owner_id advisor_id service_stars advisor_stars comment "
            "created_at",
            parents=[self.bookings],
        )
        self.readings = Sink(
            conn, MileageReading.__table__, "id vehicle_id km source recorded_at", [vehicles]
        )
        self.audit = Sink(
            conn,
            AuditEvent.__table__,
            "id at actor_id store_id action target_type target_id ip detail",
            parents=[users],
        )
        self.ids: Counter[str] = Counter()
        # Upcoming bookings wait for the whole group (their slots' capacity is group-wide):
        # booking rows without their id, in the order they were made.
        self.upcoming: list[tuple] = []
        self.completed: list[tuple[int, int, int, datetime]] = []  # recent, for video sessions

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.base + self.ids[table]

    def visit_days(self, rng: random.Random, start: date, n: int) -> list[date]:
        """Return n visit days after start, weighted by the workshop's seasons."""
        span = (self.today - start).days - 1
        days: list[date] = []
        while len(days) < n and span > 0:
            day = start + timedelta(days=rng.randint(1, span))
            if rng.random() * 1.4 < MONTH_WEIGHT[day.month]:
                days.append(day)
        return sorted(days)

    def add(self, rng: random.Random, customer: dict) -> None:
        """Write the service history, bookings and audit trail of one customer."""
        for car in customer["cars"]:
            self.add_car(rng, customer, car)
        self.add_audit(rng, customer)

    def add_car(self, rng: random.Random, customer: dict, car: dict) -> None:
        years = (self.today - car["purchase"]).days / 365
        n = 0
        if customer["profile"] != "new":
            n = int(years * rng.lognormvariate(0.35, 0.5) + rng.random())
        store = customer["store"]
        kms = []
        for day in self.visit_days(rng, car["purchase"] + timedelta(days=20), n):
            km = max(int((day - car["purchase"]).days * car["km_per_day"]), 50)
            kms.append((day, km))
            self.add_record(rng, customer, car, store, day, km)
        if day_km := kms[-3:]:
            for day, km in day_km:
                self.readings.add(
                    (
                        self.next_id("readings"),
                        car["id"],
                        km,
                        "service",
                        datetime.combine(day, time(8), tzinfo=UTC),
                    )
                )
        km_now = int((self.today - car["purchase"]).days * car["km_per_day"])
        self.readings.add(
            (
                self.next_id("readings"),
                car["id"],
                km_now,
                "owner",
                self.when - timedelta(days=rng.randint(1, 60)),
            )
        )
        if rng.random() < 0.012:
            self.add_upcoming(rng, customer, car, store)

    def pick_advisor(self, rng: random.Random, customer: dict, store: dict) -> int:
        return customer["advisor"] if rng.random() < 0.7 else rng.choice(store["advisors"])

    def add_record(
        self, rng: random.Random, customer: dict, car: dict, store: dict, day: date, km: int
    ) -> None:
        from bench.group import utc

        fault = rng.choices([f for f, _ in FAULTS], [w for _, w in FAULTS])[0]
        advisor = self.pick_advisor(rng, customer, store)
        zone = store["timezone"]
        slot = utc(day, 8.5 + rng.randrange(9), zone)
        done_at = slot + timedelta(minutes=rng.randint(60, 360))
        booking_id = None
        if day >= self.live:
            booking_id = self.add_booking(rng, customer, car, store, slot, "completed", advisor)
            if rng.random() < 0.25:
                self.ratings.add(
                    (
                        self.next_id("ratings"),
                        booking_id,
                        store["id"],
                        customer["id"],
                        advisor,
                        rng.choices((5, 4, 3, 2, 1), (60, 25, 9, 4, 2))[0],
                        rng.choices((5, 4, 3, 2, 1), (65, 22, 8, 3, 2))[0],
                        rng.choice(COMMENTS),
                        done_at + timedelta(hours=rng.randint(1, 72)),
                    )
                )
            if day >= self.today - timedelta(days=365) and rng.random() < 0.08:
                self.completed.append((booking_id, customer["id"], store["id"], slot))
            if rng.random() < 0.12:  # a booking that did not happen, some weeks earlier
                status = rng.choices([s for s, _ in NOT_DONE], [w for _, w in NOT_DONE])[0]
                earlier = slot - timedelta(days=rng.randint(7, 40))
                if earlier.date() >= self.live:
                    self.add_booking(rng, customer, car, store, earlier, status, advisor)
        record_id = self.next_id("records")
        labour = LABOUR.get(fault, 30000) * rng.choice((1, 1, 1, 2))
        lines = [("labour", "工时费", "", 1, labour)]
        for desc, prefix, price in rng.sample(
            PARTS[fault], k=min(len(PARTS[fault]), rng.choice((0, 1, 1, 1, 2)))
        ):
            lines.append(
                ("part", desc, f"{prefix}-{rng.randint(1000, 9999)}", rng.choice((1, 1, 2)), price)
            )
        total = sum(qty * price for _kind, _desc, _no, qty, price in lines)
        self.records.add(
            (record_id, booking_id, car["id"], store["id"], advisor, km, fault, "", total, done_at)
        )
        for kind, desc, part_no, qty, price in lines:
            self.items.add((self.next_id("items"), record_id, kind, desc, part_no, qty, price))

    def add_booking(
        self,
        rng: random.Random,
        customer: dict,
        car: dict,
        store: dict,
        slot: datetime,
        status: str,
        advisor: int | None,
    ) -> int:
        booking_id = self.next_id("bookings")
        self.bookings.add(
            (booking_id, *self.booking_row(rng, customer, car, store, slot, status, advisor))
        )
        return booking_id

    def booking_row(
        self,
        rng: random.Random,
        customer: dict,
        car: dict,
        store: dict,
        slot: datetime,
        status: str,
        advisor: int | None,
    ) -> tuple:
        """Return a booking's row without its id."""
        created = slot - timedelta(hours=rng.randint(3, 240))
        decided = (
            None
            if status in ("submitted", "cancelled")
            else created + timedelta(minutes=rng.randint(5, 600))
        )
        if status in ("submitted", "cancelled"):
            advisor = None
        km = None
        if status == "completed":
            km = int((slot.date() - car["purchase"]).days * car["km_per_day"])
        service = (
            ["maintenance"]
            if rng.random() < 0.6
            else [rng.choice(("repair", "inspection", "bodywork", "tyres"))]
        )
        reason = rng.choice(REJECT_REASONS) if status == "rejected" else None
        return (
            customer["id"],
            car["id"],
            store["id"],
            slot,
            status,
            service,
            "",
            advisor,
            decided,
            reason,
            km,
            created,
            decided or created,
        )

    def add_upcoming(self, rng: random.Random, customer: dict, car: dict, store: dict) -> None:
        """A booking in the next two weeks that would hold its slot: kept in upcoming, and
        written by add_upcoming_bookings only while the slot has a free bay."""
        from bench.group import utc

        day = self.today + timedelta(days=rng.randint(1, 14))
        slot = utc(day, 8.5 + rng.randrange(9), store["timezone"])
        status = "accepted" if rng.random() < 0.6 else "submitted"
        advisor = self.pick_advisor(rng, customer, store)
        self.upcoming.append(self.booking_row(rng, customer, car, store, slot, status, advisor))

    def add_audit(self, rng: random.Random, customer: dict) -> None:
        """Registration, logins over the last three years, now and then a wrong password."""
        store_id = customer["store"]["id"]
        joined = max(customer["joined"], datetime.combine(self.live, time(1), tzinfo=UTC))
        span = max(int((self.when - joined).total_seconds()), 3600)
        ip = f"10.{customer['index'] % 250}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        events = [(joined, "register", {})]
        for _ in range(int(rng.expovariate(1 / 4.2))):
            at = joined + timedelta(seconds=rng.randrange(span))
            if rng.random() < 0.08:
                events.append((at, "login_failed", {"reason": "password"}))
            events.append((at + timedelta(seconds=20), "login", {}))
        for at, action, detail in sorted(events, key=lambda e: e[0]):
            self.audit.add(
                (
                    self.next_id("audit"),
                    at,
                    customer["id"],
                    store_id,
                    action,
                    "User",
                    customer["id"],
                    ip,
                    detail,
                )
            )

    def add_staff_audit(
        self, at: datetime, actor: int, store: int, action: str, target: str, target_id: int
    ) -> None:
        self.audit.add(
            (self.next_id("audit"), at, actor, store, action, target, target_id, "10.200.0.8", {})
        )

    def close(self) -> dict[str, int]:
        return close(
            self.bookings, self.records, self.items, self.ratings, self.readings, self.audit
        )


def add_upcoming_bookings(
    conn: Connection, specs: list[dict], upcoming: list[tuple], first_id: int
) -> dict[str, int]:
    """Write the upcoming bookings in the order they were made while their slot has a free bay,
    and the slots' usage; return the rows written per table."""
    bays = {s["id"]: s["bays"] for s in specs}
    bookings = Sink(conn, Booking.__table__, BOOKING_COLUMNS)
    slots: Counter[tuple[int, datetime]] = Counter()
    booking_id = first_id
    for row in upcoming:
        key = (row[2], row[3])  # store_id, slot_start
        if slots[key] >= bays[key[0]]:
            continue
        slots[key] += 1
        bookings.add((booking_id, *row))
        booking_id += 1
    usage = Sink(conn, SlotUsage.__table__, "store_id starts_at capacity used")
    for (store_id, slot), used in sorted(slots.items()):
        usage.add((store_id, slot, bays[store_id], used))
    return close(bookings, usage)
