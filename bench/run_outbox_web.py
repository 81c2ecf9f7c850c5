"""The owner home's latency while the outbox delivers: does sending mail slow the portal down?

One PostgreSQL database holds the portal's bench dataset (bench.generate, --owners owners) and
the outbox. gunicorn serves the portal (2 sync workers, production mode) and --workers outbox
worker processes (`flask m4s worker --no-jobs`, --threads delivery threads each, under `nice -n
--nice`) deliver to an aiosmtpd sink in this process. A real worker is always running, so the
workers start once, before any measurement, and are warmed up (app imported, a first batch
delivered over a fresh SMTP connection) before the first round: their start-up never counts.
Each of --rounds rounds loads GET / with wrk (-c16, rotating 8 logged-in owners, --duration s)
twice, in alternating order (idle first in odd rounds, delivering first in even ones):
- idle: the workers poll an empty queue;
- delivering: --messages emails committed to the outbox just before wrk starts, enough that the
  queue is still not empty when wrk stops (the line says so for every round); then it drains.
For every window it records the load average at its start, the CPU seconds each party used
during it (portal = gunicorn's processes, workers, PostgreSQL backends of this database, all
PostgreSQL processes, this process = the SMTP sink, wrk) and the machine's busy CPU share.
The answer is the median over rounds of each p99, the rise of the delivering p99 over the idle
one, and the emails/s delivered inside the delivering windows; spreads (min-max) too.
Appends a section to bench/RESULTS.md unless --no-record.

    python -m bench.run_outbox_web --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_outbox_web
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

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

TICK = os.sysconf("SC_CLK_TCK")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run_outbox_web", description=__doc__)
    p.add_argument("--database-url", required=True, help="a PostgreSQL database named *bench*")
    p.add_argument("--owners", type=int, default=20_000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--duration", type=int, default=15, help="seconds of wrk per measurement")
    p.add_argument("--messages", type=int, default=12_000, help="emails queued per round")
    p.add_argument("--workers", type=int, default=2, help="outbox worker processes")
    p.add_argument("--threads", type=int, default=4, help="delivery threads per worker")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--rate", type=int, default=0, help="M4S_OUTBOX_MAX_PER_SECOND per thread")
    p.add_argument("--nice", default="0", help="the workers' nice level, or 'idle' (SCHED_IDLE)")
    p.add_argument("--no-record", action="store_true")
    args = p.parse_args(argv)
    # harness.gunicorn/wrk read these
    args.worker_class, args.gunicorn_threads, args.wrk_threads = "sync", 1, 1
    args.portal_workers = 2
    if not (args.nice == "idle" or args.nice.lstrip("-").isdigit()):
        p.error("--nice takes an integer or 'idle'")
    if "bench" not in args.database_url.rsplit("/", 1)[-1]:
        p.error("the database is rebuilt: its name must contain 'bench'")
    return args


def start_niced(level: str, env: dict[str, str], log: Path) -> subprocess.Popen:
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


# -- CPU accounting from /proc ---------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return [raw[: raw.index(" ")], raw[raw.index("(") + 1 : raw.rindex(")")]] + raw[
        raw.rindex(")") + 2 :
    ].split()


def cpu_seconds(pids: set[int]) -> float:
    """Return the user + system CPU seconds the processes have used so far."""
    total = 0
    for pid in pids:
        f = _stat(pid)
        if f is not None:  # fields 14 and 15 of proc(5): utime, stime
            total += int(f[13]) + int(f[14])
    return total / TICK


def all_processes() -> list[list[str]]:
    return [f for d in os.listdir("/proc") if d.isdigit() and (f := _stat(int(d))) is not None]


def portal_pids(port: str) -> set[int]:
    """Return gunicorn's master (found by its bind address) and its workers."""
    master = set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                cmd = Path(f"/proc/{d}/cmdline").read_bytes()
            except OSError:
                continue
            if b"gunicorn" in cmd and f":{port}".encode() in cmd:
                master.add(int(d))
    return master | {int(f[0]) for f in all_processes() if int(f[3]) in master}


def machine_busy() -> tuple[float, float]:
    """Return (busy, total) CPU seconds of the whole machine from /proc/stat."""
    v = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = v[3] + v[4]
    return (sum(v[:8]) - idle) / TICK, sum(v[:8]) / TICK


