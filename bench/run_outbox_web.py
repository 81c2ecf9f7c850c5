"""The owner home's latency while the outbox delivers: does sending mail slow the portal down?

One PostgreSQL database holds the portal's bench dataset (bench.generate, --owners owners) and
the outbox. gunicorn serves the portal (2 sync workers, production mode) and --workers outbox
worker processes (`flask m4s worker --no-jobs`, --threads delivery threads each) deliver to an
aiosmtpd sink in this process. For --rounds rounds, wrk (-c16, rotating 8 logged-in owners)
loads GET / in turn:
- idle: no worker runs, the queue is empty;
- delivering, once per --nice level: workers started under `nice -n LEVEL`, and --messages
  emails committed to the outbox just before wrk starts, enough that the queue is still not
  empty when wrk stops (the line says so for every round); then the queue drains and the
  workers stop. Level 10 is what the systemd unit in the README uses (Nice=10): delivery
  yields the CPU to the web workers and takes the idle time.
The answer is the median over rounds of each p99 and the rise of each delivering p99 over the
idle one; the spread (min-max) of each is reported too.
Appends a line to bench/RESULTS.md unless --no-record.

    python -m bench.run_outbox_web --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_outbox_web
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

from sqlalchemy import create_engine, text

from bench import harness
from bench.generate import BENCH_PASSWORD, owner_login
from bench.run_outbox import (
    ROOT,
    THREADS,
    Sink,
    enqueue,
    free_port,
    record,
    stop,
    undelivered,
    wait_for,
    worker_env,
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run_outbox_web", description=__doc__)
    p.add_argument("--database-url", required=True, help="a PostgreSQL database named *bench*")
    p.add_argument("--owners", type=int, default=20_000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--duration", type=int, default=6, help="seconds of wrk per measurement")
    p.add_argument("--messages", type=int, default=6_000, help="emails queued per round")
    p.add_argument("--workers", type=int, default=2, help="outbox worker processes")
    p.add_argument("--threads", type=int, default=4, help="delivery threads per worker")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--rate", type=int, default=0, help="M4S_OUTBOX_MAX_PER_SECOND per thread")
    p.add_argument(
        "--nice",
        default="0,10,idle",
        help="worker nice levels to compare, comma-separated; 'idle' is the SCHED_IDLE policy",
    )
    p.add_argument("--no-record", action="store_true")
    args = p.parse_args(argv)
    # harness.gunicorn/wrk read these
    args.worker_class, args.gunicorn_threads, args.wrk_threads = "sync", 1, 1
    args.portal_workers = 2
    args.levels = [x.strip() for x in args.nice.split(",")]
    if not all(x == "idle" or x.lstrip("-").isdigit() for x in args.levels):
        p.error("--nice takes comma-separated integers or 'idle'")
    if "bench" not in args.database_url.rsplit("/", 1)[-1]:
        p.error("the database is rebuilt: its name must contain 'bench'")
    return args


def start_niced(level: str, env: dict[str, str], log) -> subprocess.Popen:
    """Start one `flask m4s worker --no-jobs` under `nice -n level`, or under the SCHED_IDLE
    policy for level "idle" (`chrt --idle 0`: it runs only when no other process wants a CPU)."""
    cmd = [sys.executable, "-m", "flask", "--app", "wsgi", "m4s", "worker", "--no-jobs"]
    policy = ["chrt", "--idle", "0"] if level == "idle" else ["nice", "-n", level]
    return subprocess.Popen(
        [*policy, *cmd, "--threads", THREADS[0]],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def label(level: str) -> str:
    return "SCHED_IDLE" if level == "idle" else f"nice {level}"


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ms ({min(values):.1f}-{max(values):.1f})"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    THREADS[0] = str(args.threads)
    from aiosmtpd.controller import Controller

    url = args.database_url
    built = harness.ensure_dataset(url, args.owners, args.owners * 3 // 2, False)
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    log = ROOT / "bench" / "data" / "outbox-web-workers.log"
    log.parent.mkdir(exist_ok=True)
    engine = create_engine(url)
    with engine.begin() as conn:  # what an interrupted run left behind
        conn.execute(text("DELETE FROM outbox_messages"))
    load_before = round(os.getloadavg()[0], 2)
    idle: list[float] = []
    busy: dict[str, list[float]] = {level: [] for level in args.levels}
    notes: dict[str, list[str]] = {level: [] for level in args.levels}
    gargs = argparse.Namespace(**{**vars(args), "workers": args.portal_workers})
    try:
        with harness.gunicorn(
            "wsgi:app", harness.server_env(url), gargs, "/healthz", "portal"
        ) as base:
            picks = [i * args.owners // 8 for i in range(8)]
            cookies = [harness.login(base, owner_login(i), BENCH_PASSWORD) for i in picks]
            harness.wrk(base, "/", cookies, 2, gargs, "home-warm")
            wenv = worker_env(url, port)
            wenv["M4S_OUTBOX_MAX_PER_SECOND"] = str(args.rate)
            for r in range(args.rounds):
                quiet = harness.wrk(base, "/", cookies, args.duration, gargs, "home-idle")
                idle.append(quiet["p99_ms"])
                report = [f"round {r + 1}: idle p99 {quiet['p99_ms']} ms {quiet['rps']} rps"]
                for level in args.levels:
                    procs = [start_niced(level, wenv, log) for _ in range(args.workers)]
                    try:
                        time.sleep(4)  # the workers import the app and start polling
                        sink.reset()
                        enqueue(engine, args.messages)
                        loaded = harness.wrk(base, "/", cookies, args.duration, gargs, "home-busy")
                        sent_during, left = sink.total(), undelivered(engine)
                        if not wait_for(lambda: undelivered(engine) == 0, 600):
                            raise SystemExit("the outbox did not drain")
                    finally:
                        stop(procs)
                    busy[level].append(loaded["p99_ms"])
                    notes[level].append(f"{sent_during} sent, {left} left")
                    report.append(
                        f"{label(level)}: p99 {loaded['p99_ms']} ms {loaded['rps']} rps,"
                        f" {sent_during} sent during the window, {left} still queued"
                    )
                    if quiet["errors"] or loaded["errors"]:
                        raise SystemExit(f"wrk errors: {quiet['errors']} {loaded['errors']}")
                harness.log("; ".join(report))
    finally:
        controller.stop()
        engine.dispose()
    parts = []
    for level in args.levels:
        rise = 100 * (statistics.median(busy[level]) / statistics.median(idle) - 1)
        parts.append(
            f"delivering at {label(level)} {spread(busy[level])}: **{rise:+.1f} %**"
            f" (rounds {busy[level]}; {', '.join(notes[level])})"
        )
    command = shlex.join(["python", "-m", "bench.run_outbox_web", *(argv or sys.argv[1:])])
    line = (
        f"- {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · `{harness.git_commit()}` · owner home while"
        f" the outbox delivers, PostgreSQL, {args.owners} owners, gunicorn 2×sync, wrk -c"
        f"{args.connections} {args.duration} s, {args.workers} outbox workers x {args.threads}"
        f" threads, max {args.rate or 'unlimited'}/s per thread, {args.messages} emails per"
        f" round, {args.rounds} rounds (medians, min-max):"
        f" p99 idle {spread(idle)} (rounds {idle}); " + "; ".join(parts) + f" · 2 CPUs, load"
        f" {load_before} before · dataset {'built' if built.get('generated') else 'reused'}"
        f" · `{command}`"
    )
    print(line)
    if not args.no_record:
        record(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
