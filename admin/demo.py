"""Demo exports and imports: the demo manager's finished customer export, and a previous DMS's
customer file (GBK CSV, as Excel in China saves it) ready to try on the import page."""

from __future__ import annotations

import random

from sqlalchemy import select

from admin import exports
from admin.models import DONE, ExportJob
from portal.demo import DEMO_LOGINS, MODELS, chinese_name, make_plate, make_vin
from portal.extensions import db
from portal.models import User
from portal.models.accounts import MANAGER

SAMPLE_IMPORT = "demo-dms-customers-gbk.csv"


def sample_dms_file(rng: random.Random, rows: int = 12) -> bytes:
    """Return a previous DMS's customer list as GBK CSV, with two rows an import refuses."""
    lines = ["姓名,手机,车架号,车牌,品牌,车系,年款"]
    for i in range(rows):
        brand, series = MODELS[i % len(MODELS)][:2]
        lines.append(
            f"{chinese_name(rng)},1360000{i:04d},{make_vin(rng, 'LFV', 2020)},"
            f"{make_plate(rng)},{brand},{series},2020"
        )
    lines.append(f"{chinese_name(rng)},1360000,,,,,")  # a phone number cut short
    lines.append(lines[1])  # the same row twice
    return ("\n".join(lines) + "\n").encode("gbk")


def load_exports_demo() -> dict[str, int]:
    """Make the demo manager's customer export once (the worker's way) and the sample file."""
    folder = exports.export_dir()
    sample = folder / SAMPLE_IMPORT
    if not sample.exists():
        sample.write_bytes(sample_dms_file(random.Random(22)))
    manager = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[MANAGER]))
    if manager is None:
        return {"exports": 0}
    if db.session.scalar(select(ExportJob.id).where(ExportJob.user_id == manager.id).limit(1)):
        return {"exports": 0}
    job = exports.queue_export(manager, "customers", "xlsx", "zh_CN")
    db.session.commit()
    job_id = job.id
    exports.make_file(job_id)
    return {"exports": int(db.session.get(ExportJob, job_id).status == DONE)}
