"""CPU per delivered email: one delivery thread in this process, an aiosmtpd sink beside it.

Prints the wall time, this process's CPU (worker + sink), the delivery thread's own CPU and the
CPU of the database's PostgreSQL backends, each per email. Run it in two trees (A/B) in turn:

    python -m bench.outbox_cpu 1500 --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_outbox
"""

from __future__ import annotations

import argparse
import os
import resource
import time

from sqlalchemy import create_engine, text

from bench.run_outbox import Sink, enqueue, free_port, worker_env
from bench.run_outbox_web import cpu_seconds


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.outbox_cpu", description=__doc__)
    p.add_argument("messages", type=int)
    p.add_argument("--database-url", required=True, help="a migrated PostgreSQL database")
    args = p.parse_args(argv)
    from aiosmtpd.controller import Controller

    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    os.environ.update(worker_env(args.database_url, port))
    from portal.app import create_app
    from portal.worker.delivery import deliver_due

    app, engine, n = create_app(), create_engine(args.database_url), args.messages
    sql = "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
    try:
        with app.app_context():
            enqueue(engine, 100)
            deliver_due()  # warm: imports, pool, SMTP connection
            enqueue(engine, n)
            with engine.connect() as conn:
                pids = set(conn.execute(text(sql)).scalars())
            pg0, r0, th0, t0 = (
                cpu_seconds(pids),
                resource.getrusage(resource.RUSAGE_SELF),
                time.thread_time(),
                time.perf_counter(),
            )
            counts = deliver_due()
            t1, th1 = time.perf_counter(), time.thread_time()
            r1, pg1 = resource.getrusage(resource.RUSAGE_SELF), cpu_seconds(pids)
    finally:
        controller.stop()
        engine.dispose()
    proc = r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime
    print(
        f"sent={counts['sent']} wall_ms/msg={1000 * (t1 - t0) / n:.2f}"
        f" process_cpu_ms/msg={1000 * proc / n:.2f} thread_cpu_ms/msg={1000 * (th1 - th0) / n:.2f}"
        f" pg_cpu_ms/msg={1000 * (pg1 - pg0) / n:.2f} load={os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
