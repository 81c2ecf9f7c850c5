"""The dealer-group dataset (bench.group) at its tiny scale: its shape, its skew, valid and
unique identifiers, bookings tied to service records, and the same rows for the same seed."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from statistics import median

import pytest
from sqlalchemy import create_engine, text

from bench.generate import generate_group
from bench.group import SCALES, STORES
from bench.group_extra import STORE_STOCK
from portal.services.accounts import normalize_phone
from portal.timeutil import set_clock
from portal.validation import normalize_plate, normalize_vin
from tests.bench.group_db import GENERATOR_WARNINGS, dataset_url

WHEN = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)

pytestmark = GENERATOR_WARNINGS


def build(path, seed: int) -> tuple[str, dict]:
    url = f"sqlite:///{path}"
    set_clock(lambda: WHEN)
    try:
        return url, generate_group(url, "tiny", seed=seed, reset=True, chunk_size=150)
    finally:
        set_clock(None)


@pytest.fixture(scope="module")
def group(tmp_path_factory):
    url, counts = build(tmp_path_factory.mktemp("group") / "a.db", seed=9)
    engine = create_engine(url)
    with engine.connect() as conn:
        yield conn, counts, url
    engine.dispose()


def rows(conn, sql: str) -> list:
    return conn.execute(text(sql)).all()


def test_counts_follow_the_scale(group):
    conn, counts, _url = group
    assert counts["users"] == SCALES["tiny"]
    assert 1.3 < counts["vehicles"] / counts["users"] < 1.7
    assert 7 < counts["service_records"] / counts["users"] < 13
    assert counts["service_items"] > counts["service_records"]
    assert 4 < counts["audit_events"] / counts["users"] < 7
    for table in (
        "bookings",
        "ratings",
        "rescues",
        "loans",
        "insurance_policies",
        "shop_orders",
        "shop_stock_moves",
        "crm_leads",
        "video_sessions",
        "notices",
    ):
        assert counts[table] > 0, table
    assert rows(conn, "SELECT count(*) FROM service_records")[0][0] == counts["service_records"]


def test_every_store_stocks_the_catalogue_and_its_ledger_explains_its_shelf(group):
    conn, _counts, _url = group
    [(stores, products)] = rows(
        conn, "SELECT count(DISTINCT store_id), count(DISTINCT product_id) FROM shop_store_stock"
    )
    assert stores == STORES and products > 0
    [(shelves,)] = rows(conn, "SELECT count(*) FROM shop_store_stock")
    assert shelves == stores * products
    unexplained = rows(
        conn,
        "SELECT s.store_id, s.product_id FROM shop_store_stock s LEFT JOIN ("
        " SELECT store_id, product_id, sum(delta) AS total FROM shop_stock_moves"
        " GROUP BY store_id, product_id) m"
        " ON m.store_id = s.store_id AND m.product_id = s.product_id"
        " WHERE s.stock != coalesce(m.total, 0)",
    )
    assert unexplained == []
    [(sold_at,)] = rows(
        conn, "SELECT count(DISTINCT store_id) FROM shop_stock_moves WHERE delta < 0"
    )
    [(lower,)] = conn.execute(
        text("SELECT count(*) FROM shop_store_stock WHERE stock < :full"), {"full": STORE_STOCK}
    ).all()
    assert sold_at > 1 and lower > 0  # sales took units off the selling stores' shelves


def test_a_hundred_stores_in_two_time_zones_a_few_large(group):
    conn, _counts, _url = group
    zones = dict(rows(conn, "SELECT timezone, count(*) FROM stores GROUP BY timezone"))
    assert sum(zones.values()) == STORES
    assert zones["Asia/Shanghai"] > zones["Asia/Urumqi"] > 0
    sizes = [
        n
        for (n,) in rows(
            conn,
            "SELECT count(u.id) FROM stores s LEFT JOIN users u "
            "ON u.store_id = s.id AND u.role = 'owner' GROUP BY s.id",
        )
    ]
    assert max(sizes) > 4 * max(median(sizes), 1)


def test_some_customers_have_ten_years_some_none(group):
    conn, _counts, _url = group
    history = rows(
        conn,
        "SELECT u.id, min(r.completed_at) FROM users u JOIN vehicles v ON v.owner_id = u.id "
        "LEFT JOIN service_records r ON r.vehicle_id = v.id WHERE u.role = 'owner' GROUP BY u.id",
    )
    none = [uid for uid, first in history if first is None]
    first_visits = [datetime.fromisoformat(str(first)) for _uid, first in history if first]
    eight_years_ago = (WHEN - timedelta(days=8 * 365)).replace(tzinfo=None)
    assert 0.05 < len(none) / len(history) < 0.2
    assert sum(first < eight_years_ago for first in first_visits) > len(history) * 0.05


def test_visits_peak_before_the_spring_festival_and_dip_during_it(group):
    conn, _counts, _url = group
    months = dict(
        rows(conn, "SELECT strftime('%m', completed_at), count(*) FROM service_records GROUP BY 1")
    )
    assert months["01"] > 1.6 * months["02"]
    assert months["09"] > 1.3 * months["02"]


def test_vins_plates_and_phones_valid_and_unique(group):
    conn, _counts, _url = group
    cars = rows(conn, "SELECT vin, plate FROM vehicles")
    assert all(normalize_vin(vin) == vin and normalize_plate(plate) == plate for vin, plate in cars)
    assert len({v for v, _ in cars}) == len({p for _, p in cars}) == len(cars)
    phones = [p for (p,) in rows(conn, "SELECT phone FROM users")]
    assert all(normalize_phone(p) == p for p in phones)


def test_bookings_of_three_years_tied_to_their_service_records(group):
    conn, _counts, _url = group
    live = (WHEN - timedelta(days=3 * 365 + 1)).replace(tzinfo=None)
    completed = rows(
        conn,
        "SELECT b.id, b.vehicle_id, r.vehicle_id, b.slot_start FROM bookings b "
        "LEFT JOIN service_records r ON r.booking_id = b.id "
        "WHERE b.status = 'completed'",
    )
    assert completed and all(car == rec for _id, car, rec, _slot in completed)
    assert all(datetime.fromisoformat(str(slot)) >= live for *_x, slot in completed)
    foreign = rows(
        conn,
        "SELECT count(*) FROM bookings b JOIN vehicles v ON v.id = b.vehicle_id "
        "WHERE v.owner_id != b.owner_id",
    )
    assert foreign[0][0] == 0
    upcoming = rows(conn, "SELECT sum(used) FROM slot_usage")[0][0]
    holding = rows(conn, "SELECT count(*) FROM bookings WHERE status IN ('submitted', 'accepted')")
    assert upcoming == holding[0][0] > 0


def digest(url: str) -> str:
    engine = create_engine(url)
    sha = hashlib.sha256()
    with engine.connect() as conn:
        for table in (
            "stores",
            "vehicles",
            "service_records",
            "service_items",
            "bookings",
            "crm_leads",
            "audit_events",
            "video_sessions",
            "shop_stock_moves",
        ):
            for row in rows(conn, f"SELECT * FROM {table} ORDER BY id"):  # noqa: S608
                sha.update(repr(tuple(row)).encode())
    engine.dispose()
    return sha.hexdigest()


def test_the_same_seed_gives_the_same_rows(tmp_path, group):
    again, _ = build(tmp_path / "again.db", seed=9)
    assert digest(again) == digest(group[2])


def test_processes_side_by_side_give_the_rows_of_one(tmp_path):
    """With jobs=2 on PostgreSQL two processes make the chunks, each COPYing on its own
    connection (elsewhere the chunks are made in-process): the rows are those of one process."""
    digests = []
    for jobs in (1, 2):
        url = dataset_url(tmp_path, f"group_jobs{jobs}")
        set_clock(lambda: WHEN)
        try:
            counts = generate_group(url, "tiny", seed=4, reset=True, jobs=jobs, chunk_size=100)
        finally:
            set_clock(None)
        assert counts["users"] == SCALES["tiny"]
        digests.append(digest(url))
    assert digests[0] == digests[1]


def test_each_car_carries_its_owners_store(group):
    conn, _counts, _url = group
    cars, misplaced = conn.execute(
        text(
            "SELECT count(*), sum(CASE WHEN v.store_id IS u.store_id THEN 0 ELSE 1 END) "
            "FROM vehicles v JOIN users u ON u.id = v.owner_id"
        )
    ).one()
    assert cars > 0 and misplaced == 0
