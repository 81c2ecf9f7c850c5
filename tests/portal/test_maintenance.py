"""Maintenance: due points and statuses, the uptake definition on known data, reminders."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event, func, select

from portal.models import (
    DueEvent,
    MaintenancePlan,
    MaintenanceReminder,
    Notification,
    PlanItem,
    UptakeStat,
)
from portal.services import maintenance as svc

KW = dict(window_km=1000, window_days=30, soon_km=1000, soon_days=30)
TODAY = date(2026, 6, 1)


def make_plan(db, brand=None, series=None, default=True, **item):
    plan = MaintenancePlan(name="plan", brand=brand, series=series, is_default=default)
    fields = dict(
        code="transmission_oil",
        name="变速箱油",
        interval_km=10_000,
        interval_months=None,
        severity="must",
        typical_price_fen=90000,
    )
    fields.update(item)
    plan.items.append(PlanItem(**fields))
    db.session.add(plan)
    db.session.commit()
    return plan


def at(km: int) -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=km // 50)


# --- due points and statuses ----------------------------------------------------------


def test_add_months_clamps_to_the_month_end():
    assert svc.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert svc.add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert svc.add_months(date(2026, 11, 15), 14) == date(2028, 1, 15)


def test_first_due_offset_then_interval(db):
    item = PlanItem(
        code="x",
        name="x",
        interval_km=10_000,
        interval_months=12,
        first_due_km=5_000,
        first_due_months=6,
    )
    first = svc.due_point(item, last_km=None, last_day=None, purchase_day=date(2026, 1, 10))
    assert (first.km, first.day) == (5_000, date(2026, 7, 10))
    later = svc.due_point(item, last_km=5_200, last_day=date(2026, 7, 1), purchase_day=None)
    assert (later.km, later.day) == (15_200, date(2027, 7, 1))


@pytest.mark.parametrize(
    "current, expected",
    [
        (8_999, "ok"),
        (9_000, "due_soon"),
        (9_999, "due_soon"),
        (10_000, "due"),
        (11_000, "due"),
        (11_001, "overdue"),
    ],
)
def test_status_at_the_km_boundaries(current, expected):
    point = svc.DuePoint(10_000, None)
    assert svc.status_of(point, current, TODAY, **KW) == expected


@pytest.mark.parametrize(
    "offset, expected",
    [
        (-31, "ok"),
        (-30, "due_soon"),
        (-1, "due_soon"),
        (0, "due"),
        (30, "due"),
        (31, "overdue"),
    ],
)
def test_status_at_the_date_boundaries(offset, expected):
    point = svc.DuePoint(None, TODAY)
    assert svc.status_of(point, 0, TODAY + timedelta(days=offset), **KW) == expected


ORDER = ("ok", "due_soon", "due", "overdue")


@given(st.integers(0, 300_000), st.integers(0, 300_000), st.integers(-400, 400))
def test_status_never_improves_as_the_car_drives_on(due_km, km, days):
    point = svc.DuePoint(due_km, TODAY)
    day = TODAY + timedelta(days=days)
    now_status = svc.status_of(point, km, day, **KW)
    later = svc.status_of(point, km + 500, day + timedelta(days=10), **KW)
    assert ORDER.index(later) >= ORDER.index(now_status)


@given(st.integers(0, 300_000), st.integers(0, 300_000))
def test_whichever_comes_first(due_km, km):
    by_km = svc.status_of(svc.DuePoint(due_km, None), km, TODAY, **KW)
    both = svc.status_of(svc.DuePoint(due_km, TODAY + timedelta(days=400)), km, TODAY, **KW)
    assert both == by_km  # a far date never hides a due mileage


# --- the uptake definition on constructed data ----------------------------------------


def cars(f, n, brand="丰田", series="凯美瑞"):
    owner = f.owner()
    return [f.vehicle(owner, brand=brand, series=series, current_km=0) for _ in range(n)]


def test_uptake_rate_model_then_fallback_then_not_enough(f, db, app):
    make_plan(db)
    camrys = cars(f, 40)
    for i, v in enumerate(camrys):
        # 30 owners change it within the window (9,500-10,800 km), 10 only long after it.
        svc.record_done(v, "transmission_oil", 9_500 + 40 * i if i < 30 else 13_000, at(10_000))
    db.session.commit()
    rate = svc.uptake_for(["transmission_oil"], "丰田", "凯美瑞")["transmission_oil"]
    assert (rate.taken, rate.total, rate.scope, rate.percent) == (30, 40, "model", 75)

    accords = cars(f, 5, "本田", "雅阁")
    for v in accords:
        svc.record_done(v, "transmission_oil", 10_100, at(10_100))
    db.session.commit()
    rate = svc.uptake_for(["transmission_oil"], "本田", "雅阁")["transmission_oil"]
    assert (rate.taken, rate.total, rate.scope) == (35, 45, "all")  # 5 < 30: all models

    app.config["MAINTENANCE_MIN_SAMPLE"] = 50
    try:
        rate = svc.uptake_for(["transmission_oil"], "本田", "雅阁")["transmission_oil"]
        assert rate.scope == "none"
    finally:
        app.config["MAINTENANCE_MIN_SAMPLE"] = 30


def test_open_and_early_cases_are_not_counted(f, db):
    make_plan(db)
    early, inside, driving = cars(f, 3)
    svc.record_done(early, "transmission_oil", 6_000, at(6_000))  # before the window
    driving.current_km = 10_400  # in the window, not done yet: still open
    db.session.commit()
    svc.sync_vehicle(driving)
    svc.record_done(inside, "transmission_oil", 9_200, at(9_200))
    db.session.commit()
    stat = db.session.get(UptakeStat, ("transmission_oil", "丰田", "凯美瑞"))
    assert (stat.taken, stat.total) == (1, 1)
    statuses = dict(db.session.execute(select(DueEvent.vehicle_id, DueEvent.status)).all())
    assert statuses == {inside.id: "taken", driving.id: "open"}


def test_passing_the_window_counts_as_missed_once(f, db):
    make_plan(db)
    (v,) = cars(f, 1)
    v.current_km = 11_500
    db.session.commit()
    assert svc.sync_vehicle(v) == 1
    assert svc.sync_vehicle(v) == 0  # idempotent
    db.session.commit()
    stat = db.session.get(UptakeStat, ("transmission_oil", "*", "*"))
    assert (stat.taken, stat.total) == (0, 1)


def test_schedule_page_costs_the_same_whatever_the_history(f, db, client, auth, app):
    make_plan(db)
    owner = f.owner()
    small = f.vehicle(owner, current_km=20_000)
    big = f.vehicle(owner, current_km=20_000)
    for k in range(200):  # a long history of another car of the same model
        svc.record_done(big, "transmission_oil", 100 * k, at(100 * k))
    db.session.commit()
    auth.login(owner)
    counts = []
    with app.app_context():
        engine = db.engine
    for path in [f"/vehicles/{v.id}/maintenance" for v in (small, big)]:
        seen: list[str] = []
        listener = lambda *a, seen=seen: seen.append(a[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get(path).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        counts.append(len(seen))
    assert counts == [2, 2]  # the login check, then the whole schedule in one statement


def test_schedule_uses_the_models_own_plan_else_the_default(f, db):
    make_plan(db, code="engine_oil", name="机油", interval_km=5_000)  # the default plan
    make_plan(db, brand="本田", series="雅阁", default=False, name="雅阁变速箱油")
    owner = f.owner()
    honda = f.vehicle(owner, brand="本田", series="雅阁", current_km=9_500)
    other = f.vehicle(owner, brand="丰田", series="凯美瑞", current_km=4_500)
    db.session.commit()
    own = svc.load_schedule(honda.id)
    assert [r.item.name for r in own.rows] == ["雅阁变速箱油"]
    assert (own.rows[0].status, own.rows[0].point.km) == ("due_soon", 10_000)
    default = svc.load_schedule(other.id)
    assert [r.item.code for r in default.rows] == ["engine_oil"]
    assert default.plan.id != own.plan.id and default.car.owner_id == owner.id


def test_schedule_without_a_plan_or_a_car(f, db, client, auth):
    owner = f.owner()
    v = f.vehicle(owner)
    db.session.commit()
    found = svc.load_schedule(v.id)
    assert (found.car.plate, found.plan, found.rows) == (v.plate, None, ())
    assert svc.load_schedule(v.id + 1000) is None
    auth.login(owner)
    page = client.get(f"/vehicles/{v.id}/maintenance").get_data(as_text=True)
    assert "No maintenance plan for this car yet." in page and 'id="schedule-form"' not in page
    assert client.get(f"/vehicles/{v.id + 1000}/maintenance").status_code == 404


def test_schedule_rows_come_most_urgent_first_with_last_done(f, db):
    plan = make_plan(db)  # transmission oil every 10,000 km
    plan.items.append(PlanItem(code="engine_oil", name="机油", interval_km=5_000, severity="must"))
    plan.items.append(
        PlanItem(code="coolant", name="冷却液", interval_km=40_000, severity="recommended")
    )
    db.session.commit()
    v = f.vehicle(f.owner(), current_km=16_500)
    svc.record_done(v, "transmission_oil", 10_100, at(10_100))
    db.session.commit()
    rows = svc.load_schedule(v.id).rows
    assert [(r.item.code, r.status) for r in rows] == [
        ("engine_oil", "overdue"),  # due at 5,000 km, never done
        ("transmission_oil", "ok"),  # done at 10,100: next at 20,100
        ("coolant", "ok"),
    ]
    assert (rows[1].last_km, rows[1].last_day, rows[1].point.km) == (
        10_100,
        at(10_100).date(),
        20_100,
    )


def test_schedule_page_shows_the_share_and_books_the_items(f, db, client, auth):
    make_plan(db)
    many = cars(f, 35)
    for v in many:
        svc.record_done(v, "transmission_oil", 10_050, at(10_050))
    owner = f.owner(f.store())
    mine = f.vehicle(owner, brand="丰田", series="凯美瑞", current_km=10_200)
    db.session.commit()
    auth.login(owner)
    page = client.get(f"/vehicles/{mine.id}/maintenance").get_data(as_text=True)
    assert "100% of 35 owners" in page and "status-due" in page
    r = client.post(f"/vehicles/{mine.id}/maintenance/book", data={"items": "transmission_oil"})
    assert r.status_code == 303 and "items=transmission_oil" in r.headers["Location"]
    assert 'value="transmission_oil"' in client.get(r.headers["Location"]).get_data(as_text=True)


# --- reminders ------------------------------------------------------------------------


def test_reminders_are_sent_once_even_by_two_concurrent_runs(f, db, app, smtp):
    make_plan(db)
    owners = [f.owner() for _ in range(4)]
    for o in owners:
        f.vehicle(o, current_km=10_200)  # due now
    quiet = f.owner(remind_email=False)
    f.vehicle(quiet, current_km=10_200)
    db.session.commit()
    barrier = threading.Barrier(2)
    results: list[int] = []

    def run():
        with app.app_context():
            from portal.extensions import db as tdb

            barrier.wait()
            results.append(svc.send_due_reminders())
            tdb.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == 5
    assert db.session.scalar(select(func.count(MaintenanceReminder.id))) == 5
    assert len(smtp.deliver()) == 4  # the quiet owner switched email off
    assert db.session.scalar(select(func.count(Notification.id))) == 5
    assert svc.send_due_reminders() == 0  # and a later run sends nothing again


def test_send_reminders_command(f, db, app, smtp):
    make_plan(db)
    f.vehicle(f.owner(), current_km=10_200)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["m4s", "send-reminders"])
    assert result.exit_code == 0 and "send_due_reminders: 1" in result.output
    again = app.test_cli_runner().invoke(args=["m4s", "send-reminders"])
    assert "send_due_reminders: 0" in again.output


def test_reminder_settings_page(f, db, client, auth):
    owner = f.owner()
    auth.login(owner)
    client.post("/account/reminders", data={"inapp": "on"})
    db.session.refresh(owner)
    assert owner.remind_inapp and not owner.remind_email


def test_the_page_reads_times_as_stored_and_converts_them_like_the_columns(f, db):
    from portal.models import MileageReading

    make_plan(db)
    v = f.vehicle(f.owner(), current_km=12_000, purchase_date=date(2025, 3, 9))
    for days, km in ((0, 2_000), (40, 6_000), (90, 12_000)):
        when = datetime(2026, 1, 2, 8, 30, tzinfo=UTC) + timedelta(days=days)
        db.session.add(MileageReading(vehicle_id=v.id, km=km, recorded_at=when))
    svc.record_done(v, "transmission_oil", 10_100, at(10_100))
    db.session.commit()
    stored = svc.schedule_facts(v.id)
    typed = svc.typed(stored)
    core = db.session.execute(svc._SCHEDULE, {"vehicle_id": v.id}).all()
    assert [tuple(t) for t in typed] == [tuple(r) for r in core]
    head = typed[0]
    assert head.purchase_date == date(2025, 3, 9)
    assert head.first_at == datetime(2026, 1, 2, 8, 30, tzinfo=UTC)
    assert head.last_done_at == at(10_100) and head.last_done_at.tzinfo is not None
    assert hash(stored) == hash(svc.schedule_facts(v.id))  # the memoised page's key
