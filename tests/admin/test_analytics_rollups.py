"""The repair analytics from the daily rollups: the summed figures (funnel, bookings per month,
faults, models, parts) equal the raw count on constructed data, for a store and for every
store, with days near local midnight, a store in another time zone, today's rows read live
and days the rollup has not covered read raw."""

from __future__ import annotations

import random
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from admin import analytics_rollups, daily_stats
from portal.extensions import db
from portal.models import ServiceItem, ServiceRecord
from portal.services import booking_stats as stats
from portal.timeutil import now

URUMQI = "Asia/Urumqi"  # UTC+6: its days end two hours after Shanghai's
SHANGHAI = "Asia/Shanghai"
URL = "/admin/booking_analytics/"
STATUSES = ("submitted", "accepted", "rejected", "cancelled", "no_show", "completed")
FAULTS = ("brakes", "engine", "electrical", "tyres")
PARTS = (("刹车片", "BP-1"), ("机油滤清器", "OF-2"), ("火花塞", "SP-3"), ("刹车片", "BP-9"))


def _at(tz: str, days_ago: int, hour: int, minute: int = 0) -> datetime:
    zone = ZoneInfo(tz)
    day = now().astimezone(zone).date() - timedelta(days=days_ago)
    return datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(ZoneInfo("UTC"))


def _fill(f, store, rng: random.Random, n: int = 40) -> None:
    """Give the store bookings of every funnel state and repairs with parts on days up to 120
    back, some near local midnight and some today."""
    owner = f.owner(store)
    cars = [
        f.vehicle(owner, brand=b, series=s)
        for b, s in (("丰田", "凯美瑞"), ("大众", "朗逸"), ("本田", "雅阁"))
    ]
    times = [(23, 30), (0, 30), (10, 0), (15, 45)]
    for i in range(n):
        ago = rng.choice([0, 0, 1, 2, 5, 13, 29, 31, 45, 60, 88, 89, 100, 120])
        at = _at(store.timezone, ago, *rng.choice(times))
        booking = f.booking(owner, store, days=1 + i % 20)
        booking.created_at = at
        booking.status = rng.choice(STATUSES)
        if booking.status in ("rejected", "cancelled", "accepted") or i % 3 == 0:
            booking.decided_at = at + timedelta(hours=2)
        if booking.status == "rejected":
            booking.decision_reason = rng.choice([None, "", "fully_booked", "other"])
        if booking.status == "cancelled" and i % 2:
            booking.proposed_start = at + timedelta(days=3)  # declined a proposal: not accepted
        kind, part_no = rng.choice(PARTS)
        db.session.add(
            ServiceRecord(
                vehicle_id=rng.choice(cars).id,
                store_id=store.id,
                mileage_km=20_000 + i,
                fault_category=rng.choice(FAULTS),
                total_fen=rng.randint(0, 90_000),
                completed_at=at + timedelta(minutes=20),
                items=[
                    ServiceItem(
                        kind="part",
                        description=kind,
                        part_no=part_no,
                        quantity=rng.randint(1, 4),
                        unit_price_fen=rng.randint(100, 9_000),
                    ),
                    ServiceItem(kind="labour", description="工时", quantity=1, unit_price_fen=500),
                ],
            )
        )
    db.session.commit()


def _raw(store_id, tz: str, first: date, last: date) -> dict:
    start, end = stats.period_bounds(first, last, tz)
    return {
        "funnel": stats.funnel(store_id, start, end),
        "months": stats.bookings_by_month(store_id, start, end, tz),
        "faults": stats.top_faults(store_id, start, end, limit=None),
        "models": stats.top_models(store_id, start, end, limit=None),
        "parts": stats.top_parts(store_id, start, end, limit=None),
    }


def _same_figures(got: dict, want: dict) -> None:
    """Every figure equal; the lists compared whole (ties may fall in another order)."""
    assert got["funnel"] == want["funnel"] and got["months"] == want["months"]
    for name, key in (("faults", "category"), ("models", "series"), ("parts", "part_no")):
        assert sorted(got[name], key=lambda x: (x[key], str(x))) == sorted(
            want[name], key=lambda x: (x[key], str(x))
        )


