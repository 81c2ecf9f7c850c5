"""The crawler's arithmetic: percentiles, limits, growth and the table it writes."""

from __future__ import annotations

from argparse import Namespace

from bench.run_backoffice import markdown, percentile, verdicts

ARGS = Namespace(
    limit_ms=300.0,
    growth=2.0,
    growth_floor_ms=20.0,
    requests=30,
    small="postgresql:///bench_10k",
    large="postgresql:///bench_100k",
)


def page(p50: float, p99: float, status: int = 200, url: str = "/admin/x/") -> dict:
    return {"url": url, "n": 30, "status": status, "sql": 3, "p50": p50, "p95": p99, "p99": p99}


def test_percentile_is_nearest_rank_in_milliseconds():
    seconds = [i / 1000 for i in range(1, 101)]  # 1 ms .. 100 ms
    assert percentile(seconds, 50) == 50.0
    assert percentile(seconds, 99) == 99.0
    assert percentile([0.2, 0.1, 0.3], 99) == 300.0


def test_limits_growth_and_server_errors():
    small = {
        "admin a [default]": page(10, 12),
        "admin b [default]": page(40, 50),
        "admin c [default]": page(5, 6),
        "admin d [default]": page(50, 60),
        "admin e [default]": page(5, 6, status=500),
        "admin f [default]": page(2, 3, 302),
    }
    large = {
        "admin a [default]": page(15, 301),
        "admin b [default]": page(81, 120),
        "admin c [default]": page(15, 19),
        "admin d [default]": page(60, 80),
        "admin e [default]": page(5, 6),
        "admin f [default]": page(900, 950, 302),
    }
    rows = {r["key"]: r for r in verdicts(small, large, ARGS)}
    assert rows["admin a [default]"]["problems"] == ["p99 over 300 ms"]
    assert rows["admin b [default]"]["problems"] == ["growth over 2x"]
    assert rows["admin b [default]"]["growth"] == 2.02
    assert rows["admin c [default]"]["problems"] == []  # 3x, but 15 ms: under the floor
    assert rows["admin d [default]"]["problems"] == []
    assert rows["admin e [default]"]["problems"] == ["HTTP 500"]
    assert rows["admin f [default]"]["problems"] == []  # a redirect is not a page
    table = markdown(list(rows.values()), ARGS, "python -m bench.run_backoffice ...", "1.0")
    assert "**3 of 6 URLs over the limits**" in table
    assert "| admin a [default] | 200 · 10 / 12 / 12 · 3 | 200 · 15 / 301 / 301 · 3 |" in table
