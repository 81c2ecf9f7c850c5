"""The analytics bench's table: both sides of every page, medians with their spread."""

from __future__ import annotations

from argparse import Namespace
from datetime import date, timedelta

from bench.run_analytics import markdown, page_url


def side(*p50s: float) -> list[dict]:
    return [{"p50": p, "parts": p / 2, "sql": 15.0} for p in p50s]


def test_the_table_has_both_sides_with_median_and_spread():
    results = {("admin", 90): {False: side(900, 700, 800), True: side(400, 600, 500)}}
    sizes = {"stores": 100, "service_items": 2_095_075}
    table = markdown(
        results,
        Namespace(rounds=3, requests=5, compare="index"),
        "python -m bench.run_analytics --database-url postgresql:///x",
        sizes,
        ["1.0 1.0 1.0", "2.0 2.0 2.0"],
        [2.5, 2.7],
    )
    assert (
        "| admin | 90 days | 15.0 | 800 (700-900) → 500 (400-600) | 400 (350-450) → 250 (200-300) |"
        in table
    )
    assert "`python -m bench.run_analytics --database-url postgresql:///x`" in table
    assert "2,095,075 service_items" in table and "2600 (2500-2700) ms" in table


def test_the_rollups_table_names_its_sides_and_no_index_build():
    results = {("manager", 90): {False: side(900, 700, 800), True: side(400, 600, 500)}}
    table = markdown(
        results,
        Namespace(rounds=3, requests=5, compare="rollups"),
        "python -m bench.run_analytics --compare rollups --database-url postgresql:///x",
        {"stores": 100},
        ["1.0 1.0 1.0", "2.0 2.0 2.0"],
        [],
    )
    assert "with and without the daily rollups" in table and "without → with rollups" in table
    assert "| manager | 90 days | 15.0 | 800 (700-900) → 500 (400-600) |" in table
    assert "building the index" not in table


def test_a_page_ends_today_and_spans_its_days():
    url = page_url(90)
    today = date.today()
    assert url.endswith(f"start={today - timedelta(days=89)}&end={today}")
