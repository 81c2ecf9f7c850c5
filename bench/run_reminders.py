"""Time the maintenance-reminders job over 150k vehicles when nothing, or 1 %, changed.

Builds bench.generate's dataset (100k owners, 150k vehicles, ~1.1M readings) into a fresh
database, adds a default plan (engine oil every 10,000 km or 12 months, tyres every 40,000 km)
and seeds the steady state (every vehicle checked, its next date threshold ahead). Then:
- a run where nothing changed (every vehicle's next date threshold is still ahead);
- a run after 1 % of the vehicles got a new reading (only those are visited).
Each is the median of --rounds runs. Appends a line to bench/RESULTS.md unless --no-record.

    python -m bench.run_reminders --database-url sqlite:///bench/data/reminders.db
"""

from __future__ import annotations

import argparse
import random
import shlex
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=f"sqlite:///{ROOT / 'bench/data/reminders.db'}")
    parser.add_argument("--owners", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)

    from bench.generate import bench_app, generate
    from portal.extensions import db
    from portal.models import MaintenancePlan, PlanItem, ReminderCheck, Vehicle
    from portal.services import maintenance, reminder_checks
    from portal.services import vehicles as vehicle_svc

    (ROOT / "bench" / "data").mkdir(exist_ok=True)
    counts = generate(args.database_url, args.owners, reset=True, log=print)
    print(f"dataset: {counts}", flush=True)
    app = bench_app(args.database_url)
    with app.app_context():
        plan = MaintenancePlan(name="bench", is_default=True)
        plan.items.append(
            PlanItem(code="engine_oil", name="机油", interval_km=10_000, interval_months=12)
        )
        plan.items.append(PlanItem(code="tyres", name="轮胎", interval_km=40_000))
        db.session.add(plan)
        db.session.commit()
        # The steady state after a full run: every vehicle checked at its reading, its next
        # date threshold ahead (spread over the year). Seeded in bulk: a first full run visits
        # all 150k vehicles once (minutes), which is what a plan change costs, not a quiet day.
        today = maintenance._today()
        rows = [
            {"vehicle_id": vid, "km": km, "check_on": today + timedelta(days=1 + vid % 365)}
            for vid, km in db.session.execute(select(Vehicle.id, Vehicle.current_km))
        ]
        db.session.execute(ReminderCheck.__table__.insert(), rows)
        db.session.commit()

        def timed() -> tuple[float, int, int]:
            visit = len(reminder_checks.vehicles_to_check(maintenance._today()))
            db.session.commit()
            t = time.perf_counter()
            sent = maintenance.send_due_reminders()
            return time.perf_counter() - t, visit, sent

        quiet = [timed() for _ in range(args.rounds)]
        print(f"nothing changed: {quiet}", flush=True)
        ids = db.session.scalars(select(Vehicle.id)).all()
        changed = []
        rng = random.Random(7)
        for _ in range(args.rounds):
            for vid in rng.sample(ids, len(ids) // 100):
                car = db.session.get(Vehicle, vid)
                vehicle_svc.record_mileage(car, car.current_km + rng.randint(100, 3000))
            db.session.commit()
            changed.append(timed())
        print(f"1 % changed: {changed}", flush=True)
        dialect = db.engine.dialect.name
    q = statistics.median(t for t, _v, _s in quiet)
    c = statistics.median(t for t, _v, _s in changed)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    import os

    line = (
        f"- {datetime.now(UTC):%Y-%m-%d} · `{commit}` · reminders job, {dialect},"
        f" {counts.get('vehicles')} vehicles, load {os.getloadavg()[0]:.1f}: nothing changed"
        f" **{q * 1000:.0f} ms** median of {args.rounds} (0 vehicles visited; spread"
        f" {min(t for t, *_ in quiet) * 1000:.0f}-{max(t for t, *_ in quiet) * 1000:.0f} ms);"
        f" 1 % with a new reading {c:.1f} s ({changed[0][1]} visited, median of {args.rounds});"
        f" steady state seeded in bulk. `python -m bench.run_reminders "
        + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
        + "`"
    )
    print(line)
    if not args.no_record:
        with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as f:
            f.write(line + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
