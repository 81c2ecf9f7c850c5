"""Import jobs: how many rows a second the worker applies (admin/import_jobs.py).

On a freshly migrated database (one store, two advisors, a manager), a --rows-row Autohome
lead export and a --rows-row customer file (each row a new customer with a vehicle) are each
queued as an import job and applied by the worker's own function, in batches of
M4S_IMPORT_BATCH rows; the time covers the worker's whole job: reading the file, checking
every row again, applying and committing. Appends a line per kind to bench/RESULTS.md unless
--no-record.

    python -m bench.run_imports
    python -m bench.run_imports --database-url postgresql+psycopg://postgres@127.0.0.1:5432/m4s_bench_imports
"""

from __future__ import annotations

import argparse
import csv
import io
import secrets
import time
from datetime import UTC, datetime

from flask_migrate import upgrade

from admin import import_jobs
from admin.models import CUSTOMERS_IMPORT, LEADS_IMPORT, RUNNING, ImportJob
from bench.database import DATA, ROOT, bench_app, engine_url, prepare_database
from bench.harness import git_commit
from crm.models import AUTOHOME
from portal.extensions import db
from portal.models import MaintenancePlan
from portal.timeutil import now
from portal.validation import vin_check_digit
from tests import factories


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def lead_file(n: int) -> bytes:
    rows = [["线索ID", "客户姓名", "手机号", "意向车系", "线索创建时间", "预计购车时间"]]
    for i in range(n):
        rows.append(
            [f"AH-{i:06d}", f"客户{i}", f"158{i:08d}", "汉EV", "2026-12-01 10:00", "1个月内"]
        )
    return _csv(rows)


def _vin(i: int) -> str:
    draft = f"LSVABCDE0MA{i:06d}"  # a distinct serial per row, the check digit made right
    return draft[:8] + vin_check_digit(draft) + draft[9:]


def customer_file(n: int) -> bytes:
    rows = [["姓名", "手机", "车架号", "车牌", "品牌", "车系", "年款"]]
    for i in range(n):
        rows.append([f"车主{i}", f"135{i:08d}", _vin(i), f"粤B{i:05d}", "比亚迪", "汉", "2021"])
    return _csv(rows)


def run(kind: str, data: bytes, store_id: int, manager_id: int) -> tuple[float, ImportJob]:
    """Queue the file as a claimed job, apply it with the worker's function; return seconds."""
    job = ImportJob(
        kind=kind, store_id=store_id, user_id=manager_id, upload=secrets.token_hex(16),
        platform=AUTOHOME if kind == LEADS_IMPORT else "", locale="zh_CN",
        status=RUNNING, started_at=now(),
    )  # fmt: skip
    path = import_jobs.upload_path(job)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    db.session.add(job)
    db.session.commit()
    job_id = job.id
    started = time.perf_counter()
    import_jobs.run_import(job_id)
    seconds = time.perf_counter() - started
    return seconds, db.session.get(ImportJob, job_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=f"sqlite:///{DATA / 'imports.db'}")
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--kinds", default="leads,customers")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    prepare_database(args.database_url, reset=True)
    app = bench_app(args.database_url)
    app.config["EXPORT_DIR"] = str(DATA / "import-files")
    engine = engine_url(args.database_url).get_backend_name()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        store = factories.store("A")
        factories.advisor(store), factories.advisor(store)
        boss = factories.manager(store)
        db.session.add(MaintenancePlan(name="汉EV", brand="比亚迪", series="汉EV"))
        db.session.commit()
        store_id, boss_id = store.id, boss.id
        files = {LEADS_IMPORT: lead_file, CUSTOMERS_IMPORT: customer_file}
        for kind in args.kinds.split(","):
            data = files[kind](args.rows)
            seconds, job = run(kind, data, store_id, boss_id)
            line = (
                f"- {datetime.now(UTC):%Y-%m-%d} · `{git_commit()}` · {engine} · import job "
                f"({kind}, {args.rows} rows, batch {app.config['IMPORT_BATCH']}): {job.status}, "
                f"created {job.created}, merged {job.merged}, failed {job.failed} {job.error} in "
                f"{seconds:.1f} s = {args.rows / seconds:.0f} rows/s, `python -m bench.run_imports"
                f"{'' if engine == 'sqlite' else ' --database-url ' + args.database_url}`"
            )
            print(line, flush=True)
            if not args.no_record:
                with (ROOT / "bench" / "RESULTS.md").open("a") as out:
                    out.write(line + "\n")


if __name__ == "__main__":
    main()
