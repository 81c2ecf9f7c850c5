"""Time the group's comparison of stores read from the daily rollups against the raw count.

    python -m bench.run_group_dashboard --database-url postgresql+psycopg://... [--rounds 4]
                                        [--charts]

On a dataset from `python -m bench.generate --group --scale ...` (migrated to this commit's
schema first). Runs the daily-stats job (timed, and once more to time a rerun), then signs in
as the group's admin (every store) and times /admin/group_dashboard/ for each period.

The baseline is measured in the same run on the same data: the "raw" side empties
store_daily_stats_spans, so the page counts every day from the raw rows (the computation it
did before the rollups), and the "rollup" side puts the spans back. The sides alternate from
round to round, so that a shared machine's drift falls on both. One warm-up request per page
and side, then --requests timed ones. Before timing it checks, for every period, that the
figures read from the rollup equal the raw count. The table and the exact command are
appended to bench/RESULTS.md. With --charts, both sides read the rollup and the sides are the
charts instead: every store's bar (the page before charts kept the ends) against the highest
and lowest ten.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask_migrate import upgrade
from sqlalchemy import delete, event, insert, select

from admin import daily_stats, group_stats
from admin import group as group_page
from admin.daily_stats_models import StoreContactMedian, StoreDailyStats, StoreStatsSpan
from bench import backoffice as crawl
from bench.generate import STAFF_PASSWORD
from bench.group import ADMIN_LOGIN
from bench.harness import RESULTS_MD, git_commit, log
from bench.run_backoffice import percentile, production_app
from portal.extensions import db
from portal.models import Store, User
from portal.timeutil import now

URL = "/admin/group_dashboard/"


class Counter:
    """Count the app's SQL statements."""

    def __init__(self, engine) -> None:
        self.engine, self.n = engine, 0
        event.listen(engine, "before_cursor_execute", self.count)

    def count(self, *args) -> None:
        self.n += 1

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self.count)


def run_job(app) -> tuple[float, float, int]:
    """Run the daily-stats job twice; return the seconds of each run and the days written."""
    took = []
    with app.app_context():
        for _ in range(2):
            started = time.perf_counter()
            result = daily_stats.refresh_daily_stats()
            db.session.commit()
            took.append(time.perf_counter() - started)
    return took[0], took[1], result["store_days"]


def check_equal(app) -> None:
    """Stop unless the rollup-read figures equal the raw count for every period and store."""
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.phone == ADMIN_LOGIN))
        zones = dict(db.session.execute(select(Store.id, Store.timezone)).all())
        at = now()
        for key in group_stats.PERIODS:
            rolled = {
                r.store_id: asdict(r) | {"contact_as_of": None}
                for r in daily_stats.period_figures(admin, key, at)
            }
            raw = {}
            for zone in set(zones.values()):
                period = group_stats.period(key, at.astimezone(ZoneInfo(zone)).date(), zone)
                for r in group_stats.figures(admin, period.start, period.end):
                    if zones[r.store_id] == zone:
                        raw[r.store_id] = asdict(r)
            if rolled != raw:
                raise SystemExit(f"period {key}: the rollup differs from the raw count")
            log(f"period {key}: rollup equals the raw count for {len(raw)} stores")
        db.session.rollback()


def set_spans(app, rows: dict | None) -> dict:
    """Empty the spans and the worker's contact medians (rows None) or put these rows back;
    return the rows there were. Without them the page counts and ranks everything raw."""
    tables = {
        "spans": (StoreStatsSpan, ("store_id", "first_day", "last_day", "computed_at")),
        "medians": (
            StoreContactMedian,
            ("store_id", "period", "first_day", "last_day", "minutes", "computed_at"),
        ),
    }
    with app.app_context():
        kept = {
            name: [{c: getattr(r, c) for c in cols} for r in db.session.scalars(select(model))]
            for name, (model, cols) in tables.items()
        }
        for name, (model, _cols) in tables.items():
            db.session.execute(delete(model))
            if rows and rows.get(name):
                db.session.execute(insert(model), rows[name])
        db.session.commit()
    return kept


def measure(staff: crawl.Staff, url: str, n: int, counter: Counter) -> dict:
    """Warm up once, then time n requests: p50 ms and SQL statements per request."""
    status, _s, _b = crawl.get(staff, url)
    if status != 200:
        raise SystemExit(f"{url}: {status}")
    times, before = [], counter.n
    for _ in range(n):
        times.append(crawl.get(staff, url)[1])
    return {"p50": percentile(times, 50), "sql": round((counter.n - before) / n, 1)}


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} ({min(values):.0f}-{max(values):.0f})"


