"""Time the repair analytics page on the group dataset, with and without the parts index
(--compare index, the default) or with and without the daily rollups (--compare rollups).

    python -m bench.run_analytics --database-url postgresql+psycopg://... [--rounds 3]

--compare rollups: the "with" side reads the summable figures of closed days from
store_daily_counts (admin/analytics_rollups.py), the "without" side from the raw rows
(ANALYTICS_FROM_ROLLUPS off), in the same run on the same data; fill the rollups first with
`flask m4s daily-stats --days 400`.

On a dataset from `python -m bench.generate --group --scale ...` at this commit's schema
(migration 0062 builds ix_service_items_part_record, the part lines by record with every
column the parts lists read). Signs in as the group's admin and as the manager of the largest
store (bench.run_backoffice's production app and sign-in) and times /admin/booking_analytics/
for each --pages entry (role:days, the period ending today).

The baseline is measured in the same run on the same data: every round drops the index,
measures every page, builds the index again and measures again; the order of the two sides
alternates from round to round, so that a shared machine's drift falls on both. One warm-up
request per page and side, then --requests timed ones. Per page and side it reports the
median of the rounds' p50 with their spread (min-max), the milliseconds spent in the
statements that read service_items (the parts lists), and the SQL statements per request.
The index is left built. The table and the exact command are appended to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import event, text

from bench import backoffice as crawl
from bench.generate import STAFF_PASSWORD
from bench.group import ADMIN_LOGIN, manager_login
from bench.harness import RESULTS_MD, git_commit, log
from bench.run_backoffice import percentile, production_app
from portal.extensions import db
from portal.models import ServiceItem

INDEX = "ix_service_items_part_record"
URL = "/admin/booking_analytics/"
LOGINS = {"admin": ADMIN_LOGIN, "manager": manager_login(0)}


class Timer:
    """Count the statements of the app and the seconds of those that read service_items."""

    def __init__(self, engine) -> None:
        self.engine, self.n, self.parts, self._started = engine, 0, 0.0, 0.0
        event.listen(engine, "before_cursor_execute", self.before)
        event.listen(engine, "after_cursor_execute", self.after)

    def before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self._started = time.perf_counter()

    def after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.n += 1
        if "service_items" in statement:
            self.parts += time.perf_counter() - self._started

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self.before)
        event.remove(self.engine, "after_cursor_execute", self.after)


def set_index(app, built: bool) -> float:
    """Build or drop the parts index (the model's own definition); return the seconds taken."""
    index = next(i for i in ServiceItem.__table__.indexes if i.name == INDEX)
    started = time.perf_counter()
    with app.app_context(), db.engine.begin() as conn:
        (index.create if built else index.drop)(bind=conn, checkfirst=True)
    return time.perf_counter() - started


def set_rollups(app, on: bool) -> float:
    """Read the analytics from the rollups, or everything raw (the baseline)."""
    app.config["ANALYTICS_FROM_ROLLUPS"] = on
    return 0.0


def prepare(app) -> dict[str, int]:
    """VACUUM ANALYZE the two tables (both sides then read the same statistics and visibility
    map); return their sizes for the report."""
    with app.app_context():
        with db.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("VACUUM ANALYZE service_records")
            conn.exec_driver_sql("VACUUM ANALYZE service_items")
            sizes = {
                table: conn.scalar(text(f"SELECT count(*) FROM {table}"))  # noqa: S608
                for table in ("stores", "users", "service_records", "service_items")
            }
            sizes["part lines"] = conn.scalar(
                text("SELECT count(*) FROM service_items WHERE kind = 'part'")
            )
        db.engine.dispose()
    return sizes


def page_url(days: int) -> str:
    today = date.today()
    return f"{URL}?start={today - timedelta(days=days - 1)}&end={today}"


def measure(staff: crawl.Staff, url: str, n: int, timer: Timer) -> dict:
    """Warm up once, then time n requests: p50 ms, parts statements ms (median), SQL/request."""
    status, _s, _b = crawl.get(staff, url)
    if status != 200:
        raise SystemExit(f"{staff.role} {url}: {status}")
    times, parts, before = [], [], timer.n
    for _ in range(n):
        timer.parts = 0.0
        times.append(crawl.get(staff, url)[1])
        parts.append(timer.parts)
    return {
        "p50": percentile(times, 50),
        "parts": round(statistics.median(parts) * 1000, 1),
        "sql": round((timer.n - before) / n, 1),
    }


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} ({min(values):.0f}-{max(values):.0f})"


def markdown(results: dict, args, command: str, sizes: dict, loads: list[str], builds) -> str:
    what = "the daily rollups" if args.compare == "rollups" else "the parts index"
    lines = [
        "",
        f"## Repair analytics with and without {what}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC (`{git_commit()}`)",
        "",
        f"- Command: `{command}`",
        "- Dataset: " + ", ".join(f"{v:,} {k}" for k, v in sizes.items()),
        f"- {args.rounds} rounds x {args.requests} requests per page and side, sides alternating;"
        f" load average before / after: {loads[0]} / {loads[1]}"
        + (
            f"; building the index took {spread([b * 1000 for b in builds])} ms"
            if args.compare == "index"
            else ""
        ),
        "",
        f"| who | period | SQL per request | page p50 ms without → with {args.compare}, "
        "median (min-max) "
        "| parts statements ms without → with |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for (role, days), sides in results.items():
        off, on = sides[False], sides[True]
        lines.append(
            f"| {role} | {days} days | {on[0]['sql']} | "
            f"{spread([r['p50'] for r in off])} → {spread([r['p50'] for r in on])} | "
            f"{spread([r['parts'] for r in off])} → {spread([r['parts'] for r in on])} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run_analytics",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=3, help="per page, side and round")
    parser.add_argument(
        "--pages", default="admin:90,manager:90,manager:365", help="role:days, comma-separated"
    )
    parser.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    parser.add_argument("--compare", choices=("index", "rollups"), default="index")
    args = parser.parse_args(argv)
    argv_text = " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    command = f"python -m bench.run_analytics {argv_text}"
    pages = [(role, int(days)) for role, days in (p.split(":") for p in args.pages.split(","))]
    app = production_app(args.database_url)
    loads = [" ".join(f"{x:.1f}" for x in os.getloadavg())]
    set_index(app, True)  # checkfirst: only if it is missing
    sizes = prepare(app)
    log(f"dataset {sizes}")
    with app.app_context():
        timer = Timer(db.engine)
    staff = {role: crawl.sign_in(app, role, LOGINS[role], STAFF_PASSWORD) for role, _ in pages}
    results = {page: {False: [], True: []} for page in pages}
    builds, state = [], True  # prepare() left the index built, the rollups on by default
    switch = set_rollups if args.compare == "rollups" else set_index
    try:
        for round_no in range(args.rounds):
            for built in (False, True) if round_no % 2 == 0 else (True, False):
                if built != state:
                    took, state = switch(app, built), built
                    if built:
                        builds.append(took)
                for role, days in pages:
                    r = measure(staff[role], page_url(days), args.requests, timer)
                    results[(role, days)][built].append(r)
                    log(f"round {round_no + 1} index {'on' if built else 'off'} {role} {days}: {r}")
    finally:
        timer.close()
        set_index(app, True)
        with app.app_context():
            db.engine.dispose()
    loads.append(" ".join(f"{x:.1f}" for x in os.getloadavg()))
    report = markdown(results, args, command, sizes, loads, builds)
    print(report)
    if not args.no_write:
        with RESULTS_MD.open("a") as fh:
            fh.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
