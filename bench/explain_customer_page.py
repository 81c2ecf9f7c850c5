"""Time the staff customer page in-process, statement by statement, read-only.

    python -m bench.explain_customer_page --database-url postgresql+psycopg://.../bench_1m \
        [--customers 20 --runs 5 --explain --plans /tmp/plans.txt]

The page of the customers of the largest store with the most service history (as
`bench.run_leads` picks them), as that store's manager. Nothing is written: every transaction is
READ ONLY (PostgreSQL refuses a write), and nobody signs in through the form: the manager is put
in the request context (flask_login.login_user) and the page's view is called, its template
rendered. Each page is built --runs times after a warm-up; its statements are recorded with
SQLAlchemy's cursor events. With --explain every statement of the slowest page is run
--runs times under EXPLAIN (ANALYZE, BUFFERS): the median execution time of each is printed,
and with --plans the plan of its median run is written to that file.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time

from flask_login import login_user
from sqlalchemy import event, select, text

from bench.group import manager_login
from bench.run_backoffice import production_app
from portal.extensions import db
from portal.models import User

VETERANS = (
    "SELECT v.owner_id FROM service_records s JOIN vehicles v ON v.id = s.vehicle_id "
    "WHERE s.store_id = 1 GROUP BY v.owner_id ORDER BY count(*) DESC LIMIT :n"
)


class Statements:
    """Record each statement with its parameters and duration."""

    def __init__(self):
        self.rows: list[tuple[float, str, object]] = []
        self.started = 0.0

    def before(self, conn, cursor, statement, parameters, context, executemany):
        self.started = time.perf_counter()

    def after(self, conn, cursor, statement, parameters, context, executemany):
        self.rows.append((time.perf_counter() - self.started, statement, parameters))


def page(app, manager_id: int, customer_id: int, stmts: Statements) -> tuple[float, list]:
    """Build the customer's page once; return its milliseconds and its statements."""
    with app.test_request_context(f"/admin/crm_customers/{customer_id}"):
        login_user(db.session.get(User, manager_id))
        stmts.rows = []
        started = time.perf_counter()
        response = app.make_response(app.dispatch_request())
        ms = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"customer {customer_id}: {response.status_code}")
        return ms, list(stmts.rows)


def explain(engine, sql: str, params, runs: int) -> tuple[float, float, str]:
    """Return the statement's median execution time, its median planning time and the plan
    of the run of median execution time."""
    found, planning = [], []
    with engine.connect() as conn:
        for _ in range(runs):
            plan = "\n".join(
                conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).scalars()
            )
            ms = float(re.search(r"Execution Time: ([\d.]+) ms", plan).group(1))
            planning.append(float(re.search(r"Planning Time: ([\d.]+) ms", plan).group(1)))
            found.append((ms, plan))
        conn.rollback()
    found.sort(key=lambda p: p[0])
    ms, plan = found[len(found) // 2]
    return ms, statistics.median(planning), plan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.explain_customer_page")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--ids", help="comma-separated customer ids instead of the veterans")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--plans", help="write each statement and its median plan here")
    args = parser.parse_args(argv)
    read_only = {"options": "-c jit=off -c default_transaction_read_only=on"}
    app = production_app(
        args.database_url,
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": read_only},
        RATELIMIT_ENABLED=False,
    )
    with app.app_context():
        engine = db.engine
        manager_id = db.session.scalar(select(User.id).where(User.phone == manager_login(0)))
        if args.ids:
            ids = [int(k) for k in args.ids.split(",")]
        else:
            ids = list(db.session.scalars(text(VETERANS), {"n": args.customers}))
    stmts = Statements()
    event.listen(engine, "before_cursor_execute", stmts.before)
    event.listen(engine, "after_cursor_execute", stmts.after)
    print("| customer | p50 ms | max ms | statements | SQL ms (median run) |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    every, slowest = [], (0.0, 0, [])
    for cid in ids:
        page(app, manager_id, cid, stmts)  # warm-up
        runs = [page(app, manager_id, cid, stmts) for _ in range(args.runs)]
        runs.sort(key=lambda r: r[0])
        ms, rows = runs[len(runs) // 2]
        every += [r[0] for r in runs]
        sql_ms = sum(r[0] for r in rows) * 1000
        print(f"| {cid} | {ms:.1f} | {runs[-1][0]:.1f} | {len(rows)} | {sql_ms:.1f} |", flush=True)
        if ms > slowest[0]:
            slowest = (ms, cid, rows)
    event.remove(engine, "before_cursor_execute", stmts.before)
    event.remove(engine, "after_cursor_execute", stmts.after)
    every.sort()
    p99 = every[min(len(every) - 1, round(0.99 * (len(every) - 1)))]
    print(f"\nall pages: n={len(every)} p50 {statistics.median(every):.1f} ms, p99 {p99:.1f} ms")
    if not args.explain:
        return 0
    print(f"\nstatements of customer {slowest[1]}'s page, EXPLAIN ANALYZE median of {args.runs}:")
    print("| # | execution ms | planning ms | statement |")
    print("| ---: | ---: | ---: | --- |")
    out = []
    for k, (_sec, sql, params) in enumerate(slowest[2], 1):
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        ms, planning, plan = explain(engine, sql, params, args.runs)
        head = " ".join(sql.split())[:90]
        print(f"| {k} | {ms:.2f} | {planning:.2f} | `{head}` |", flush=True)
        out.append(f"-- #{k}: {ms:.2f} ms\n{sql}\n{params}\n\n{plan}\n")
    if args.plans:
        with open(args.plans, "w", encoding="utf-8") as fh:
            fh.write("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
