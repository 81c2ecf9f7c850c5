"""Time the staff pages that used to load one row's relations per row (N+1), in rounds.

    python -m bench.run_staff_pages --database-url postgresql+psycopg://... [--rounds 5]

On a dataset from `python -m bench.generate --group --scale ...`: signs in as the group's
admin and as the manager of the largest store (bench.run_backoffice's production app and
sign-in), requests each page once to warm up and then --requests times per round, and
prints per page the median of the rounds' p50 and p99, their spread (min-max) and the SQL
statements per request. Run it on the code before and after a change, on the same data.
"""

from __future__ import annotations

import argparse
import os
import statistics

from bench import backoffice as crawl
from bench.generate import STAFF_PASSWORD
from bench.group import ADMIN_LOGIN, manager_login
from bench.run_backoffice import percentile, production_app
from portal.extensions import db

PAGES = (
    "/admin/queue/",
    "/admin/queue/items?after=0",
    "/admin/usedcar_review/",
    "/admin/advisors/",
    "/admin/notices/",
    "/admin/leads/?scope=store",
    "/admin/vehicles_admin/?sort=0",
    "/admin/vehicles_admin/",
)


def measure(staff: crawl.Staff, url: str, rounds: int, n: int, counter: crawl.Counter) -> dict:
    """Return the page's status, statements per request and per-round p50 and p99 (ms)."""
    status, _s, _b = crawl.get(staff, url)
    p50s, p99s, before, total = [], [], counter.n, 0
    for _ in range(rounds):
        times = [crawl.get(staff, url)[1] for _ in range(n)]
        total += n
        p50s.append(percentile(times, 50))
        p99s.append(percentile(times, 99))
    return {
        "status": status,
        "sql": round((counter.n - before) / total, 1),
        "p50": p50s,
        "p99": p99s,
    }


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run_staff_pages", description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=10, help="per round")
    parser.add_argument("--only", default="", help="measure only URLs containing this text")
    args = parser.parse_args(argv)
    app = production_app(args.database_url)
    counter = crawl.Counter(app)
    print(f"load {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(
        "| who | URL | status | SQL per request | p50 ms median (min-max) "
        "| p99 ms median (min-max) |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    try:
        for role, login in (("admin", ADMIN_LOGIN), ("manager", manager_login(0))):
            staff = crawl.sign_in(app, role, login, STAFF_PASSWORD)
            for url in [p for p in PAGES if args.only in p]:
                r = measure(staff, url, args.rounds, args.requests, counter)
                print(
                    f"| {role} | `{url}` | {r['status']} | {r['sql']} | {spread(r['p50'])} | "
                    f"{spread(r['p99'])} |",
                    flush=True,
                )
    finally:
        counter.close()
        with app.app_context():
            db.engine.dispose()
    print(f"load {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
