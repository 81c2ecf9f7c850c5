"""Each store's daily figures kept by the worker: the group's comparison read from them equals
the raw count for every store and period, a late change to a day of the window is picked up
by the next run, the backfill widens the counted days, and two runs at once agree."""

from __future__ import annotations

import random
from dataclasses import asdict
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from admin import daily_stats, group_stats
from admin.daily_stats_models import (
    COUNTS,
    StoreContactMedian,
    StoreDailyStats,
    StoreStatsSpan,
)
from crm import complaints
from crm.models import LOST, WON, Lead
from crm.quality_models import Survey
from portal.extensions import db
from portal.models import ServiceRecord, UsedCarTransition
from portal.models.usedcars import APPROVED, REJECTED
from portal.timeutil import now
from portal.worker.jobs import JOBS
from shop.models import Order
from tests.test_access_matrix import _usedcar_samples
from tests.threads import at_once

URUMQI = "Asia/Urumqi"  # UTC+6: its days end two hours after Shanghai's


def _at(store, days_ago: int, hour: int, minute: int = 0) -> datetime:
    """Return the UTC time of hour:minute local, days_ago days before the store's today."""
    zone = ZoneInfo(store.timezone)
    day = now().astimezone(zone).date() - timedelta(days=days_ago)
    return datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(ZoneInfo("UTC"))


def _order(owner, store, n: int, total: int, paid_at, refunded: int = 0, status="paid"):
    order = Order(
        number=f"R{store.id}-{n}",
        user_id=owner.id,
        store_id=store.id,
        status=status,
        stock_state="sold",
        delivery="pickup",
        payment="store",
        total_fen=total,
        refunded_fen=refunded,
        hold_expires_at=paid_at,
        paid_at=paid_at,
    )
    db.session.add(order)
    return order


def _fill(f, store, rng: random.Random) -> dict:
    """Give the store figures of every kind on days up to 100 back, some near local midnight
    (23:30 and 00:30, so a day taken in the wrong zone shows), and some today."""
    owner, advisor = f.owner(store), f.advisor(store)
    days = [0, 0, 1, 2, 5, 13, 29, 31, 45, 60, 88, 89, 90, 95, 100]
    times = [(23, 30), (0, 30), (10, 0), (15, 45)]
    made = {"bookings": [], "leads": [], "orders": [], "complaints": []}
    for i, ago in enumerate(days):
        hour, minute = rng.choice(times)
        at = _at(store, ago, hour, minute)
        booking = f.booking(owner, store, days=i + 1)
        booking.created_at = at
        booking.status = rng.choice(["submitted", "completed", "no_show", "checked_in", "rejected"])
        made["bookings"].append(booking)
        if i % 2 == 0:
            db.session.add(
                Survey(
                    booking_id=booking.id,
                    customer_id=owner.id,
                    store_id=store.id,
                    answered_at=at + timedelta(hours=rng.choice([1, 30])),
                    nps=rng.choice([None, 2, 7, 9, 10]),
                    csi=rng.choice([None, 55, 80, 100]),
                )
            )
        lead = Lead(
            customer_id=f.owner(store).id,
            store_id=store.id,
            source="phone",
            created_at=at,
            arrived_at=at - timedelta(minutes=rng.choice([0, 5])) if i % 3 else None,
            first_contact_at=at + timedelta(minutes=rng.randint(1, 600)) if i % 4 else None,
            state=rng.choice([WON, LOST, "open"]),
        )
        db.session.add(lead)
        made["leads"].append(lead)
        made["orders"].append(
            _order(
                owner,
                store,
                i,
                rng.randint(1, 90_000),
                at,
                refunded=rng.choice([0, 0, 500]),
                status="cancelled" if i == 3 else "paid",
            )
        )
        db.session.add(
            ServiceRecord(
                vehicle_id=booking.vehicle_id,
                store_id=store.id,
                mileage_km=10_000 + i,
                total_fen=rng.randint(0, 200_000),
                completed_at=at + timedelta(minutes=50),
            )
        )
        if i % 3 == 0:
            complaint = complaints.open_complaint(
                owner, store, source="phone", category="waiting", severity="low", description="慢"
            )
            complaint.created_at = at
            made["complaints"].append(complaint)
    db.session.commit()
    car, _flag, _lead = _usedcar_samples(db, owner, advisor)
    for ago, status in ((3, REJECTED), (40, APPROVED), (0, APPROVED)):
        db.session.add(
            UsedCarTransition(
                request_id=car.id,
                to_status=status,
                actor_id=advisor.id,
                at=_at(store, ago, 23, 45),
            )
        )
    db.session.commit()
    return made


@pytest.fixture
def group(f):
    """Stores A and B in Shanghai and U in Urumqi, each with figures over 100 days."""
    rng = random.Random(21)
    stores = [f.store("A"), f.store("B"), f.store("U")]
    stores[2].timezone = URUMQI
    db.session.commit()
    made = {s.name: _fill(f, s, rng) for s in stores}
    return {"stores": stores, "made": made, "hq": f.hq()}


