"""Time counting a segment, snapshotting a campaign and queueing its sends through the outbox.

Builds bench.generate's dataset (owners in 2 stores, 1.5 vehicles each) into a fresh database,
then adds with INSERT .. SELECT: marketing consent in-app for 60 % of the owners and by email for
40 %, an open maintenance due event for every fifth vehicle. Then, in store 1:
- counts a four-condition segment (maintenance due, no open booking, in-app consent, mileage)
  --rounds times: median and worst;
- snapshots a campaign (in-app and email, 10 % holdout) to a segment of about --audience owners,
  --snapshots times (each one undone before the next): median and spread;
- queues every send through the outbox in the worker's batches.
Appends a line to bench/RESULTS.md unless --no-record.

    python -m bench.run_campaigns --database-url postgresql+psycopg://postgres@127.0.0.1/m4s_bench

With --group it builds nothing and measures an existing dealer group instead (a writable copy
of bench.generate --group's 1M customers in 100 stores): bench.run_campaigns_group says how.

    python -m bench.run_campaigns --group --database-url postgresql+psycopg://postgres@127.0.0.1/bench_1m_w
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parents[1]
COUNTED = {
    "all": [
        {"field": "maintenance", "op": "is", "value": "due"},
        {"not": {"field": "open_booking", "op": "is", "value": True}},
        {"field": "consent", "op": "has", "value": "inapp"},
        {"field": "mileage_km", "op": "gte", "value": 20_000},
    ]
}
SEED_SQL = [
    # consent: in-app for ids not divisible by 5 and 2 ... about 60 % / 40 %
    "INSERT INTO marketing_consents (user_id, channel, granted_at, source) "
    "SELECT id, 'inapp', CURRENT_TIMESTAMP, 'settings' FROM users "
    "WHERE role = 'owner' AND id % 5 IN (0, 1, 2)",
    "INSERT INTO marketing_consents (user_id, channel, granted_at, source) "
    "SELECT id, 'email', CURRENT_TIMESTAMP, 'settings' FROM users "
    "WHERE role = 'owner' AND id % 5 IN (2, 3)",
    "INSERT INTO maintenance_due_events (vehicle_id, code, brand, series, due_key, due_km, "
    "status, opened_at) SELECT id, 'engine_oil', brand, series, 'bench', current_km, 'open', "
    "CURRENT_TIMESTAMP FROM vehicles WHERE id % 5 = 0",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--owners", type=int, default=1_000_000)
    parser.add_argument("--audience", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--snapshots", type=int, default=1)
    parser.add_argument(
        "--reuse", action="store_true", help="keep the dataset an earlier run built (PostgreSQL)"
    )
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument(
        "--group", action="store_true", help="measure an existing dealer group (PostgreSQL)"
    )
    parser.add_argument("--explain", action="store_true", help="with --group: the count's plan")
    args = parser.parse_args(argv)
    if args.group:
        from bench.run_campaigns_group import run_group

        return run_group(args, argv)

    from bench.generate import bench_app, generate
    from crm import campaign_sending, campaigns, segments
    from crm.campaign_models import Campaign, CampaignSend
    from portal.extensions import db
    from portal.models import Store, User
    from portal.timeutil import set_clock

    if not args.reuse:
        counts = generate(args.database_url, args.owners, reset=True, log=print)
        print(f"dataset: {counts}", flush=True)
    app = bench_app(args.database_url)
    app.config.update(SMS_QUIET_START="00:00", SMS_QUIET_END="00:00")  # time the work, any hour
    with app.app_context():
        for statement in [] if args.reuse else SEED_SQL:
            db.session.execute(text(statement))
        db.session.commit()
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
        store = db.session.get(Store, 1)
        customers = db.session.scalar(
            select(func.count(User.id)).where(User.store_id == 1, User.role == "owner")
        )
        timings, found = [], 0
        for _ in range(args.rounds):
            started = time.perf_counter()
            found = segments.count(store, COUNTED)
            timings.append(time.perf_counter() - started)
            db.session.rollback()
        # An audience of about --audience: in-app or email consent and a mileage cut-off.
        cut = _mileage_cut(db, store, args.audience / customers)
        rule = {"field": "mileage_km", "op": "gte", "value": cut}
        manager = db.session.scalar(select(User).where(User.role == "manager", User.store_id == 1))
        segment = campaigns.save_segment(manager, store, f"bench {time.time():.0f}", rule)
        text_ = {"body_zh": "{name}您好，{store}冬季养护九折。", "body_en": "Hello {name}"}
        draft = campaigns.Draft("bench", segment, {"inapp": text_, "email": text_}, {}, 10)
        campaign = campaigns.create_campaign(manager, draft)
        db.session.commit()
        set_clock(lambda: datetime.now(UTC))
        snapshots = []
        for turn in range(max(1, args.snapshots)):
            if turn:
                _undo_snapshot(db, campaign.id)
            started = time.perf_counter()
            campaigns.start(manager, db.session.get(Campaign, campaign.id))
            db.session.commit()
            snapshots.append(time.perf_counter() - started)
            print(f"snapshot {turn + 1}: {snapshots[-1]:.1f} s", flush=True)
        campaign = db.session.get(Campaign, campaign.id)
        sends = db.session.scalar(
            select(func.count(CampaignSend.id)).where(CampaignSend.campaign_id == campaign.id)
        )
        started = time.perf_counter()
        queued = campaign_sending.queue_due(max_batches=10**6)
        queue_s = time.perf_counter() - started
        audience, holdout = campaign.audience, campaign.holdout
        dialect = db.engine.dialect.name
    line = (
        f"- {datetime.now(UTC):%Y-%m-%d} · `{_commit()}` · {dialect}, load {_load()}: "
        f"{customers} customers in store 1 ({args.owners} owners in all). Counting a "
        f"four-condition segment ({found} match): median {statistics.median(timings) * 1000:.0f}"
        f" ms, worst of {args.rounds} {max(timings) * 1000:.0f} ms. Snapshot of {audience} "
        f"(holdout {holdout}) into {sends} sends: {_spread(snapshots)}. Queueing the {queued} "
        f"sends through the outbox in batches of {app.config['CAMPAIGN_BATCH']}: "
        f"{queue_s:.1f} s ({queued / queue_s:.0f}/s). "
        f"`python -m bench.run_campaigns {shlex.join(argv or sys.argv[1:])}`"
    )
    print(line)
    if not args.no_record:
        with open(ROOT / "bench" / "RESULTS.md", "a") as out:
            out.write(line + "\n")
    return 0


def _spread(seconds: list[float]) -> str:
    if len(seconds) == 1:
        return f"{seconds[0]:.1f} s"
    return (
        f"median {statistics.median(seconds):.1f} s, {min(seconds):.1f}-{max(seconds):.1f} s "
        f"over {len(seconds)}"
    )


def _undo_snapshot(db, campaign_id: int) -> None:
    """Delete a snapshot's members and sends and make the campaign a draft again."""
    from sqlalchemy import delete, update

    from crm.campaign_models import DRAFT, Campaign, CampaignMember, CampaignSend

    db.session.execute(delete(CampaignSend).where(CampaignSend.campaign_id == campaign_id))
    db.session.execute(delete(CampaignMember).where(CampaignMember.campaign_id == campaign_id))
    db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values(status=DRAFT, sent_at=None, audience=0, holdout=0)
    )
    db.session.commit()
    if db.engine.dialect.name == "postgresql":  # as autovacuum would: true statistics again
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE crm_campaign_sends, crm_campaign_members")


def _mileage_cut(db, store, share: float) -> int:
    from portal.models import User, Vehicle

    kms = (
        select(func.max(Vehicle.current_km).label("km"))
        .join(User, User.id == Vehicle.owner_id)
        .where(User.store_id == store.id)
        .group_by(User.id)
        .subquery()
    )
    total = db.session.scalar(select(func.count()).select_from(kms))
    offset = max(0, int(total * min(share / 0.8, 1.0)) - 1)  # ~80 % of owners consent somewhere
    return db.session.scalar(select(kms.c.km).order_by(kms.c.km.desc()).offset(offset).limit(1))


def _commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() or "?"


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


if __name__ == "__main__":
    raise SystemExit(main())
