"""Repair analytics at the edges of the period, with known answers (SQLite and PostgreSQL).

Written before the queries were bounded to the period on both visits and the per-advisor
medians became one grouped statement: these answers must not change with the plans.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from portal.extensions import db
from portal.services import booking_stats as stats
from portal.timeutil import now
from tests.portal.test_booking_stats import booking, record

T0 = datetime(2025, 6, 2, 2, 0, tzinfo=UTC)
START, END = T0, T0 + timedelta(days=30)  # a 30-day period starting at T0


@pytest.fixture
def shop(f):
    a, b = f.store("A"), f.store("B")
    owner = f.owner(a, name="刘洋")
    return {
        "a": a,
        "b": b,
        "owner": owner,
        "passat": f.vehicle(owner, brand="大众", series="帕萨特"),
        "camry": f.vehicle(owner, brand="丰田", series="凯美瑞"),
        "crv": f.vehicle(owner, brand="本田", series="CR-V"),
        "adv": f.advisor(a, name="李强"),
        "adv2": f.advisor(a, name="张敏"),
        "adv3": f.advisor(a, name="王芳"),
    }


def _pairs(found):
    return sorted(
        (r["first"].vehicle_id, r["first"].fault_category, r["days"]) for r in found["rows"]
    )


def test_a_repeat_whose_first_visit_is_before_the_period_counts(shop):
    a, passat, camry, crv = shop["a"], shop["passat"], shop["camry"], shop["crv"]
    # passat: first visit 10 days before the period, back 5 days into it: 15 days apart.
    record(a, passat, "brakes", START - timedelta(days=10))
    record(a, passat, "brakes", START + timedelta(days=5))
    # camry: first visit 40 days before the period, back on its first day: too far apart.
    record(a, camry, "brakes", START - timedelta(days=40))
    record(a, camry, "brakes", START + timedelta(hours=1))
    # crv: -25, -5, +10 days: two consecutive pairs, only the second comes back in the
    # period; (-25, +10) is never a pair, the visit at -5 lies between them.
    for d in (-25, -5, 10):
        record(a, crv, "electrical", START + timedelta(days=d))
    # both visits before the period: not this period's repeat
    record(a, camry, "engine", START - timedelta(days=20))
    record(a, camry, "engine", START - timedelta(days=2))
    # the second visit after the period: the next period's
    record(a, passat, "tyres", END - timedelta(days=3))
    record(a, passat, "tyres", END + timedelta(hours=2))

    found = stats.repeat_repairs(a.id, START, END, days=30)
    assert found["count"] == 2
    assert found["by_category"] == [("brakes", 1), ("electrical", 1)]
    assert _pairs(found) == [(passat.id, "brakes", 15.0), (crv.id, "electrical", 15.0)]
    # a window a day longer than the gap counts them; a day shorter does not
    assert stats.repeat_repairs(a.id, START, END, days=16)["count"] == 2
    assert stats.repeat_repairs(a.id, START, END, days=14)["count"] == 0
    # a longer window reaches the camry's first visit 40 days back, and crv's (-25, -5) pair
    # still comes back before the period
    assert _pairs(stats.repeat_repairs(a.id, START, END, days=45)) == [
        (passat.id, "brakes", 15.0),
        (camry.id, "brakes", 40.0),
        (crv.id, "electrical", 15.0),
    ]


def test_repeat_rows_newest_first_limited_and_counted_in_full(shop):
    a, b, passat, camry = shop["a"], shop["b"], shop["passat"], shop["camry"]
    for d in (1, 3, 6, 10):  # three consecutive brake pairs on the passat
        record(a, passat, "brakes", START + timedelta(days=d))
    record(a, camry, "body", START + timedelta(days=2))
    record(a, camry, "body", START + timedelta(days=10))  # same time as the passat's last
    record(b, camry, "engine", START + timedelta(days=1))  # other store, both visits
    record(b, camry, "engine", START + timedelta(days=4))

    found = stats.repeat_repairs(a.id, START, END, days=30, limit=2)
    assert found["count"] == 4
    assert found["by_category"] == [("brakes", 3), ("body", 1)]
    newest = [(r["again"].vehicle_id, r["again"].fault_category) for r in found["rows"]]
    # ties on completed_at: the later-recorded (higher id) visit first
    assert newest == [(camry.id, "body"), (passat.id, "brakes")]
    everyone = stats.repeat_repairs(None, START, END, days=30)
    assert everyone["count"] == 5
    assert everyone["by_category"] == [("brakes", 3), ("body", 1), ("engine", 1)]


def test_parts_only_of_the_period_and_store(shop):
    a, b, passat = shop["a"], shop["b"], shop["passat"]
    record(a, passat, "brakes", START - timedelta(seconds=1), [("刹车片", 9, 45000)])
    record(a, passat, "brakes", START, [("刹车片", 3, 45000), ("刹车油", 2, 8000)])
    record(a, passat, "engine", END - timedelta(seconds=1), [("机油滤芯", 1, 6000)])
    record(a, passat, "engine", END, [("机油滤芯", 7, 6000)])
    record(b, passat, "engine", START + timedelta(days=1), [("火花塞", 4, 6000)])

    parts = stats.top_parts(a.id, START, END)
    assert [(p["description"], p["quantity"], p["repairs"]) for p in parts] == [
        ("刹车片", 3, 1),
        ("刹车油", 2, 1),
        ("机油滤芯", 1, 1),
    ]
    assert parts[0]["revenue_fen"] == 3 * 45000
    every = stats.top_parts(None, START, END)
    assert [(p["description"], p["quantity"]) for p in every][0] == ("火花塞", 4)
    assert [x["repairs"] for x in stats.top_faults(a.id, START, END)] == [1, 1]
    assert [m["repairs"] for m in stats.top_models(a.id, START, END)] == [2]


def test_medians_per_advisor_odd_even_and_single(shop):
    a, t = shop["a"], T0
    # adv: waits 1, 3, 8 h -> median 3; adv2: 2, 4, 6, 100 h -> median 5; adv3: 7 h.
    for who, waits in (("adv", (8, 1, 3)), ("adv2", (100, 2, 6, 4)), ("adv3", (7,))):
        for w in waits:
            booking(shop, "accepted", t, decided=t + timedelta(hours=w), advisor=shop[who])
    booking(shop, "accepted", t, decided=t + timedelta(hours=50), advisor=shop["adv"],
            store=shop["b"])  # fmt: skip
    booking(shop, "submitted", t)  # not decided

    times = stats.decision_times(a.id, START, END)
    got = [(x["name"], x["decisions"], round(x["median_hours"], 3)) for x in times]
    assert got == [("李强", 3, 3.0), ("王芳", 1, 7.0), ("张敏", 4, 5.0)]
    assert [round(x["avg_hours"], 3) for x in times] == [4.0, 7.0, 28.0]
    everywhere = stats.decision_times(None, START, END)
    assert [(x["name"], round(x["median_hours"], 3)) for x in everywhere] == [
        ("王芳", 7.0),
        ("李强", 5.5),
        ("张敏", 5.0),
    ]


def test_lead_time_median_even_and_empty(shop):
    t = T0
    for days in (4, 1, 2, 8):
        booking(shop, "submitted", t, slot=t + timedelta(days=days))
    lead = stats.lead_time(shop["a"].id, START, END)
    assert (lead["count"], lead["median_days"]) == (4, pytest.approx(3.0, abs=1e-4))
    assert lead["avg_days"] == pytest.approx(3.75, abs=1e-4)
    empty = stats.lead_time(shop["b"].id, START, END)
    assert empty == {"count": 0, "avg_days": None, "median_days": None}


def test_analytics_page_statements_do_not_grow_with_advisors(shop, f, client, auth):
    """One grouped query for all advisors, and no statement runs twice."""
    a = shop["a"]

    recent = now() - timedelta(days=3)
    record(a, shop["passat"], "brakes", recent - timedelta(days=5), [("刹车片", 1, 45000)])
    record(a, shop["passat"], "brakes", recent, [("刹车片", 1, 45000)])

    def statements(n_advisors: int) -> list[tuple[str, str]]:
        for i in range(n_advisors):
            who = f.advisor(a, name=f"顾问{i}") if i >= 3 else shop[("adv", "adv2", "adv3")[i]]
            booking(shop, "accepted", recent, decided=recent + timedelta(hours=1), advisor=who)
        seen: list[tuple[str, str]] = []

        def listener(conn, cursor, statement, parameters, context, executemany):
            seen.append((statement, repr(parameters)))

        engine = db.engine
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get("/admin/booking_analytics/").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return [s for s in seen if s[0].lstrip().upper().startswith("SELECT")]

    auth.login(f.manager(a))
    client.get("/admin/booking_analytics/")  # warm the session's own lookups
    two = statements(2)
    six = statements(6)
    assert len(six) == len(two)
    assert len(set(six)) == len(six), "a statement ran twice with the same parameters"
