"""Time the worker's big export (issue 22 "Measured in bench/": a 1M-row export completes on
the worker in under 2 minutes, streaming, with memory under 300 MB).

    python -m bench.run_export --database-url postgresql+psycopg://.../bench_1m \
        --small-url postgresql+psycopg://.../bench_10k [--rounds 3 --formats csv,xlsx]

Both datasets come from `python -m bench.generate --group` (migrated to this commit's schema;
the bench refuses one that is behind). Each measurement is one fresh process, as the worker
is: it builds the production app on the dataset, queues an export of the group's customers
(`customers`, every owner of every store) as the group's admin, and makes the file with the
worker's own function (`admin.exports.make_file`, keyset batches, each batch released from
the session once written). It reports the wall time of make_file, the rows written, the file's
size and the process's peak resident memory (getrusage), then deletes the file and the job.

Every round measures the small dataset, then the large one, per format, so that the machine's
drift lands on both; the small dataset is the baseline (the time per row should not grow).
Prints each measure's median over the rounds with its min-max, never the best, and appends
the table with the command to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from datetime import UTC, datetime

from bench import harness
from bench.database import ROOT

CHILD = r"""
import json, os, resource, sys, time
from sqlalchemy import delete, select
from bench.run_backoffice import production_app
from portal.extensions import db
from portal.models import User
from admin import exports
from admin.models import ExportJob

url, fmt, folder = sys.argv[1], sys.argv[2], sys.argv[3]
app = production_app(url)
app.config["EXPORT_DIR"] = folder
with app.app_context():
    admin = db.session.scalar(
        select(User).where(User.role == "admin", User.is_active.is_(True)).order_by(User.id)
    )
    job = exports.queue_export(admin, "customers", fmt, "zh_CN")
    db.session.commit()
    job_id = job.id
    db.session.expunge_all()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    exports.make_file(job_id)
    seconds = time.perf_counter() - started
    job = db.session.get(ExportJob, job_id)
    path = exports.export_dir() / (job.file_name or "missing")
    size = path.stat().st_size if path.exists() else 0
    out = {
        "status": job.status, "error": job.error, "rows": job.done_rows,
        "total": job.total_rows, "seconds": seconds, "bytes": size,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_mb": rss_before / 1024,
    }
    path.unlink(missing_ok=True)
    db.session.execute(delete(ExportJob).where(ExportJob.id == job_id))
    db.session.commit()
print("RESULT " + json.dumps(out))
"""


def one(url: str, fmt: str, folder: str) -> dict:
    """Make one export in a fresh process; return its figures."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, url, fmt, folder],
        capture_output=True, text=True, cwd=ROOT, env=env, check=False,
    )  # fmt: skip
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        sys.exit(f"export failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    result = json.loads(line[len("RESULT ") :])
    if result["status"] != "done":
        sys.exit(f"export job ended {result['status']}: {result['error']}")
    return result


def spread(values: list[float], digits: int = 1) -> str:
    med = statistics.median(values)
    return f"{med:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True, help="the large group dataset")
    parser.add_argument("--small-url", required=True, help="the 10k group dataset (baseline)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--folder", default="/tmp/m4s-bench-exports")
    args = parser.parse_args(argv)
    formats = [f for f in args.formats.split(",") if f]
    os.makedirs(args.folder, exist_ok=True)
    for url in (args.small_url, args.database_url):
        harness.require_head(url)
    load_before = os.getloadavg()
    results: dict[tuple[str, str], list[dict]] = {}
    for r in range(args.rounds):
        for side, url in (("small", args.small_url), ("large", args.database_url)):
            for fmt in formats:
                res = one(url, fmt, args.folder)
                results.setdefault((side, fmt), []).append(res)
                harness.log(
                    f"round {r + 1} {side} {fmt}: {res['rows']} rows in {res['seconds']:.1f} s,"
                    f" {res['bytes'] / 1e6:.1f} MB file, peak RSS {res['rss_mb']:.0f} MB"
                )
    load_after = os.getloadavg()
    lines = [
        "| dataset · format | rows | seconds, median (min-max) | µs per row | file MB |"
        " peak RSS MB, median (min-max) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for (side, fmt), runs in results.items():
        rows = runs[0]["rows"]
        per_row = [x["seconds"] / max(1, x["rows"]) * 1e6 for x in runs]
        lines.append(
            f"| {side} · {fmt} | {rows:,} | {spread([x['seconds'] for x in runs])} |"
            f" {statistics.median(per_row):.0f} | {runs[0]['bytes'] / 1e6:.1f} |"
            f" {spread([x['rss_mb'] for x in runs], 0)} |"
        )
    table = "\n".join(lines)
    print(table)
    command = "python -m bench.run_export " + " ".join(argv if argv is not None else sys.argv[1:])
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    with harness.RESULTS_MD.open("a", encoding="utf-8") as out:
        out.write(
            f"\n## The worker's big export (issue 22), {stamp}, `{harness.git_commit()}`\n\n"
            f"    {command}\n\n"
            f"{args.rounds} rounds; each measurement a fresh process making the group admin's"
            f" export of every customer with admin.exports.make_file (the worker's function)."
            f" Load average {load_before[0]:.2f} before, {load_after[0]:.2f} after.\n\n"
            f"{table}\n"
        )


if __name__ == "__main__":
    main()
