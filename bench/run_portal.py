"""Load-test the owner home page against a bare Flask "hello" ceiling, on loopback only.

Builds (or reuses) the bench dataset, serves it with gunicorn in production mode, logs in a
few owners, and drives wrk at the hello app and at the owner home `/` in turn, under the same
gunicorn settings. Writes bench/results/portal.json (portal-postgres.json on PostgreSQL) and
appends a line to bench/RESULTS.md. A --quick run writes under bench/data/ and appends nothing.

    python -m bench.run_portal                      # SQLite, 100k owners, 10 s per endpoint
    python -m bench.run_portal --database-url postgresql+psycopg://postgres@127.0.0.1:5432/m4s_bench
    python -m bench.run_portal --quick              # 5k owners, 3 s: a smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import harness
from bench.generate import (
    BENCH_PASSWORD,
    DATA,
    ROOT,
    default_sqlite_url,
    engine_url,
    owner_login,
)


def check_owner_home(base: str, cookie: str) -> dict[str, Any]:
    """Fetch / as wrk will; it must be the owner's page and must not rewrite the cookie."""
    with harness.http_get(base + "/", {"Cookie": f"session={cookie}"}) as resp:
        body = resp.read()
        if resp.status != 200 or b'id="vehicle-list"' not in body:
            raise SystemExit("the session cookie does not open the owner home page")
        return {"bytes": len(body), "sets_cookie": resp.headers.get("Set-Cookie") is not None}


def append_results_md(result: dict[str, Any], command: str) -> None:
    if not harness.RESULTS_MD.exists():
        harness.RESULTS_MD.write_text(
            "# Bench results\n\n"
            "One line per run, appended by the bench scripts. The machine matters: note it.\n\n"
        )
    line = (
        f"- {result['date']} · `{result['commit']}` · portal on {result['database']} · "
        f"{result['owners']} owners / {result['vehicles']} vehicles · gunicorn "
        f"{result['workers']}×{result['worker_class']}"
        + (f"({result['threads']} threads)" if result["worker_class"] == "gthread" else "")
        + f" · wrk -t{result['wrk_threads']} -c{result['connections']} "
        f"{result['duration_s']} s · hello {result['hello_rps']} rps · owner home "
        f"{result['owner_home_rps']} rps ({result['owner_home_pct_of_hello']} % of hello), "
        f"p50 {result['owner_home_p50_ms']} ms, p99 {result['owner_home_p99_ms']} ms"
        + (f" · ERRORS {result['errors']}" if any(result["errors"].values()) else "")
        + f" · {result['cpus']} CPUs, load {result['loadavg_before']} before · `{command}`\n"
    )
    with harness.RESULTS_MD.open("a") as f:
        f.write(line)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.run_portal",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--database-url", help="default: SQLite file under bench/data/")
    p.add_argument("--owners", type=int, help="default 100000 (5000 with --quick)")
    p.add_argument("--vehicles", type=int, help="default: 1.5 per owner")
    p.add_argument("--duration", type=int, help="seconds of load per endpoint (10; quick 3)")
    p.add_argument("--quick", action="store_true", help="a smoke test; results stay in bench/data")
    p.add_argument("--rebuild", action="store_true", help="rebuild the dataset even if it fits")
    p.add_argument("--sessions", type=int, default=8, help="owners logged in, rotated by wrk")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--worker-class", default="sync", choices=["gthread", "sync"])
    p.add_argument("--gunicorn-threads", type=int, default=4)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--wrk-threads", type=int, default=1)
    p.add_argument("--output", type=Path, help="the JSON file to write")
    args = p.parse_args(argv)
    args.owners = args.owners or (5_000 if args.quick else 100_000)
    args.vehicles = args.owners * 3 // 2 if args.vehicles is None else args.vehicles
    args.duration = args.duration or (3 if args.quick else 10)
    if not 0 < args.duration <= 120:
        p.error("--duration must be between 0 and 120 seconds")
    if not 0 < args.sessions <= min(args.owners, 50):
        p.error("--sessions must be between 1 and min(owners, 50)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join(["python", "-m", "bench.run_portal", *sys.argv[1:]])
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    url = args.database_url or default_sqlite_url(args.owners)
    backend = engine_url(url).get_backend_name()
    built = harness.ensure_dataset(url, args.owners, args.vehicles, args.rebuild)
    env = harness.server_env(url)
    loadavg = round(os.getloadavg()[0], 2)  # the machine is shared: say how busy it was

    with harness.gunicorn("bench.hello:app", env, args, "/", "hello") as base:
        hello = harness.measure(base, "/", [], args, "hello")

    with harness.gunicorn("wsgi:app", env, args, "/healthz", "portal") as base:
        picks = [i * args.owners // args.sessions for i in range(args.sessions)]
        cookies = [harness.login(base, owner_login(i), BENCH_PASSWORD) for i in picks]
        page = check_owner_home(base, cookies[0])
        if page["sets_cookie"]:
            harness.log("WARNING: the owner home rewrites the session cookie on every request")
        home = harness.measure(base, "/", cookies, args, "owner_home")

    result = {
        "hello_rps": hello["rps"],
        "owner_home_rps": home["rps"],
        "owner_home_p99_ms": home["p99_ms"],
        "owners": args.owners,
        "owner_home_p50_ms": home["p50_ms"],
        "owner_home_pct_of_hello": round(100 * home["rps"] / hello["rps"], 1),
        "hello_p99_ms": hello["p99_ms"],
        "owner_home_bytes": page["bytes"],
        "errors": {"hello": hello["errors"], "owner_home": home["errors"]},
        "database": backend,
        "vehicles": args.vehicles,
        "sessions": args.sessions,
        "workers": args.workers,
        "worker_class": args.worker_class,
        "threads": args.gunicorn_threads if args.worker_class == "gthread" else 1,
        "connections": args.connections,
        "wrk_threads": args.wrk_threads,
        "duration_s": args.duration,
        "cpus": os.cpu_count(),
        "loadavg_before": loadavg,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": harness.git_commit(),
        **built,
    }
    short = {"sqlite": "", "postgresql": "-postgres"}.get(backend, f"-{backend}")
    default_name = f"portal{short}.json"
    out = args.output or (DATA / "quick" if args.quick else harness.RESULTS) / default_name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    if not args.quick:
        append_results_md(result, command)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    harness.log(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
