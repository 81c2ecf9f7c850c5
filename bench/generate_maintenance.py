"""Maintenance history at scale: service records with plan items, and the aggregates built
from them (vehicle_item_states, maintenance_due_events, maintenance_uptake) in bulk.

Each vehicle's visits are simulated and replayed in memory through a copy of the rules of
portal.services.maintenance: ``record_done`` for every item of every service record (in the
order the records were completed, items by code), then ``sync_vehicle`` once at generation
time. The stores' system went live GO_LIVE_DAYS ago: what a car had done before that is
summarised as "last done" (a vehicle_item_states row) without due events, as a data import
would. tests/bench/test_generate_maintenance.py replays the generated service records through
the real service functions on a small dataset and checks that both give the same rows.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Connection, select

from portal.demo import maintenance as demo_maintenance
from portal.extensions import db
from portal.models import (
    DueEvent,
    MaintenancePlan,
    ServiceItem,
    ServiceRecord,
    UptakeStat,
    User,
    Vehicle,
    VehicleItemState,
)
from portal.models.maintenance import ALL
from portal.services.maintenance import DuePoint, due_point

GO_LIVE_DAYS = 2 * 365
ON_TIME = 0.8  # share of visits made within the window of the first item due
EARLY = 0.25  # chance that an item merely due soon is done at a visit anyway
SHARES = {row[0]: row[8] for row in demo_maintenance.DEFAULT_ITEMS + demo_maintenance.EV_ITEMS}
BEFORE, INSIDE, AFTER = "before", "inside", "after"
TABLES = [ServiceRecord.__table__, ServiceItem.__table__, DueEvent.__table__]


@dataclass(frozen=True)
class Item:
    """A plan item as plain values (due_point reads the same attribute names)."""

    code: str
    name: str
    interval_km: int | None
    interval_months: int | None
    first_due_km: int | None
    first_due_months: int | None
    price_fen: int


@dataclass(frozen=True)
class Rules:
    window_km: int
    window: timedelta
    soon_km: int
    soon_window: timedelta

    @classmethod
    def from_config(cls) -> Rules:
        cfg = current_app.config
        return cls(
            cfg["MAINTENANCE_WINDOW_KM"],
            timedelta(days=cfg["MAINTENANCE_WINDOW_DAYS"]),
            cfg["MAINTENANCE_SOON_KM"],
            timedelta(days=cfg["MAINTENANCE_SOON_DAYS"]),
        )

    def where(self, point: DuePoint, km: int, day: date) -> str:
        """The service's window_status, without the config lookups."""
        if (point.km is not None and km > point.km + self.window_km) or (
            point.day is not None and day > point.day + self.window
        ):
            return AFTER
        if (point.km is not None and km >= point.km - self.window_km) or (
            point.day is not None and day >= point.day - self.window
        ):
            return INSIDE
        return BEFORE

    def is_soon(self, point: DuePoint, km: int, day: date) -> bool:
        return (point.km is not None and km >= point.km - self.soon_km) or (
            point.day is not None and day >= point.day - self.soon_window
        )


class Replay:
    """One vehicle's item states and due events, kept as record_done and sync_vehicle would."""

    def __init__(self, items: list[Item], purchase: date | None, rules: Rules) -> None:
        self.items = {i.code: i for i in items}
        self.purchase, self.rules = purchase, rules
        self.states: dict[str, tuple[int, datetime]] = {}
        self.events: dict[tuple[str, str], list[Any]] = {}  # [point, status, opened, resolved]
        self.counts: Counter[tuple[str, bool]] = Counter()

    def point(self, item: Item) -> DuePoint:
        state = self.states.get(item.code)
        return due_point(
            item,
            last_km=state[0] if state else None,
            last_day=state[1].date() if state else None,
            purchase_day=self.purchase,
        )

    def _open(self, code: str, point: DuePoint, when: datetime) -> list[Any]:
        """_open_event: the event of this due point, created open if it is new."""
        return self.events.setdefault((code, point.key), [point, "open", when, None])

    def _resolve(self, code: str, event: list[Any], status: str, when: datetime) -> None:
        """_resolve: only an open event is resolved, and counted once."""
        if event[1] != "open":
            return
        event[1], event[3] = status, when
        if status in ("taken", "missed"):
            self.counts[(code, status == "taken")] += 1

    def done(self, code: str, km: int, done_at: datetime) -> None:
        """record_done: resolve the item's event and move its due point on."""
        item, state = self.items.get(code), self.states.get(code)
        if item is not None:
            point = self.point(item)
            where = self.rules.where(point, km, done_at.date())
            if where != BEFORE:
                event = self._open(code, point, done_at)
                self._resolve(code, event, "taken" if where == INSIDE else "missed", done_at)
            else:
                for (c, _key), event in self.events.items():
                    if c == code:
                        self._resolve(code, event, "superseded", done_at)
        if state is None or km >= state[0]:
            self.states[code] = (km, done_at)

    def sync(self, current_km: int, today: date, when: datetime) -> None:
        """sync_vehicle: open the events of points reached; the window passed means missed."""
        for item in self.items.values():
            point = self.point(item)
            where = self.rules.where(point, current_km, today)
            reached = (point.km is not None and current_km >= point.km) or (
                point.day is not None and today >= point.day
            )
            if reached or where == AFTER:
                event = self._open(item.code, point, when)
                if where == AFTER:
                    self._resolve(item.code, event, "missed", when)


