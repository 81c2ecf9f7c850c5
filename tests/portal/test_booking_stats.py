"""Repair analytics on constructed data with known answers (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from portal.extensions import db
from portal.models import Booking, ServiceItem, ServiceRecord
from portal.services import booking_stats as stats

T0 = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
START, END = T0 - timedelta(days=60), T0 + timedelta(days=60)


@pytest.fixture
def shop(f):
    a, b = f.store("A"), f.store("B")
    owner = f.owner(a, name="王伟")
    return {
        "a": a,
        "b": b,
        "owner": owner,
        "passat": f.vehicle(owner, brand="大众", series="帕萨特"),
        "camry": f.vehicle(owner, brand="丰田", series="凯美瑞"),
        "adv": f.advisor(a, name="李强"),
        "adv2": f.advisor(a, name="张敏"),
    }


def record(store, vehicle, fault, at, parts=(), advisor=None, note="") -> ServiceRecord:
    items = [ServiceItem(kind="labour", description="工时", quantity=1, unit_price_fen=10000)]
    items += [
        ServiceItem(kind="part", description=d, part_no=d[:4], quantity=q, unit_price_fen=p)
        for d, q, p in parts
    ]
    r = ServiceRecord(
        vehicle_id=vehicle.id,
        store_id=store.id,
        advisor_id=advisor.id if advisor else None,
        mileage_km=10000,
        fault_category=fault,
        technician_note=note,
        total_fen=sum(i.quantity * i.unit_price_fen for i in items),
        completed_at=at,
        items=items,
    )
    db.session.add(r)
    db.session.commit()
    return r


def booking(shop, status, created, *, slot=None, store=None, decided=None, advisor=None, **kw):
    b = Booking(
        owner_id=kw.pop("owner", shop["owner"]).id,
        vehicle_id=shop["passat"].id,
        store_id=(store or shop["a"]).id,
        slot_start=slot or created + timedelta(days=2),
        status=status,
        service_types=["repair"],
        created_at=created,
        decided_at=decided,
        advisor_id=advisor.id if advisor else None,
        **kw,
    )
    db.session.add(b)
    db.session.commit()
    return b


def test_period_bounds_are_local_days():
    start, end = stats.period_bounds(date(2025, 3, 1), date(2025, 3, 31), "Asia/Shanghai")
    assert start == datetime(2025, 2, 28, 16, 0, tzinfo=UTC)
    assert end == datetime(2025, 3, 31, 16, 0, tzinfo=UTC)


def test_faults_models_and_parts(shop):
    a, b, passat, camry = shop["a"], shop["b"], shop["passat"], shop["camry"]
    pads = ("刹车片", 1, 45000)
    record(a, passat, "brakes", T0, [pads])
    record(a, passat, "brakes", T0 + timedelta(days=40), [pads, ("刹车油", 2, 8000)])
    record(a, camry, "brakes", T0 + timedelta(days=1), [pads])
    record(a, camry, "engine", T0 + timedelta(days=2), [("火花塞", 4, 6000)])
    record(a, camry, "brakes", END + timedelta(days=1), [pads])  # outside the period
    for i in range(5):
        record(b, camry, "engine", T0 + timedelta(days=i))  # the other store

    faults = stats.top_faults(a.id, START, END)
    assert [(x["category"], x["repairs"]) for x in faults] == [("brakes", 3), ("engine", 1)]
    assert faults[0]["revenue_fen"] == 3 * 10000 + 3 * 45000 + 2 * 8000
    models = stats.top_models(a.id, START, END)
    assert [(m["brand"], m["series"], m["repairs"]) for m in models] == [
        ("丰田", "凯美瑞", 2),
        ("大众", "帕萨特", 2),
    ]
    parts = stats.top_parts(a.id, START, END)
    assert [(p["description"], p["quantity"], p["repairs"]) for p in parts] == [
        ("火花塞", 4, 1),
        ("刹车片", 3, 3),
        ("刹车油", 2, 1),
    ]
    assert parts[1]["revenue_fen"] == 3 * 45000
    everywhere = stats.top_faults(None, START, END)
    assert [(x["category"], x["repairs"]) for x in everywhere] == [("engine", 6), ("brakes", 3)]


def test_repeat_repairs_are_consecutive_same_fault_within_n_days(shop):
    a, b, passat, camry, adv = shop["a"], shop["b"], shop["passat"], shop["camry"], shop["adv"]
    first = record(a, passat, "brakes", T0, [("刹车片", 1, 45000)], adv, "更换前刹车片")
    again = record(a, passat, "brakes", T0 + timedelta(days=10), [("刹车盘", 2, 60000)], adv)
    record(a, passat, "brakes", T0 + timedelta(days=50))  # 40 days later: not a repeat
    record(a, passat, "engine", T0 + timedelta(days=12))  # another fault
    # camry: day 0, 5, 20 -> two consecutive pairs, never (0, 20)
    for d in (0, 5, 20):
        record(a, camry, "electrical", T0 + timedelta(days=d))
    # a repeat whose second visit is at the other store: not store A's to see
    record(b, camry, "tyres", T0)
    record(a, camry, "tyres", T0 + timedelta(days=3))

    found = stats.repeat_repairs(a.id, START, END, days=30)
    assert found["count"] == 3
    assert found["by_category"] == [("electrical", 2), ("brakes", 1)]
    gaps = sorted((r["first"].fault_category, r["days"]) for r in found["rows"])
    assert gaps == [("brakes", 10.0), ("electrical", 5.0), ("electrical", 15.0)]
    brake = next(r for r in found["rows"] if r["first"].fault_category == "brakes")
    assert (brake["first"].id, brake["again"].id) == (first.id, again.id)
    assert brake["first"].technician_note == "更换前刹车片"
    assert brake["first"].advisor_id == adv.id
    assert brake["first_parts"] == ["刹车片"]
    assert brake["again_parts"] == ["刹车盘 ×2"]
    assert stats.repeat_repairs(None, START, END, days=30)["count"] == 4
    assert stats.repeat_repairs(a.id, START, END, days=9)["count"] == 1  # only camry 0 -> 5


def test_funnel_reasons_and_no_show_rate(shop):
    adv, t = shop["adv"], T0
    for _ in range(4):
        booking(shop, "completed", t, decided=t, advisor=adv)
    booking(shop, "no_show", t, decided=t, advisor=adv)
    booking(shop, "checked_in", t, decided=t, advisor=adv)
    booking(shop, "rejected", t, decided=t, advisor=adv, decision_reason="no_capacity")
    booking(shop, "rejected", t, decided=t, advisor=adv, decision_reason="parts_unavailable")
    booking(shop, "rejected", t, decided=t, advisor=adv, decision_reason="no_capacity")
    booking(shop, "cancelled", t, decided=t, advisor=adv)  # after acceptance
    booking(shop, "cancelled", t)  # before the store answered
    booking(shop, "cancelled", t, decided=t, advisor=adv, proposed_start=t + timedelta(days=3))
    booking(shop, "completed", END + timedelta(hours=1))  # created after the period
    booking(shop, "completed", t, store=shop["b"])  # other store

    got = stats.funnel(shop["a"].id, START, END)
    assert (got["submitted"], got["accepted"], got["completed"]) == (12, 7, 4)
    assert (got["rejected"], got["cancelled"], got["no_show"]) == (3, 3, 1)
    assert got["reasons"] == [("no_capacity", 2), ("parts_unavailable", 1)]
    assert got["no_show_rate"] == pytest.approx(1 / 6)
    assert stats.funnel(None, START, END)["submitted"] == 13
    assert stats.funnel(shop["a"].id, END, END + timedelta(hours=1))["no_show_rate"] is None


def test_lead_time_and_decision_times(shop):
    adv, adv2, t = shop["adv"], shop["adv2"], T0
    for days, wait, who in ((1, 2, adv), (2, 4, adv), (3, 9, adv), (10, 1, adv2)):
        booking(
            shop,
            "accepted",
            t,
            slot=t + timedelta(days=days),
            decided=t + timedelta(hours=wait),
            advisor=who,
        )
    lead = stats.lead_time(shop["a"].id, START, END)
    assert lead["count"] == 4
    assert lead["avg_days"] == pytest.approx(4.0, abs=1e-4)
    assert lead["median_days"] == pytest.approx(2.5, abs=1e-4)
    booking(shop, "submitted", t, slot=t + timedelta(days=7))
    assert stats.lead_time(shop["a"].id, START, END)["median_days"] == pytest.approx(3, abs=1e-4)

    times = stats.decision_times(shop["a"].id, START, END)
    assert [(x["name"], x["decisions"]) for x in times] == [("张敏", 1), ("李强", 3)]
    assert times[0]["avg_hours"] == pytest.approx(1, abs=1e-3)
    assert times[1]["avg_hours"] == pytest.approx(5, abs=1e-3)
    assert times[1]["median_hours"] == pytest.approx(4, abs=1e-3)
    assert stats.decision_times(shop["b"].id, START, END) == []
    # Jobs staff entered (a caller booked, a walk-in) were never waiting for anyone's decision.
    for source, slot in (("phone", t + timedelta(days=30)), ("walk_in", t - timedelta(hours=1))):
        booking(shop, "accepted", t, slot=slot, decided=t, advisor=adv2, source=source)
    assert stats.decision_times(shop["a"].id, START, END) == times
    assert stats.lead_time(shop["a"].id, START, END)["median_days"] == pytest.approx(3, abs=1e-4)


def test_customers_and_months(shop, f):
    other = f.owner(shop["a"], name="陈静")
    jan_31_local_feb_1 = datetime(2025, 1, 31, 20, 0, tzinfo=UTC)  # 04:00 on 1 Feb in Shanghai
    booking(shop, "completed", jan_31_local_feb_1)
    booking(shop, "submitted", datetime(2025, 3, 10, tzinfo=UTC))
    booking(shop, "cancelled", datetime(2025, 1, 5, tzinfo=UTC), owner=other)
    start, end = stats.period_bounds(date(2025, 1, 1), date(2025, 4, 30), "Asia/Shanghai")

    customers = stats.top_customers(shop["a"].id, start, end)
    assert [(c["name"], c["bookings"], c["completed"]) for c in customers] == [
        ("王伟", 2, 1),
        ("陈静", 1, 0),
    ]
    months = stats.bookings_by_month(shop["a"].id, start, end, "Asia/Shanghai")
    assert months == [("2025-01", 1), ("2025-02", 1), ("2025-03", 1), ("2025-04", 0)]
