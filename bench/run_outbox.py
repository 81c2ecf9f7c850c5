"""Outbox throughput and crash safety: worker processes deliver to a local SMTP sink.

Two measurements, each repeated --runs times on a freshly migrated PostgreSQL database:
- throughput: --workers `flask m4s worker --no-jobs` processes already polling; N messages are
  inserted in one transaction; the rate is N over the time from that commit to the last
  message's arrival at the sink (aiosmtpd in this process, counting Message-IDs);
- kill -9: the same with N messages, but once half have arrived one worker gets SIGKILL and a
  fresh one starts; when the queue is empty the sink's counts show lost and duplicated ids.
  The lease is shortened (M4S_OUTBOX_LEASE_SECONDS=3) so the killed worker's claimed rows come
  back quickly.
Appends a line per measurement to bench/RESULTS.md unless --no-record.

    python -m bench.run_outbox --database-url postgresql+psycopg://postgres@127.0.0.1:5432/m4s_bench
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.database import BENCH_DATA_KEY, BENCH_LOOKUP_KEY

ROOT = Path(__file__).resolve().parents[1]
MESSAGE_ID = re.compile(rb"^Message-ID: <([0-9a-f]{32})@", re.M | re.I)


class Sink:
    """An aiosmtpd handler that counts each Message-ID it receives."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.last_at = 0.0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's API)
        found = MESSAGE_ID.search(envelope.content)
        with self.lock:
            self.seen[found.group(1).decode() if found else "?"] += 1
            self.last_at = time.monotonic()
        return "250 OK"

    def reset(self) -> None:
        with self.lock:
            self.seen.clear()

    def total(self) -> int:
        with self.lock:
            return sum(self.seen.values())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def migrate(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    env = worker_env(url, 25)
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def worker_env(url: str, smtp_port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        M4S_ENV="production",
        M4S_SECRET_KEY="bench-" + "k" * 40,
        M4S_DATA_KEYS=BENCH_DATA_KEY,
        M4S_LOOKUP_KEY=BENCH_LOOKUP_KEY,
        M4S_DATABASE_URL=url,
        M4S_SMTP_HOST="127.0.0.1",
        M4S_SMTP_PORT=str(smtp_port),
        M4S_OUTBOX_LEASE_SECONDS="3",
        M4S_OUTBOX_BATCH="20",
        M4S_WORKER_POLL_SECONDS="1",
    )
    return env


THREADS = ["1"]  # delivery threads per worker process (--threads)


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "m4s", "worker", "--no-jobs"]
        + ["--threads", THREADS[0]],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def enqueue(engine, n: int) -> float:
    """Insert n pending emails in one transaction; return the monotonic time of the commit."""
    now = datetime.now(UTC)
    rows = [
        {"id": os.urandom(16).hex(), "r": f"owner{i}@example.com", "s": f"Reminder {i}", "at": now}
        for i in range(n)
    ]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO outbox_messages (id, channel, kind, recipient, subject, body, data,"
                " status, attempts, next_attempt_at, created_at) VALUES (:id, 'email',"
                " 'reminder', :r, :s, 'Your car is due for service.', '{}', 'pending', 0,"
                " :at, :at)"
            ),
            rows,
        )
    return time.monotonic()


def undelivered(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM outbox_messages WHERE status IN ('pending', 'sending')")
        ).scalar_one()


def wait_for(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def throughput_run(engine, sink: Sink, env, workers: int, n: int, log: Path) -> dict:
    sink.reset()
    procs = [start_worker(env, log) for _ in range(workers)]
    try:
        time.sleep(4)  # the workers import the app and start polling
        committed = enqueue(engine, n)
        if not wait_for(lambda: sink.total() >= n, 300):
            raise SystemExit(f"only {sink.total()} of {n} arrived")
        elapsed = sink.last_at - committed
    finally:
        stop(procs)
    dup = sum(c - 1 for c in sink.seen.values() if c > 1)
    return {"n": n, "seconds": round(elapsed, 2), "per_second": round(n / elapsed), "dup": dup}


def kill_run(engine, sink: Sink, env, workers: int, n: int, log: Path) -> dict:
    sink.reset()
    procs = [start_worker(env, log) for _ in range(workers)]
    try:
        time.sleep(4)
        enqueue(engine, n)
        wait_for(lambda: sink.total() >= n // 2, 300)
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait()
        killed_at = sink.total()
        procs.append(start_worker(env, log))
        if not wait_for(lambda: undelivered(engine) == 0, 300):
            raise SystemExit("the queue did not drain")
        time.sleep(0.5)
    finally:
        stop(procs)
    ids = sink.seen
    with engine.connect() as conn:
        sent = conn.execute(
            text("SELECT count(*) FROM outbox_messages WHERE status = 'sent'")
        ).scalar_one()
    return {
        "n": n,
        "killed_at": killed_at,
        "arrived_distinct": len(ids),
        "arrived_total": sum(ids.values()),
        "twice": sum(1 for c in ids.values() if c > 1),
        "sent_in_db": sent,
    }


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


def record(line: str) -> None:
    results = ROOT / "bench" / "RESULTS.md"
    with results.open("a", encoding="utf-8") as f:
        f.write(line + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database to reset")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4, help="delivery threads per worker")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    THREADS[0] = str(args.threads)

    from aiosmtpd.controller import Controller

    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    log = ROOT / "bench" / "data" / "outbox-workers.log"  # ignored by git
    log.parent.mkdir(exist_ok=True)
    env = worker_env(args.database_url, port)
    engine = create_engine(args.database_url)
    rates, kills = [], []
    try:
        for i in range(args.runs):
            migrate(args.database_url)
            run = throughput_run(engine, sink, env, args.workers, args.messages, log)
            print(f"throughput run {i + 1}: {run}", flush=True)
            rates.append(run["per_second"])
            migrate(args.database_url)
            kill = kill_run(engine, sink, env, args.workers, args.messages, log)
            print(f"kill -9 run {i + 1}: {kill}", flush=True)
            kills.append(kill)
    finally:
        controller.stop()
        engine.dispose()
    load = os.getloadavg()[0]
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    command = "python -m bench.run_outbox " + " ".join(
        shlex.quote(a) for a in (argv or sys.argv[1:])
    )
    summary = (
        f"- {datetime.now(UTC):%Y-%m-%d} · `{commit}` · outbox, PostgreSQL, {args.workers} workers"
        f" x {args.threads} threads,"
        f" {args.messages} emails to a local aiosmtpd, load {load:.1f}: **median"
        f" {statistics.median(rates)} emails/s** (runs: {', '.join(map(str, rates))});"
        f" kill -9 halfway then restart: "
        + "; ".join(f"{k['arrived_distinct']}/{k['n']} arrived, {k['twice']} twice" for k in kills)
        + f". `{command}`"
    )
    print(summary)
    if not args.no_record:
        record(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