def _raw(viewer, key: str, at: datetime) -> list[dict]:
    """The figures counted from the raw rows, each store over its own zone's period."""
    rows = {}
    for zone in ("Asia/Shanghai", URUMQI):
        period = group_stats.period(key, at.astimezone(ZoneInfo(zone)).date(), zone)
        for row in group_stats.figures(viewer, period.start, period.end):
            rows.setdefault(row.name, {})[zone] = asdict(row)
    zones = {"A": "Asia/Shanghai", "B": "Asia/Shanghai", "U": URUMQI}
    return [rows[name][zones.get(name, "Asia/Shanghai")] for name in sorted(rows)]


def _rolled(viewer, key: str, at: datetime) -> list[dict]:
    """The figures the page reads, without when the worker took the median (raw has none)."""
    return [
        asdict(r) | {"contact_as_of": None} for r in daily_stats.period_figures(viewer, key, at)
    ]


def _assert_equal_for_every_period(viewer) -> None:
    at = now()
    for key in group_stats.PERIODS:
        raw = _raw(viewer, key, at)
        assert any(r["bookings"] for r in raw), key  # the world has figures in every period
        assert _rolled(viewer, key, at) == raw, key


def _rows() -> dict:
    stmt = select(StoreDailyStats).order_by(StoreDailyStats.store_id, StoreDailyStats.day)
    return {
        (r.store_id, r.day): tuple(getattr(r, c) for c in COUNTS) for r in db.session.scalars(stmt)
    }


def test_the_comparison_read_from_the_days_equals_the_raw_count(group, f):
    hq = group["hq"]
    _assert_equal_for_every_period(hq)  # nothing counted yet: all of it raw
    result = daily_stats.refresh_daily_stats()
    db.session.commit()
    assert result["store_days"] == db.session.scalar(select(func.count(StoreDailyStats.id))) > 30
    _assert_equal_for_every_period(hq)
    region = f.region("West", (group["stores"][2],))  # a regional manager: their store only
    names = [r["name"] for r in _rolled(f.regional(region), "90d", now())]
    assert names == ["U"]
    _assert_equal_for_every_period(f.regional(region))
    assert _rolled(f.manager(group["stores"][0]), "90d", now()) == []


def test_the_days_are_local_and_only_closed_ones_are_kept(group):
    daily_stats.refresh_daily_stats()
    db.session.commit()
    a, _b, u = group["stores"]
    for store in (a, u):
        today = now().astimezone(ZoneInfo(store.timezone)).date()
        span = db.session.get(StoreStatsSpan, store.id)
        assert (span.first_day, span.last_day) == (today - timedelta(days=92), today - timedelta(1))
        days = db.session.scalars(
            select(StoreDailyStats.day).where(StoreDailyStats.store_id == store.id)
        ).all()
        assert today not in days and max(days) == today - timedelta(days=1)
    # One day of store A counted by hand: the bookings created that local day.
    day = now().astimezone(ZoneInfo(a.timezone)).date() - timedelta(days=5)
    expected = sum(
        1
        for b in group["made"]["A"]["bookings"]
        if b.created_at.astimezone(ZoneInfo(a.timezone)).date() == day
    )
    row = db.session.scalar(
        select(StoreDailyStats).where(StoreDailyStats.store_id == a.id, StoreDailyStats.day == day)
    )
    assert expected == row.bookings == 1


def test_the_workshop_totals_per_day_equal_the_raw_records(group):
    daily_stats.refresh_daily_stats()
    db.session.commit()
    for store in group["stores"]:
        today = now().astimezone(ZoneInfo(store.timezone)).date()
        first, last = today - timedelta(days=92), today - timedelta(days=1)
        start, end = group_stats.period_bounds(first, last, store.timezone)
        raw = db.session.execute(
            select(func.count(ServiceRecord.id), func.sum(ServiceRecord.total_fen)).where(
                ServiceRecord.store_id == store.id,
                ServiceRecord.completed_at >= start,
                ServiceRecord.completed_at < end,
            )
        ).one()
        rolled = db.session.execute(
            select(func.sum(StoreDailyStats.jobs), func.sum(StoreDailyStats.revenue_fen)).where(
                StoreDailyStats.store_id == store.id
            )
        ).one()
        assert tuple(rolled) == tuple(raw) and raw[0] > 5


def test_a_late_change_to_an_old_day_is_picked_up_by_the_next_run(group):
    hq = group["hq"]
    daily_stats.refresh_daily_stats()
    db.session.commit()
    made = group["made"]["A"]
    # Weeks later: a lead of 45 days ago is won, an order of 60 days ago refunded, a
    # complaint of 45 days ago was entered for the wrong store and is removed.
    lead = next(x for x in made["leads"] if x.state != WON and (now() - x.created_at).days > 40)
    lead.state = WON
    order = made["orders"][9]
    order.refunded_fen = order.total_fen
    gone = made["complaints"][-2]
    gone_day = gone.created_at.astimezone(ZoneInfo("Asia/Shanghai")).date()
    db.session.delete(gone)
    db.session.commit()
    at = now()
    assert _rolled(hq, "90d", at) != _raw(hq, "90d", at)  # the rollup is what the page reads
    daily_stats.refresh_daily_stats()
    db.session.commit()
    _assert_equal_for_every_period(hq)
    a = group["stores"][0]
    left = db.session.scalar(
        select(StoreDailyStats.complaints).where(
            StoreDailyStats.store_id == a.id, StoreDailyStats.day == gone_day
        )
    )
    assert not left  # the day's row is rewritten, or gone when nothing else happened


