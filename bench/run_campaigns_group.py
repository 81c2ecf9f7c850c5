"""Campaigns on an existing dealer group (bench.generate --group): count, snapshot, queue.

`python -m bench.run_campaigns --group` runs this instead of building its own dataset. It never
builds or wipes anything; it refuses the shared read-only group datasets (bench_1m, bench_10k):
give it a writable copy (`createdb -T bench_1m bench_1m_w`). On that database it
- adds, set-based and only where the group has none, marketing consent (in-app for 60 % of the
  owners, email for 40 %, as bench.run_campaigns) and an open maintenance due event for every
  fifth vehicle, then ANALYZEs the tables a segment reads (a fresh copy has no statistics);
- counts the four-condition segment (bench.run_campaigns.COUNTED) in the largest store
  --rounds times: p50, p99 and worst; --explain prints EXPLAIN (ANALYZE, BUFFERS) of it once;
- snapshots one campaign (in-app and email, 10 % holdout) per store, largest stores first,
  until about --audience owners: campaigns are per store, and the largest store holds about
  6 % of the group (60k of 1M), so 100k recipients are the largest stores' audiences (those
  who consent in-app, or by email with an address). One mileage cut over them sizes it. Each
  snapshot is undone before the next of --snapshots;
- queues every send through the outbox in the worker's batches.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from datetime import UTC, datetime

from sqlalchemy import func, select, text

from bench.run_campaigns import (
    COUNTED,
    ROOT,
    SEED_SQL,
    _commit,
    _load,
    _spread,
    _undo_snapshot,
)

SHARED = ("bench_1m", "bench_10k")  # the group datasets everyone reads: never written here
ANALYSED = (
    "users",
    "vehicles",
    "bookings",
    "marketing_consents",
    "maintenance_due_events",
    "crm_campaign_members",
    "crm_campaign_sends",
)
CONSENT_SEED, DUE_SEED = SEED_SQL[:2], SEED_SQL[2:]


def run_group(args: argparse.Namespace, argv: list[str] | None) -> int:
    """Measure the count, the snapshots and the queueing on an existing group dataset."""
    from bench.generate import bench_app
    from portal.extensions import db

    name = args.database_url.rsplit("/", 1)[-1].split("?")[0]
    if name in SHARED:
        raise SystemExit(f"{name} is a shared read-only dataset: copy it (createdb -T) first")
    app = bench_app(args.database_url)
    app.config.update(SMS_QUIET_START="00:00", SMS_QUIET_END="00:00")  # time the work, any hour
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            raise SystemExit("--group runs on PostgreSQL")
        seeded = seed_missing(db)
        print(f"seeded: {seeded or 'nothing (already there)'}", flush=True)
        sizes = store_sizes(db)
        largest, customers = sizes[0]
        timings, found = count_rounds(db, largest, args.rounds, args.explain)
        print(f"count p50 {_ms(timings, 50)} p99 {_ms(timings, 99)}", flush=True)
        if not args.audience:  # the count alone
            print(
                f"count in store {largest} ({customers} owners, {found} match): p50 "
                f"{_ms(timings, 50)} ms, p99 {_ms(timings, 99)} ms, worst "
                f"{max(timings) * 1000:.0f} ms over {args.rounds}"
            )
            return 0
        stores = stores_for(db, sizes, args.audience)
        result = snapshot_and_queue(db, stores, args.audience, args.snapshots)
    line = (
        f"- {datetime.now(UTC):%Y-%m-%d %H:%M} · `{_commit()}` · group `{name}`, load {_load()}: "
        f"{sum(n for _s, n in sizes)} owners in {len(sizes)} stores. Counting the "
        f"four-condition segment in the largest store (store {largest}, {customers} owners, "
        f"{found} match) {args.rounds} times: p50 {_ms(timings, 50)} ms, p99 "
        f"{_ms(timings, 99)} ms, worst {max(timings) * 1000:.0f} ms. Snapshot of "
        f"{result['audience']} (holdout {result['holdout']}) in stores "
        f"{', '.join(str(s) for s, _n in stores)} into {result['sends']} sends: "
        f"{_spread(result['snapshots'])}. Queueing the {result['queued']} sends through the "
        f"outbox: {result['queue_s']:.1f} s ({result['queued'] / result['queue_s']:.0f}/s). "
        f"`python -m bench.run_campaigns {shlex.join(argv or sys.argv[1:])}`"
    )
    print(line)
    if not args.no_record:
        with open(ROOT / "bench" / "RESULTS.md", "a") as out:
            out.write(line + "\n")
    return 0


def seed_missing(db) -> list[str]:
    """Add consents and open due events where the group has none; ANALYZE; return what."""
    done = []
    if not db.session.scalar(text("SELECT EXISTS (SELECT 1 FROM marketing_consents)")):
        for statement in CONSENT_SEED:
            db.session.execute(text(statement))
        done.append("consents")
    open_due = "SELECT EXISTS (SELECT 1 FROM maintenance_due_events WHERE status = 'open')"
    if not db.session.scalar(text(open_due)):
        for statement in DUE_SEED:
            db.session.execute(text(statement))
        done.append("due events")
    db.session.commit()
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE " + ", ".join(ANALYSED))
        conn.commit()
    return done


def store_sizes(db) -> list[tuple[int, int]]:
    """Return (store id, owners) of every store, the largest first."""
    from portal.models import User

    owners = func.count(User.id)
    rows = db.session.execute(
        select(User.store_id, owners)
        .where(User.role == "owner", User.store_id.is_not(None))
        .group_by(User.store_id)
        .order_by(owners.desc(), User.store_id)
    ).all()
    return [(store_id, n) for store_id, n in rows]


def count_rounds(db, store_id: int, rounds: int, explain: bool) -> tuple[list[float], int]:
    """Count the segment in the store `rounds` times; return the seconds and the count."""
    from crm import segments
    from portal.models import Store

    store = db.session.get(Store, store_id)
    if explain:
        print(explain_count(db, store), flush=True)
    timings, found = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        found = segments.count(store, COUNTED)
        timings.append(time.perf_counter() - started)
        db.session.rollback()
    return timings, found


def explain_count(db, store) -> str:
    """Return the plan of the segment count as PostgreSQL ran it."""
    from crm import segments

    statement = select(func.count()).select_from(segments.members(store, COUNTED).subquery())
    compiled = statement.compile(
        dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True}
    )
    plan = (
        db.session.connection()
        .exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + str(compiled), compiled.params)
        .scalars()
        .all()
    )
    db.session.rollback()
    return "\n".join(plan)


def stores_for(db, sizes, audience: int) -> list[tuple[int, int]]:
    """Return the largest stores whose owners who may get a message (in-app or email consent
    with an address) reach the audience, each with that number."""
    from crm import segments
    from portal.models import User

    chosen, total = [], 0
    for store_id, _n in sizes:
        reachable = segments.has_consent("inapp") | (
            segments.has_consent("email") & User.email.is_not(None)
        )
        n = db.session.scalar(
            select(func.count(User.id)).where(
                User.store_id == store_id, User.role == "owner", reachable
            )
        )
        chosen.append((store_id, n))
        total += n
        if total >= audience:
            break
    return chosen


def snapshot_and_queue(db, stores, audience: int, turns: int) -> dict:
    """Snapshot a campaign per store (turns times, undone between) and queue the last one."""
    from crm import campaign_sending, campaigns
    from crm.campaign_models import Campaign, CampaignSend
    from portal.models import Store, User
    from portal.timeutil import set_clock

    cut = mileage_cut(db, [s for s, _n in stores], audience / sum(n for _s, n in stores))
    print(f"stores {stores}, mileage from {cut} km", flush=True)
    text_ = {"body_zh": "{name}您好，{store}冬季养护九折。", "body_en": "Hello {name}"}
    ids = []
    for store_id, _n in stores:
        store = db.session.get(Store, store_id)
        manager = db.session.scalar(
            select(User).where(User.role == "manager", User.store_id == store_id).limit(1)
        )
        rule = {"field": "mileage_km", "op": "gte", "value": cut}
        segment = campaigns.save_segment(manager, store, f"bench {time.time():.0f}", rule)
        draft = campaigns.Draft("bench", segment, {"inapp": text_, "email": text_}, {}, 10)
        ids.append((campaigns.create_campaign(manager, draft).id, manager.id))
    db.session.commit()
    set_clock(lambda: datetime.now(UTC))
    snapshots = []
    for turn in range(max(1, turns)):
        if turn:
            for campaign_id, _m in ids:
                _undo_snapshot(db, campaign_id)
        started = time.perf_counter()
        for campaign_id, manager_id in ids:
            campaigns.start(db.session.get(User, manager_id), db.session.get(Campaign, campaign_id))
            db.session.commit()
        snapshots.append(time.perf_counter() - started)
        print(f"snapshot {turn + 1}: {snapshots[-1]:.1f} s", flush=True)
    found = [db.session.get(Campaign, campaign_id) for campaign_id, _m in ids]
    sends = db.session.scalar(
        select(func.count(CampaignSend.id)).where(
            CampaignSend.campaign_id.in_([c for c, _m in ids])
        )
    )
    started = time.perf_counter()
    queued = campaign_sending.queue_due(max_batches=10**6)
    return {
        "audience": sum(c.audience for c in found),
        "holdout": sum(c.holdout for c in found),
        "sends": sends,
        "snapshots": snapshots,
        "queued": queued,
        "queue_s": time.perf_counter() - started,
    }


def mileage_cut(db, store_ids: list[int], share: float) -> int:
    """Return the mileage above which about this share of these stores' owners drive."""
    from portal.models import User, Vehicle

    kms = (
        select(func.max(Vehicle.current_km).label("km"))
        .join(User, User.id == Vehicle.owner_id)
        .where(User.store_id.in_(store_ids), User.role == "owner")
        .group_by(User.id)
        .subquery()
    )
    total = db.session.scalar(select(func.count()).select_from(kms))
    offset = max(0, int(total * min(share, 1.0)) - 1)
    return db.session.scalar(select(kms.c.km).order_by(kms.c.km.desc()).offset(offset).limit(1))


def _ms(seconds: list[float], percentile: int) -> str:
    if len(seconds) == 1:
        return f"{seconds[0] * 1000:.0f}"
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return f"{(cuts[percentile - 1] if percentile < 100 else max(seconds)) * 1000:.0f}"
