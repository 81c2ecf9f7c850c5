"""Time the heavy back-office pages in-process and EXPLAIN their slowest statements.

    python -m bench.explain_backoffice --database-url postgresql+psycopg://...  [--explain]

Signs in (through the real form) as the bench dataset's admin and as the managers of its
second and first store, requests each URL `--rounds` times in a row (after one warm-up request) and
prints p50/p99, statements per request and the slowest statement's time. With --explain it
prints EXPLAIN (ANALYZE, BUFFERS) of each URL's slowest statement (run once more, read-only).
Run on PostgreSQL against `python -m bench.generate --owners 100000 --maintenance`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from sqlalchemy import event

from portal.app import create_app
from portal.extensions import db

# bench/rows.py insert_staff: the admin and the managers of the second and the first store
ADMIN_LOGIN, MANAGER_LOGIN, MANAGER1_LOGIN = "13900000001", "13900001100", "13900000100"
STAFF_PASSWORD = "m4s-bench-staff"  # noqa: S105 - bench.generate's public staff password

# (who, url): the pages issue 21 measured as slow, and their searches, sorts and deep pages.
URLS = [
    ("manager", "/admin/booking_analytics/"),
    ("admin", "/admin/booking_analytics/"),
    ("manager", "/admin/vehicles_admin/?sort=0"),
    ("manager1", "/admin/vehicles_admin/?sort=0"),  # store 1's plates sort after store 2's
    ("manager", "/admin/vehicles_admin/"),
    ("admin", "/admin/vehicles_admin/?search=%E4%BA%ACA1"),
    ("manager", "/admin/owners/?search=13800012"),
    ("manager", "/admin/owners/?search=%E7%8E%8B%E4%BC%9F"),
    ("admin", "/admin/owners/?sort=0"),
    ("manager", "/admin/owners/?sort=0"),
    ("admin", "/admin/owners/"),
    ("admin", "/admin/reviewed/?page=300"),
    ("admin", "/admin/reviewed/?sort=1"),
    ("admin", "/admin/reviewed/?sort=1&page=300"),
    ("admin", "/admin/"),
    ("manager", "/admin/"),
]


class Statements:
    """Record each statement of a request with its duration."""

    def __init__(self):
        self.rows: list[tuple[float, str, object]] = []
        self._started = 0.0

    def before(self, conn, cursor, statement, parameters, context, executemany):
        self._started = time.perf_counter()

    def after(self, conn, cursor, statement, parameters, context, executemany):
        self.rows.append((time.perf_counter() - self._started, statement, parameters))


def login(app, phone: str):
    client = app.test_client()
    response = client.post("/login", data={"login": phone, "password": STAFF_PASSWORD})
    if response.status_code != 303:
        raise SystemExit(f"login {phone}: {response.status_code}")
    return client


def measure(app, clients, who: str, url: str, rounds: int, explain: bool) -> dict:
    client = clients[who]
    client.get(url)  # warm-up: templates, caches, the plan cache
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{who} {url}: {response.status_code}")
    stmts = Statements()
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", stmts.before)
    event.listen(engine, "after_cursor_execute", stmts.after)
    try:
        client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", stmts.before)
        event.remove(engine, "after_cursor_execute", stmts.after)
    selects = [s for s in stmts.rows if s[1].lstrip().upper().startswith(("SELECT", "WITH"))]
    slowest = max(selects, default=(0.0, "", None))
    times.sort()
    result = {
        "who": who,
        "url": url,
        "p50": statistics.median(times),
        "p99": times[min(len(times) - 1, round(0.99 * (len(times) - 1)))],
        "statements": len(selects),
        "slowest_ms": slowest[0] * 1000,
    }
    if explain and slowest[1]:
        with engine.connect() as conn:
            plan = conn.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS) " + slowest[1], slowest[2]
            ).scalars()
            result["plan"] = "\n".join(plan)
            conn.rollback()
        result["sql"] = slowest[1]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.explain_backoffice")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--only", help="measure only URLs containing this text")
    args = parser.parse_args(argv)
    app = create_app(
        {
            "ENV": "testing",
            "SECRET_KEY": "bench-backoffice-not-secret-" + "0" * 32,
            "DATABASE_URL": args.database_url,
            "RATELIMIT_ENABLED": False,
            "DEFAULT_LOCALE": "zh_CN",
            "WTF_CSRF_ENABLED": False,  # the bench posts the login form without a token
        }
    )
    clients = {
        "admin": login(app, ADMIN_LOGIN),
        "manager": login(app, MANAGER_LOGIN),
        "manager1": login(app, MANAGER1_LOGIN),
    }
    print("| who | URL | p50 ms | p99 ms | statements | slowest statement ms |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    results = []
    for who, url in URLS:
        if args.only and args.only not in url:
            continue
        r = measure(app, clients, who, url, args.rounds, args.explain)
        results.append(r)
        print(
            f"| {who} | `{url}` | {r['p50']:.1f} | {r['p99']:.1f} | {r['statements']} "
            f"| {r['slowest_ms']:.1f} |",
            flush=True,
        )
    if args.explain:
        for r in results:
            sql, plan = r.get("sql", ""), r.get("plan", "")
            print(f"\n### {r['who']} {r['url']}\n\n```\n{sql}\n\n{plan}\n```")
    return 0


if __name__ == "__main__":
    sys.exit(main())