def markdown(results, args, command: str, sizes: dict, loads: list[str], job) -> str:
    first, rerun, days = job
    lines = [
        "",
        f"## Group comparison from the daily rollups (issues 21/22), "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC (`{git_commit()}`)",
        "",
        f"- Command: `{command}`",
        "- Dataset: " + ", ".join(f"{v:,} {k}" for k, v in sizes.items()),
        f"- daily-stats job (92 days, every store): first run {first * 1000:.0f} ms, rerun "
        f"{rerun * 1000:.0f} ms, {days:,} store-days; rollup-read figures checked equal to the "
        "raw count for every period and store before timing",
        f"- {args.rounds} rounds x {args.requests} requests per page and side, sides "
        f"alternating; load average before / after: {loads[0]} / {loads[1]}",
        "",
        "| who | period | SQL per request raw → rollup | page p50 ms raw → rollup, "
        "median of rounds (min-max) |",
        "| --- | --- | ---: | ---: |",
    ]
    for key, sides in results.items():
        raw, rolled = sides["raw"], sides["rollup"]
        lines.append(
            f"| admin (all stores) | {key} | {raw[0]['sql']} → {rolled[0]['sql']} | "
            f"{spread([r['p50'] for r in raw])} → {spread([r['p50'] for r in rolled])} |"
        )
    return "\n".join(lines) + "\n"


def sizes_of(app) -> dict:
    from crm.models import Lead
    from portal.models import Booking
    from shop.models import Order

    with app.app_context():
        return {
            name: db.session.scalar(select(db.func.count()).select_from(model))
            for name, model in (
                ("stores", Store),
                ("bookings", Booking),
                ("leads", Lead),
                ("shop orders", Order),
                ("rollup rows", StoreDailyStats),
            )
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run_group_dashboard",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--requests", type=int, default=5, help="per page, side and round")
    parser.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    parser.add_argument(
        "--charts",
        action="store_true",
        help="compare the charts instead: every store's bar (A) against the highest and lowest "
        "ten (B), both read from the rollup",
    )
    args = parser.parse_args(argv)
    argv_text = " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    command = f"python -m bench.run_group_dashboard {argv_text}"
    app = production_app(args.database_url)
    with app.app_context():
        upgrade()
    loads = [" ".join(f"{x:.1f}" for x in os.getloadavg())]
    job = run_job(app)
    log(f"job: first {job[0]:.2f} s, rerun {job[1]:.2f} s, {job[2]} store-days")
    check_equal(app)
    sizes = sizes_of(app)
    with app.app_context():
        counter = Counter(db.engine)
    staff = crawl.sign_in(app, "admin", ADMIN_LOGIN, STAFF_PASSWORD)
    results = {key: {"raw": [], "rollup": []} for key in group_stats.PERIODS}
    spans: dict = {}
    ends = group_page.CHART_ENDS
    try:
        for round_no in range(args.rounds):
            for side in ("raw", "rollup") if round_no % 2 == 0 else ("rollup", "raw"):
                if args.charts:  # raw = every store's bar, rollup = the ends only
                    group_page.CHART_ENDS = 10**6 if side == "raw" else ends
                elif side == "raw":
                    emptied = set_spans(app, None)
                    spans = emptied if any(emptied.values()) else spans
                else:
                    set_spans(app, spans)
                for key in group_stats.PERIODS:
                    r = measure(staff, f"{URL}?period={key}", args.requests, counter)
                    results[key][side].append(r)
                    log(f"round {round_no + 1} {side} {key}: {r}")
    finally:
        group_page.CHART_ENDS = ends
        counter.close()
        if spans:
            set_spans(app, spans)
        with app.app_context():
            db.engine.dispose()
    loads.append(" ".join(f"{x:.1f}" for x in os.getloadavg()))
    report = markdown(results, args, command, sizes, loads, job)
    if args.charts:
        report = report.replace("raw → rollup", "every bar → ends only").replace(
            "Group comparison from the daily rollups", "Group comparison: every bar or the ends"
        )
    print(report)
    if not args.no_write:
        with RESULTS_MD.open("a") as fh:
            fh.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
