"""Demo import job: yesterday's Autohome export (crm/demo_platform_leads.py), imported into the
demo manager's store the way the page does it (a queued job the worker applies), so that the
import page shows one finished job with its counts. Idempotent: a store with a lead import job
gets no second one."""

from __future__ import annotations

import csv
import io
import secrets

from sqlalchemy import select

from admin import import_jobs
from admin.models import DONE, LEADS_IMPORT, RUNNING, ImportJob
from crm.demo_platform_leads import demo_table
from crm.models import AUTOHOME
from portal.demo import DEMO_LOGINS
from portal.extensions import db
from portal.models import Store, User
from portal.models.accounts import MANAGER
from portal.timeutil import now


def load_platform_leads_demo() -> dict[str, int]:
    """Import the demo Autohome export into the demo manager's store through an import job."""
    boss = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[MANAGER]))
    if boss is None or boss.store_id is None:
        return {"import_jobs": 0}
    stmt = select(ImportJob.id).where(
        ImportJob.store_id == boss.store_id, ImportJob.kind == LEADS_IMPORT
    )
    if db.session.scalar(stmt.limit(1)) is not None:
        return {"import_jobs": 0}
    text = io.StringIO()
    csv.writer(text).writerows(demo_table(db.session.get(Store, boss.store_id)))
    job = ImportJob(
        kind=LEADS_IMPORT, store_id=boss.store_id, user_id=boss.id,
        upload=secrets.token_hex(16), platform=AUTOHOME, locale="zh_CN",
        status=RUNNING, started_at=now(),  # claimed at once: the demo is its own worker
    )  # fmt: skip
    path = import_jobs.upload_path(job)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.getvalue().encode("utf-8-sig"))
    db.session.add(job)
    db.session.commit()
    job_id = job.id
    import_jobs.run_import(job_id)
    return {"import_jobs": int(db.session.get(ImportJob, job_id).status == DONE)}
