"""The bench's bulk-built maintenance aggregates equal what the real service functions build.

A small dataset is generated with maintenance history; then its aggregates are thrown away
and rebuilt the slow, real way: the pre-go-live "last done" states, every generated service
record through portal.services.maintenance.on_service_record in completion order, and
sync_vehicle for every car at the generation time. Both must give the same rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select

from bench import generate as gen
from bench import generate_maintenance as maint
from portal.extensions import db as _db
from portal.models import (
    DueEvent,
    ServiceItem,
    ServiceRecord,
    UptakeStat,
    Vehicle,
    VehicleItemState,
)
from portal.services import maintenance as svc
from portal.timeutil import set_clock

OWNERS, VEHICLES, SEED = 60, 90, 11
WHEN = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)

pytestmark = [  # the same two deprecations outside bench/ as in test_generate.py
    pytest.mark.filterwarnings(
        "ignore:Passing a session object directly is deprecated:DeprecationWarning"
    ),
    pytest.mark.filterwarnings("ignore:'get_engine' is deprecated:DeprecationWarning"),
]


def snapshot() -> dict[str, set]:
    """Return the maintenance aggregates as comparable sets."""
    s = _db.session
    return {
        "states": set(
            s.execute(
                select(
                    VehicleItemState.vehicle_id,
                    VehicleItemState.code,
                    VehicleItemState.last_km,
                    VehicleItemState.last_done_at,
                )
            ).all()
        ),
        "events": set(
            s.execute(
                select(
                    DueEvent.vehicle_id,
                    DueEvent.code,
                    DueEvent.brand,
                    DueEvent.series,
                    DueEvent.due_key,
                    DueEvent.due_km,
                    DueEvent.due_date,
                    DueEvent.status,
                )
            ).all()
        ),
        "uptake": set(
            s.execute(
                select(
                    UptakeStat.code,
                    UptakeStat.brand,
                    UptakeStat.series,
                    UptakeStat.taken,
                    UptakeStat.total,
                )
            ).all()
        ),
    }


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('bench') / 'maintenance.db'}"
    set_clock(lambda: WHEN)
    try:
        result = gen.generate(url, OWNERS, VEHICLES, seed=SEED, maintenance=True)
    finally:
        set_clock(None)
    return url, result


def replay_through_services() -> None:
    """Rebuild the aggregates from the service records with the real service functions."""
    rules = maint.Rules.from_config()
    today = WHEN.astimezone(ZoneInfo("Asia/Shanghai")).date()
    vehicles = _db.session.scalars(select(Vehicle).order_by(Vehicle.id)).all()
    for vehicle in vehicles:  # what the stores knew at go-live, imported as "last done"
        plan = svc.plan_for(vehicle)
        items = [
            maint.Item(
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
        seeds, _visits, _replay = maint.simulate(
            maint.vehicle_rng(SEED, vehicle.id),
            items,
            vehicle.purchase_date,
            vehicle.current_km,
            today,
            rules,
        )
        for code, (km, done_at) in seeds.items():
            _db.session.add(
                VehicleItemState(vehicle_id=vehicle.id, code=code, last_km=km, last_done_at=done_at)
            )
    _db.session.flush()
    records = _db.session.scalars(
        select(ServiceRecord).order_by(ServiceRecord.completed_at, ServiceRecord.id)
    )
    for record in records:
        svc.on_service_record(record)
    for vehicle in vehicles:
        svc.sync_vehicle(vehicle)
    _db.session.flush()


def test_bulk_aggregates_equal_the_service_functions(dataset):
    url, result = dataset
    app = gen.bench_app(url)
    set_clock(lambda: WHEN)
    with app.app_context():
        try:
            bulk = snapshot()
            assert len(bulk["states"]) == result["item_states"] > 0
            assert len(bulk["events"]) == result["due_events"] > 0
            assert {e[-1] for e in bulk["events"]} >= {"open", "taken", "missed"}
            for table in (DueEvent, UptakeStat, VehicleItemState):
                _db.session.execute(delete(table))
            replay_through_services()
            real = snapshot()
        finally:
            _db.session.rollback()
            _db.session.remove()
            _db.engine.dispose()
            set_clock(None)
    assert real["states"] == bulk["states"]
    assert real["events"] == bulk["events"]
    assert real["uptake"] == bulk["uptake"]


def test_service_records_carry_plan_items(dataset):
    url, result = dataset
    app = gen.bench_app(url)
    with app.app_context():
        try:
            records = _db.session.scalar(select(func.count(ServiceRecord.id)))
            lines = _db.session.scalar(
                select(func.count(ServiceItem.id)).where(ServiceItem.plan_item_code.is_not(None))
            )
            empty = _db.session.scalar(
                select(func.count(ServiceRecord.id)).where(~ServiceRecord.items.any())
            )
        finally:
            _db.session.remove()
            _db.engine.dispose()
    assert records == result["service_records"] > VEHICLES
    assert lines == result["service_items"] >= records
    assert empty == 0