def test_a_rerun_writes_the_same_days(group):
    daily_stats.refresh_daily_stats()
    db.session.commit()
    before = _rows()
    daily_stats.refresh_daily_stats()
    db.session.commit()
    assert _rows() == before


def test_a_short_window_and_the_backfill_widen_the_counted_days(group, app):
    hq, a = group["hq"], group["stores"][0]
    daily_stats.refresh_daily_stats(days=3)
    db.session.commit()
    today = now().astimezone(ZoneInfo("Asia/Shanghai")).date()
    span = db.session.get(StoreStatsSpan, a.id)
    assert (span.first_day, span.last_day) == (today - timedelta(days=3), today - timedelta(1))
    _assert_equal_for_every_period(hq)  # the older days of each period are counted raw
    result = app.test_cli_runner().invoke(args=["m4s", "daily-stats", "--days", "120"])
    assert result.exit_code == 0, result.output
    assert "store-days" in result.output
    db.session.expire_all()
    span = db.session.get(StoreStatsSpan, a.id)
    assert (span.first_day, span.last_day) == (today - timedelta(days=120), today - timedelta(1))
    _assert_equal_for_every_period(hq)
    refused = app.test_cli_runner().invoke(args=["m4s", "daily-stats", "--days", "0"])
    assert refused.exit_code != 0 and "0" in refused.output


def test_the_job_is_registered(app):
    from admin.outbox import JOB_LABELS

    job = next(j for j in JOBS if j.name == "daily-stats")
    assert job.path == "admin.daily_stats:refresh_daily_stats" and "daily-stats" in JOB_LABELS


def test_two_runs_at_once_both_finish_and_agree(group, app):
    results = at_once(app, daily_stats.refresh_daily_stats, 2)
    assert all(isinstance(r, dict) for r in results), results
    db.session.expire_all()
    once = _rows()
    daily_stats.refresh_daily_stats()
    db.session.commit()
    assert _rows() == once
    _assert_equal_for_every_period(group["hq"])


def _medians(viewer, key: str) -> dict[str, float | None]:
    return {r.name: r.contact_minutes for r in daily_stats.period_figures(viewer, key, now())}


def test_the_page_reads_the_workers_medians_of_the_periods_very_days(group, f):
    hq, a = group["hq"], group["stores"][0]
    raw = {key: _medians(hq, key) for key in group_stats.PERIODS}
    assert any(v is not None for v in raw["90d"].values())
    result = daily_stats.refresh_daily_stats()
    db.session.commit()
    assert result["medians"] == 3 * len(group_stats.PERIODS)
    for key in group_stats.PERIODS:  # taken now: the same as the raw leads
        assert _medians(hq, key) == raw[key], key
    # A lead of A contacted after the job: the page keeps the kept median until the next run.
    db.session.add(
        Lead(
            customer_id=f.owner(a).id,
            store_id=a.id,
            source="phone",
            created_at=_at(a, 1, 9),
            first_contact_at=_at(a, 1, 9) + timedelta(days=30),
        )
    )
    db.session.commit()
    assert _medians(hq, "90d")["A"] == raw["90d"]["A"]
    shown = [r for r in daily_stats.period_figures(hq, "90d", now()) if r.name == "A"][0]
    assert shown.contact_as_of is not None
    daily_stats.refresh_daily_stats()
    db.session.commit()
    moved = _medians(hq, "90d")["A"]
    assert moved is not None and moved > raw["90d"]["A"]
    # A kept median of other days (yesterday's period) is not this period's: taken raw.
    kept = db.session.get(StoreContactMedian, (a.id, "90d"))
    kept.first_day -= timedelta(days=1)
    kept.last_day -= timedelta(days=1)
    kept.minutes = -1.0
    db.session.commit()
    assert _medians(hq, "90d")["A"] == moved


def test_a_brands_officer_gets_the_median_of_their_brands_leads(group, f):
    byd = f.brand("BYD", stores=tuple(group["stores"]))
    for lead in db.session.scalars(select(Lead)):
        lead.brand_id = byd.id
    db.session.commit()
    officer = f.manufacturer(byd)
    raw = _medians(officer, "90d")
    assert any(v is not None for v in raw.values())
    daily_stats.refresh_daily_stats()
    for row in db.session.scalars(select(StoreContactMedian)):
        row.minutes = -1.0  # the worker's medians are every brand's: never an officer's figure
    db.session.commit()
    assert _medians(officer, "90d") == raw