class Meter:
    """CPU seconds per party over one window."""

    def __init__(self, engine, portal: set[int], workers: set[int]) -> None:
        self.engine, self.portal, self.workers = engine, portal, workers

    def snapshot(self) -> dict[str, float]:
        with self.engine.connect() as conn:
            ours = set(
                conn.execute(
                    text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
                ).scalars()
            )
        pg_all = {int(f[0]) for f in all_processes() if f[1] == "postgres"}
        me, kids = (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
        busy, total = machine_busy()
        return {
            "portal": cpu_seconds(self.portal),
            "workers": cpu_seconds(self.workers),
            "pg_ours": cpu_seconds(ours),
            "pg_all": cpu_seconds(pg_all),
            "sink": me.ru_utime + me.ru_stime,
            "wrk": kids.ru_utime + kids.ru_stime,
            "busy": busy,
            "total": total,
            "_ours": ours,
        }

    def delta(self, a: dict, b: dict) -> dict[str, float]:
        d = {k: round(b[k] - a[k], 1) for k in a if not k.startswith("_") and k != "total"}
        # backends that connected during the window: only their own seconds in b count
        d["machine_busy_pct"] = round(100 * (b["busy"] - a["busy"]) / (b["total"] - a["total"]))
        d.pop("busy")
        return d


def spread(values: list[float], unit: str = "ms") -> str:
    return f"{statistics.median(values):.1f} {unit} ({min(values):.1f}-{max(values):.1f})"


def median_cpu(windows: list[dict]) -> str:
    keys = [k for k in windows[0] if k != "machine_busy_pct"]
    parts = [f"{k} {statistics.median(w[k] for w in windows):.1f} s" for k in keys]
    busy = statistics.median(w["machine_busy_pct"] for w in windows)
    return ", ".join(parts) + f"; machine busy {busy:.0f} %"


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
    idle: list[dict] = []
    busy: list[dict] = []
    gargs = argparse.Namespace(**{**vars(args), "workers": args.portal_workers})
    wenv = worker_env(url, port)
    wenv["M4S_OUTBOX_MAX_PER_SECOND"] = str(args.rate)
    procs: list[subprocess.Popen] = []
    try:
        with harness.gunicorn(
            "wsgi:app", harness.server_env(url), gargs, "/healthz", "portal"
        ) as base:
            picks = [i * args.owners // 8 for i in range(8)]
            cookies = [harness.login(base, owner_login(i), BENCH_PASSWORD) for i in picks]
            procs = [start_niced(args.nice, wenv, log) for _ in range(args.workers)]
            # warm-up: every delivery thread of every worker has sent over its SMTP connection
            enqueue(engine, 40 * args.workers * args.threads)
            if not wait_for(lambda: undelivered(engine) == 0, 300):
                raise SystemExit("the workers did not start delivering")
            harness.wrk(base, "/", cookies, 3, gargs, "home-warm")
            meter = Meter(engine, portal_pids(base.rsplit(":", 1)[1]), {p.pid for p in procs})

            def window(delivering: bool) -> dict:
                load = os.getloadavg()[0]
                if delivering:
                    sink.reset()
                    enqueue(engine, args.messages)
                before = meter.snapshot()
                res = harness.wrk(base, "/", cookies, args.duration, gargs, "home")
                after = meter.snapshot()
                out = {**res, "load": round(load, 2), "cpu": meter.delta(before, after)}
                if res["errors"]:
                    raise SystemExit(f"wrk errors: {res['errors']}")
                if delivering:
                    out["sent"], out["left"] = sink.total(), undelivered(engine)
                    out["per_s"] = round(out["sent"] / args.duration)
                    if not wait_for(lambda: undelivered(engine) == 0, 900):
                        raise SystemExit("the outbox did not drain")
                    time.sleep(2)  # let PostgreSQL settle (autovacuum of the sent rows)
                return out

            for r in range(args.rounds):
                order = [False, True] if r % 2 == 0 else [True, False]
                got = {d: window(d) for d in order}
                idle.append(got[False])
                busy.append(got[True])
                b, q = got[True], got[False]
                harness.log(
                    f"round {r + 1}: idle p99 {q['p99_ms']} ms {q['rps']} rps load {q['load']}"
                    f" cpu {q['cpu']}; delivering p99 {b['p99_ms']} ms {b['rps']} rps load"
                    f" {b['load']}, {b['sent']} sent ({b['per_s']}/s), {b['left']} left, cpu"
                    f" {b['cpu']}"
                )
    finally:
        stop(procs)
        controller.stop()
        engine.dispose()
    p99_idle = [w["p99_ms"] for w in idle]
    p99_busy = [w["p99_ms"] for w in busy]
    rises = [100 * (b / i - 1) for b, i in zip(p99_busy, p99_idle, strict=True)]
    rise = 100 * (statistics.median(p99_busy) / statistics.median(p99_idle) - 1)
    rates = [w["per_s"] for w in busy]
    command = shlex.join(["python", "-m", "bench.run_outbox_web", *(argv or sys.argv[1:])])
    lines = [
        f"- {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · `{harness.git_commit()}` · owner home while"
        f" the outbox delivers (warm workers), PostgreSQL, {args.owners} owners, gunicorn 2×sync,"
        f" wrk -c{args.connections} {args.duration} s, {args.workers} workers x {args.threads}"
        f" threads at nice {args.nice}, max {args.rate or 'unlimited'}/s per thread,"
        f" {args.messages} emails per round, {args.rounds} alternating rounds (medians, min-max)"
        f" · dataset {'built' if built.get('generated') else 'reused'} · `{command}`",
        f"  - p99 idle {spread(p99_idle)} {p99_idle}; delivering {spread(p99_busy)} {p99_busy}:"
        f" **{rise:+.1f} %** (per-round rises {[round(x) for x in rises]});"
        f" rps idle {spread([w['rps'] for w in idle], '')}, delivering"
        f" {spread([w['rps'] for w in busy], '')}",
        f"  - delivered inside the window: **{spread(rates, 'emails/s')}** {rates}; queue left"
        f" at the end {[w['left'] for w in busy]}",
        f"  - load average at window start: idle {[w['load'] for w in idle]}, delivering"
        f" {[w['load'] for w in busy]}",
        f"  - CPU seconds per {args.duration} s window, idle:"
        f" {median_cpu([w['cpu'] for w in idle])}",
        f"  - CPU seconds per {args.duration} s window, delivering:"
        f" {median_cpu([w['cpu'] for w in busy])}",
    ]
    text_out = "\n".join(lines)
    print(text_out)
    if not args.no_record:
        record(text_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