@pytest.fixture
def world(f):
    rng = random.Random(21)
    a, b, c = (f.store(name, bays=20) for name in "ABC")
    c.timezone = URUMQI
    db.session.commit()
    for store in (a, b, c):
        _fill(f, store, rng)
    return a, b, c


def _today(tz: str = SHANGHAI) -> date:
    return now().astimezone(ZoneInfo(tz)).date()


@pytest.mark.parametrize("days", [1, 7, 90, 121])
def test_rollups_give_the_raw_figures_for_a_store_and_for_all(world, days):
    a, b, c = world
    daily_stats.backfill(130)
    last = _today()
    first = last - timedelta(days=days - 1)
    for store_id in (a.id, b.id, None):
        got = analytics_rollups.figures(store_id, SHANGHAI, first, last, limit=1000)
        _same_figures(got, _raw(store_id, SHANGHAI, first, last))
    last_c = _today(URUMQI)
    got = analytics_rollups.figures(c.id, URUMQI, last_c - timedelta(days=days - 1), last_c, 1000)
    _same_figures(got, _raw(c.id, URUMQI, last_c - timedelta(days=days - 1), last_c))


def test_a_period_that_ended_reads_only_the_rollup(world, monkeypatch):
    a, _b, _c = world
    daily_stats.backfill(130)
    last = _today() - timedelta(days=1)
    first = last - timedelta(days=59)
    want = _raw(a.id, SHANGHAI, first, last)
    reads = []
    monkeypatch.setattr(analytics_rollups.Sums, "add_raw", lambda *args: reads.append(args))
    got = analytics_rollups.figures(a.id, SHANGHAI, first, last, limit=1000)
    assert reads == [] and got["funnel"]["submitted"] > 0
    _same_figures(got, want)


def test_today_and_uncounted_days_are_read_live_not_from_a_stale_rollup(world, f):
    a, _b, _c = world
    daily_stats.backfill(130)
    last = _today()
    first = last - timedelta(days=89)
    # The job counted up to yesterday; then today gets more rows, and so do days the rollup
    # counted before (a stale rollup) and a day it never counted (a job that has not run).
    _fill(f, a, random.Random(5), n=30)
    span = db.session.get(daily_stats.StoreStatsSpan, a.id)
    span.last_day = last - timedelta(days=3)  # days -2 and -1 not counted yet
    db.session.commit()
    fresh = _raw(a.id, SHANGHAI, first, last)
    got = analytics_rollups.figures(a.id, SHANGHAI, first, last, limit=1000)
    # The counted days are as the job left them: equal to the raw figures only once rerun.
    assert got["funnel"]["submitted"] < fresh["funnel"]["submitted"]
    daily_stats.backfill(130)
    _same_figures(analytics_rollups.figures(a.id, SHANGHAI, first, last, 1000), fresh)
    # Today's rows come in without a rerun: the rollup never holds today.
    before = analytics_rollups.figures(a.id, SHANGHAI, first, last, 1000)["funnel"]
    booking = f.booking(f.owner(a), a, days=2)
    booking.created_at = now()
    db.session.commit()
    after = analytics_rollups.figures(a.id, SHANGHAI, first, last, 1000)["funnel"]
    assert after["submitted"] == before["submitted"] + 1
    _same_figures(
        analytics_rollups.figures(a.id, SHANGHAI, first, last, 1000),
        _raw(a.id, SHANGHAI, first, last),
    )


def test_the_page_is_the_same_from_rollups_as_from_raw_rows(world, f, app, client, auth):
    a, _b, _c = world
    daily_stats.backfill(130)
    auth.login(f.admin())
    pages = {}
    for from_rollups in (True, False):
        app.config["ANALYTICS_FROM_ROLLUPS"] = from_rollups
        for query in ("", f"?store={a.id}", f"?store={a.id}&start={_today() - timedelta(30)}"):
            html = client.get(URL + query).get_data(as_text=True)
            pages[(from_rollups, query)] = re.sub(r'(nonce|value)="[\w.-]{20,}"', "", html)
    app.config["ANALYTICS_FROM_ROLLUPS"] = True
    for (from_rollups, query), html in pages.items():
        if from_rollups:
            assert "刹车片" in html and html == pages[(False, query)], query