def seed_states(
    rng: random.Random, items: list[Item], purchase: date, go_live: date, per_day: float
) -> dict[str, tuple[int, datetime]]:
    """Return what was last done before go-live: somewhere in the last interval of each item."""
    if purchase >= go_live:
        return {}
    live_km = int((go_live - purchase).days * per_day)
    seeds = {}
    for item in items:
        step = item.interval_km or int((item.interval_months or 12) * 30.4 * per_day)
        km = live_km - rng.randint(0, max(step * 9 // 10, 1))
        if km > 0:
            day = purchase + timedelta(days=int(km / per_day))
            seeds[item.code] = (km, datetime.combine(day, time(3, 0), tzinfo=UTC))
    return seeds


def simulate(
    rng: random.Random,
    items: list[Item],
    purchase: date,
    current_km: int,
    today: date,
    rules: Rules,
) -> tuple[dict[str, tuple[int, datetime]], list[tuple[int, datetime, list[str]]], Replay]:
    """Return a vehicle's seeded states, its visits (km, time, codes) and their replay."""
    per_day = max(current_km / max((today - purchase).days, 1), 1.0)
    go_live = today - timedelta(days=GO_LIVE_DAYS)
    seeds = seed_states(rng, items, purchase, go_live, per_day)
    replay = Replay(items, purchase, rules)
    replay.states = dict(seeds)
    visits: list[tuple[int, datetime, list[str]]] = []
    km = int(max((go_live - purchase).days, 0) * per_day)

    def point_km(point: DuePoint) -> int:
        by_day = int((point.day - purchase).days * per_day) if point.day else None
        return min(k for k in (point.km, by_day) if k is not None)

    points = {i.code: replay.point(i) for i in items}
    while True:
        first = min(point_km(p) for p in points.values())
        late = rng.random() > ON_TIME
        visit = max(first + (rng.randint(1500, 6000) if late else rng.randint(-600, 600)), km + 500)
        if visit >= current_km - 200:
            break
        day = purchase + timedelta(days=int(visit / per_day))
        codes = []
        for item in items:
            point = points[item.code]
            if rules.where(point, visit, day) != BEFORE:
                if rng.random() < SHARES.get(item.code, 0.7):
                    codes.append(item.code)
            elif rules.is_soon(point, visit, day) and rng.random() < EARLY:
                codes.append(item.code)
        if codes:
            done_at = datetime.combine(day, time(3, 0), tzinfo=UTC) + timedelta(
                minutes=rng.randint(0, 600)
            )
            codes.sort()
            visits.append((visit, done_at, codes))
            for code in codes:
                replay.done(code, visit, done_at)
                points[code] = replay.point(replay.items[code])
        km = visit
    return seeds, visits, replay


# -- loading ---------------------------------------------------------------------------------


def plan_items() -> tuple[dict[tuple[str, str], list[Item]], list[Item]]:
    """Load the demo plans once and return them as plain items: by model, and the default."""
    demo_maintenance.load_plans()
    db.session.flush()
    by_model, default = {}, []
    for plan in db.session.scalars(select(MaintenancePlan)):
        items = [
            Item(
                i.code,
                i.name,
                i.interval_km,
                i.interval_months,
                i.first_due_km,
                i.first_due_months,
                i.typical_price_fen,
            )
            for i in plan.items
        ]
        if plan.is_default:
            default = items
        else:
            by_model[(plan.brand, plan.series)] = items
    return by_model, default


def vehicle_rng(seed: int, vehicle_id: int) -> random.Random:
    """Each vehicle draws from its own stream, so one car's history can be rebuilt alone."""
    return random.Random(seed * 1_000_003 + vehicle_id)


class _Rows:
    """Rows waiting for the next bulk load, with the ids they take."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.lines: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.states: list[dict[str, Any]] = []
        self.ids = Counter()

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def add_car(self, car: Any, visits: list, replay: Replay) -> None:
        for km, done_at, codes in visits:
            done = [replay.items[c] for c in codes]
            record_id = self.next_id("records")
            self.records.append(
                {
                    "id": record_id,
                    "booking_id": None,
                    "vehicle_id": car.id,
                    "store_id": car.store_id,
                    "advisor_id": car.advisor_id,
                    "mileage_km": km,
                    "fault_category": "maintenance",
                    "technician_note": "",
                    "total_fen": sum(i.price_fen for i in done),
                    "completed_at": done_at,
                }
            )
            self.lines += [
                {
                    "id": self.next_id("lines"),
                    "record_id": record_id,
                    "kind": "part",
                    "description": item.name,
                    "part_no": "",
                    "plan_item_code": item.code,
                    "quantity": 1,
                    "unit_price_fen": item.price_fen,
                }
                for item in done
            ]
        self.events += [
            {
                "id": self.next_id("events"),
                "vehicle_id": car.id,
                "code": code,
                "brand": car.brand,
                "series": car.series,
                "due_key": key,
                "due_km": point.km,
                "due_date": point.day,
                "status": status,
                "opened_at": opened,
                "resolved_at": resolved,
            }
            for (code, key), (point, status, opened, resolved) in replay.events.items()
        ]
        self.states += [
            {"vehicle_id": car.id, "code": code, "last_km": km, "last_done_at": done_at}
            for code, (km, done_at) in replay.states.items()
        ]

    def load(self, conn: Connection, load: Callable) -> None:
        for table, rows in (
            (ServiceRecord.__table__, self.records),
            (ServiceItem.__table__, self.lines),
            (DueEvent.__table__, self.events),
            (VehicleItemState.__table__, self.states),
        ):
            if rows:
                load(conn, table, rows)
            self.ids[table.name] += len(rows)
            rows.clear()


def uptake_rows(counts: Counter[tuple[str, str, str, bool]]) -> list[dict[str, Any]]:
    """Return the maintenance_uptake rows of resolved-event counts (model and all models)."""
    stats: dict[tuple[str, str, str], list[int]] = {}
    for (code, brand, series, taken), n in counts.items():
        for key in ((code, brand, series), (code, ALL, ALL)):
            row = stats.setdefault(key, [0, 0])
            row[0] += n if taken else 0
            row[1] += n
    return [
        {"code": c, "brand": b, "series": s, "taken": t, "total": n}
        for (c, b, s), (t, n) in sorted(stats.items())
    ]


def insert_maintenance(
    conn: Connection, load: Callable, seed: int, when: datetime
) -> dict[str, int]:
    """Fill the maintenance tables of every vehicle in bulk; return the row counts."""
    rules = Rules.from_config()
    today = when.astimezone(ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])).date()
    by_model, default = plan_items()
    cars = conn.execute(
        select(
            Vehicle.id,
            Vehicle.brand,
            Vehicle.series,
            Vehicle.purchase_date,
            Vehicle.current_km,
            User.store_id,
            User.advisor_id,
        )
        .join(User, User.id == Vehicle.owner_id)
        .order_by(Vehicle.id)
    ).all()
    rows, counts = _Rows(), Counter()
    for car in cars:
        items = by_model.get((car.brand, car.series), default)
        if not items or car.purchase_date is None:
            continue
        rng = vehicle_rng(seed, car.id)
        _seeds, visits, replay = simulate(
            rng, items, car.purchase_date, car.current_km, today, rules
        )
        replay.sync(car.current_km, today, when)
        rows.add_car(car, visits, replay)
        for (code, taken), n in replay.counts.items():
            counts[(code, car.brand, car.series, taken)] += n
        if len(rows.lines) >= 50_000:
            rows.load(conn, load)
    rows.load(conn, load)
    uptake = uptake_rows(counts)
    load(conn, UptakeStat.__table__, uptake)
    return {
        "service_records": rows.ids["service_records"],
        "service_items": rows.ids["service_items"],
        "due_events": rows.ids["maintenance_due_events"],
        "item_states": rows.ids["vehicle_item_states"],
        "uptake_rows": len(uptake),
    }
