"""Statements and CPU of one lead captured through the API, in-process (issue 17).

    python -m bench.capture_cpu \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_10k \
        [--leads 300 --rounds 3] [--list]

On a group dataset (`python -m bench.generate --group`), this app (the production
configuration, rate limits off as in the burst) takes POST /api/v1/leads through the Flask test
client, so the time is the app's and the database's without a server in between. Each round
sends --leads bodies like the burst's (bench/run_leads.py: stores in turn, 70 % new phones,
30 % phones of known customers) one after another, and reports per lead: SQL statements, wall
ms, this process's CPU ms and the CPU ms of the database's PostgreSQL backends. Prints each
measure's median over the rounds with its min-max. With --list it first prints the statements
of one capture of a new customer and of a repeat inquiry (known customer, open lead).

Run it in two trees in turn (A = main, B = a branch) on the same dataset: it writes leads,
customers, tasks and outbox rows through the app only, as the burst does.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
import uuid

from sqlalchemy import event, select, text

from bench.database import engine_url
from bench.run_leads import dataset, requests_for
from bench.run_outbox_web import cpu_seconds


class Statements:
    """Record the SQL statements the engine runs while it is installed."""

    def __init__(self, engine):
        self.engine, self.seen = engine, []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        self.seen.append(statement)

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self)


def bench_app(url: str):
    """The app as production runs it on this database, without the rate limits (one token)."""
    from bench.run_backoffice import production_app

    return production_app(
        str(engine_url(url).render_as_string(hide_password=False)), RATELIMIT_ENABLED=False
    )


def mint(app) -> str:
    """Make a group token (every store) that may read and write leads; return its secret."""
    from api.tokens import create_token
    from portal.extensions import db
    from portal.models import User

    with app.app_context():
        admin = db.session.scalar(
            select(User).where(User.role == "admin").order_by(User.id).limit(1)
        )
        _, secret = create_token(admin, "bench capture cpu", ["leads:read", "leads:write"], None)
        db.session.commit()
    return secret


def post(client, secret: str, body: dict):
    headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": uuid.uuid4().hex}
    response = client.post("/api/v1/leads", json=body, headers=headers)
    if response.status_code not in (200, 201):
        raise SystemExit(f"{response.status_code}: {response.get_data(as_text=True)}")
    return response


def show(title: str, seen: list[str]) -> None:
    print(f"-- {title}: {len(seen)} statements")
    for i, statement in enumerate(seen, 1):
        print(f"{i:3d} {' '.join(statement.split())[:220]}")


def listing(app, client, secret: str, store_id: int) -> None:
    """Print the statements of a new customer's capture, then of the same person again."""
    from portal.extensions import db

    phone = f"17{int(time.time() * 1000) % 10**9:09d}"
    body = {"store_id": store_id, "name": "王先生", "phone": phone, "source": "autohome",
            "model_interest": "迈腾", "timeframe": "15d"}  # fmt: skip
    with app.app_context():
        engine = db.engine
    with Statements(engine) as new:
        first = post(client, secret, body)
    with Statements(engine) as again:
        second = post(client, secret, body)
    show(f"new customer, new lead ({first.status_code})", new.seen)
    show(f"repeat inquiry, open lead ({second.status_code})", again.seen)


def one_round(app, client, secret: str, data: dict, leads: int, tag: str) -> dict:
    from portal.extensions import db

    bodies = requests_for(data, 1, leads, tag)
    with app.app_context():
        engine = db.engine
    with engine.connect() as conn:
        pids = set(
            conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            ).scalars()
        )
    for body in bodies[:5]:  # warm: the pool's connection, caches of compiled statements
        post(client, secret, body)
    with engine.connect() as conn:  # the pool's backends, found after the warm-up
        pids |= set(
            conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            ).scalars()
        )
    work = bodies[5:]
    with Statements(engine) as seen:
        pg0, r0, t0 = (
            cpu_seconds(pids),
            resource.getrusage(resource.RUSAGE_SELF),
            time.perf_counter(),
        )
        created = sum(post(client, secret, body).status_code == 201 for body in work)
        t1, r1, pg1 = (
            time.perf_counter(),
            resource.getrusage(resource.RUSAGE_SELF),
            cpu_seconds(pids),
        )
    n = len(work)
    cpu = r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime
    return {
        "statements": len(seen.seen) / n,
        "wall_ms": 1000 * (t1 - t0) / n,
        "app_cpu_ms": 1000 * cpu / n,
        "pg_cpu_ms": 1000 * (pg1 - pg0) / n,
        "created": created,
        "n": n,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.capture_cpu", description=__doc__)
    p.add_argument("--database-url", required=True, help="a group dataset (PostgreSQL)")
    p.add_argument("--leads", type=int, default=300, help="captures per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--list", action="store_true", help="print one capture's statements first")
    args = p.parse_args(argv)
    data = dataset(args.database_url)
    app = bench_app(args.database_url)
    secret = mint(app)
    client = app.test_client()
    if args.list:
        listing(app, client, secret, data["stores"][0])
    rounds = [
        one_round(app, client, secret, data, args.leads + 5, f"cpu{i}:{time.time()}")
        for i in range(args.rounds)
    ]
    for r in rounds:
        print(
            f"round: {r['n']} leads ({r['created']} new) statements/lead={r['statements']:.2f}"
            f" wall_ms={r['wall_ms']:.2f} app_cpu_ms={r['app_cpu_ms']:.2f}"
            f" pg_cpu_ms={r['pg_cpu_ms']:.2f}"
        )
    for key in ("statements", "wall_ms", "app_cpu_ms", "pg_cpu_ms"):
        values = [r[key] for r in rounds]
        print(
            f"median {key}: {statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
