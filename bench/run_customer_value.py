"""Time the nightly customer value (RFM) job, its rerun, the report and a value_band segment.

Builds bench.generate's dataset (owners in 2 stores, 1.5 vehicles each, with --maintenance the
service history) into a fresh database, then times crm.customer_value.refresh_values (the first
run seeds the default bands), a rerun over the same data, the report of store 1 and counting a
segment of its top two bands. Appends a line to bench/RESULTS.md unless --no-record.

    python -m bench.run_customer_value --database-url postgresql+psycopg://postgres@127.0.0.1/x
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--owners", type=int, default=100_000)
    parser.add_argument("--maintenance", action="store_true", help="with service history")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)

    from bench.generate import bench_app, generate
    from crm import customer_value, segments
    from portal.extensions import db
    from portal.models import ServiceRecord, Store

    counts = generate(
        args.database_url, args.owners, reset=True, log=print, maintenance=args.maintenance
    )
    print(f"dataset: {counts}", flush=True)
    app = bench_app(args.database_url)
    with app.app_context():
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
        records = db.session.scalar(select(func.count(ServiceRecord.id)))
        runs = []
        for _ in range(2):  # the first seeds the bands; the rerun replaces every row
            started = time.perf_counter()
            result = customer_value.refresh_values()
            db.session.commit()
            runs.append(time.perf_counter() - started)
        store = db.session.get(Store, 1)
        started = time.perf_counter()
        report = customer_value.value_report(store)
        report_s = time.perf_counter() - started
        top = [b.id for b in customer_value.bands(1)[:2]]
        started = time.perf_counter()
        found = segments.count(store, {"field": "value_band", "op": "in", "value": top})
        count_s = time.perf_counter() - started
        dialect = db.engine.dialect.name
    shares = ", ".join(
        f"{r.band.name_en if r.band else 'none'} {r.customer_share:.0f}%/{r.revenue_share:.0f}%"
        for r in report.rows
    )
    line = (
        f"- {datetime.now(UTC):%Y-%m-%d} · `{_commit()}` · {dialect}, load {_load()}: customer "
        f"value (RFM) of {result['customers']} customers over {records} service records: first "
        f"run {runs[0]:.1f} s, rerun {runs[1]:.1f} s; report of store 1 "
        f"{report_s * 1000:.0f} ms (customers/revenue per band: {shares}); counting its top two "
        f"bands ({found}) {count_s * 1000:.0f} ms. "
        f"`python -m bench.run_customer_value {shlex.join(argv or sys.argv[1:])}`"
    )
    print(line)
    if not args.no_record:
        with open(ROOT / "bench" / "RESULTS.md", "a") as out:
            out.write(line + "\n")
    return 0


def _commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() or "?"


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


if __name__ == "__main__":
    raise SystemExit(main())
