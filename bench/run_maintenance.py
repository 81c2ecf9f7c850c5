"""Load-test the owner's maintenance page against the bare Flask "hello", and time the uptake
lookup at 10k and at 1M+ service records.

The big dataset is bench.run_portal's (100k owners, 150k vehicles) plus two years of
maintenance history (over 1M service records) and its aggregates, built in bulk by
bench.generate_maintenance; the small one has about 10k service records. Under gunicorn
(2 sync workers each, all up for the whole run, wrk -c16), five loads take turns for five
rounds (duration/2 seconds each), so that each round compares the page with its baseline a
minute apart at most on this shared, drifting machine: hello; bench.hello_user (bare Flask +
its session cookie + one ORM user lookup: a plain logged-in Flask + SQLAlchemy request);
GET /vehicles/<id>/maintenance (rotating among 8 logged-in owners and their cars); the unread
badge (the smallest authenticated answer); the page with the page cache off
(M4S_FRAGMENT_CACHE_BYTES=0: the whole page rendered on every request). Requests/s are the
median of the rounds, shares the median of the rounds' shares, p99 the worst round's. Then,
in-process, portal.services.maintenance.uptake_for for a car's plan items over many calls on
each dataset (best of 3 rounds).
Writes bench/results/maintenance.json (maintenance-postgres.json on PostgreSQL) and a line in
bench/RESULTS.md; a --quick run writes under bench/data/ and appends nothing.

    python -m bench.run_maintenance
    python -m bench.run_maintenance --database-url postgresql+psycopg://postgres@127.0.0.1:5432/m4s_bench_maint
    python -m bench.run_maintenance --quick
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import statistics
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, func, select

from bench.generate import (
    BENCH_PASSWORD,
    DATA,
    ROOT,
    bench_app,
    describe,
    engine_url,
    generate,
    migrations_head,
    owner_login,
)
from bench.harness import (
    RESULTS,
    RESULTS_MD,
    WRK_REPORT,
    git_commit,
    gunicorn,
    http_get,
    log,
    login,
    may_wipe,
    server_env,
    wrk,
)
from bench.run_portal import parse_args
from portal.models import ServiceRecord, User, Vehicle

SMALL_OWNERS = 800  # about 10k service records
UPTAKE_CALLS = 3000  # per round; the best of UPTAKE_ROUNDS rounds counts
UPTAKE_ROUNDS = 3
GOAL_PCT, GOAL_P99_MS, GOAL_RATIO = 30.0, 100.0, 1.5
BADGE = "/notifications/badge"
PAGE_SCRIPT = """\
local pages = {%(pages)s}
local n = 0
request = function()
  n = n + 1
  local p = pages[(n %% #pages) + 1]
  wrk.headers["Cookie"] = p[1]
  return wrk.format("GET", p[2])
end
"""
PAGE_SCRIPT += WRK_REPORT


def service_records(database_url: str) -> int:
    engine = create_engine(engine_url(database_url))
    try:
        with engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(ServiceRecord.__table__))
    finally:
        engine.dispose()


def ensure_dataset(database_url: str, owners: int, vehicles: int, rebuild: bool) -> dict:
    """Reuse the dataset if it has this size, schema and a maintenance history, else build it."""
    wanted = {"revision": migrations_head(), "owners": owners, "vehicles": vehicles}
    found = describe(database_url)
    if found == wanted and not rebuild and service_records(database_url):
        log(f"reusing the dataset: {found}")
        return {"generated": False}
    if not may_wipe(database_url):
        raise SystemExit(f"{engine_url(database_url).render_as_string()} is not a bench database")
    log(f"building the dataset ({owners} owners, maintenance history); found {found}")
    result = generate(database_url, owners, vehicles, reset=True, log=log, maintenance=True)
    log(f"dataset built in {result['seconds']} s")
    return {"generated": True, "generate_s": result["seconds"]}


def sibling_url(database_url: str, owners: int) -> str:
    """Return the URL of the small dataset beside the big one (same backend)."""
    url = engine_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///{DATA / f'maintenance-{owners}.db'}"
    return url.set(database=f"{url.database}_{owners}").render_as_string(hide_password=False)


def first_cars(database_url: str, phones: list[str]) -> list[int]:
    """Return each owner's first car."""
    engine = create_engine(engine_url(database_url))
    try:
        with engine.connect() as conn:
            return [
                conn.scalar(select(func.min(Vehicle.id)).join(User).where(User.phone == p))
                for p in phones
            ]
    finally:
        engine.dispose()


def owner_ids(database_url: str, phones: list[str]) -> list[int]:
    """Return the owners' user ids."""
    engine = create_engine(engine_url(database_url))
    try:
        with engine.connect() as conn:
            return [conn.scalar(select(User.id).where(User.phone == p)) for p in phones]
    finally:
        engine.dispose()


def session_cookie(url: str) -> str:
    """Return the session cookie that the bare login of bench.hello_user sets."""
    with http_get(url) as resp:
        cookie = resp.headers.get("Set-Cookie", "")
    if not cookie.startswith("session="):
        raise SystemExit(f"no session cookie from {url}")
    return cookie.split(";")[0].removeprefix("session=")


def check_page(base: str, cookie: str, path: str) -> int:
    """Fetch the page as wrk will; it must be the schedule with uptake lines."""
    with http_get(base + path, {"Cookie": f"session={cookie}"}) as resp:
        body = resp.read()
        if resp.status != 200 or b'id="uptake-' not in body:
            raise SystemExit(f"{path} is not a maintenance schedule")
        return len(body)


def time_uptake(database_url: str) -> float:
    """Return the best mean milliseconds of one uptake_for call for a car's plan items."""
    from portal.extensions import db
    from portal.services import maintenance as svc

    app = bench_app(database_url)
    with app.app_context():
        try:
            n = db.session.scalar(select(func.max(Vehicle.id)))
            cars = [db.session.get(Vehicle, 1 + i * (n - 1) // 49) for i in range(50)]
            asks = [([i.code for i in svc.plan_for(v).items], v.brand, v.series) for v in cars]
            db.session.rollback()
            best = float("inf")
            for _ in range(UPTAKE_ROUNDS):
                started = time.perf_counter()
                for k in range(UPTAKE_CALLS):
                    svc.uptake_for(*asks[k % len(asks)])
                best = min(best, (time.perf_counter() - started) / UPTAKE_CALLS * 1000)
                db.session.rollback()
            return round(best, 4)
        finally:
            db.session.remove()
            db.engine.dispose()


def append_results_md(r: dict[str, Any], command: str) -> None:
    line = (
        f"- {r['date']} · `{r['commit']}` · maintenance on {r['database']} · {r['owners']} "
        f"owners / {r['vehicles']} vehicles / {r['service_records']} service records · gunicorn "
        f"{r['workers']}×sync · wrk -t1 -c{r['connections']}, {r['rounds']} interleaved rounds of "
        f"{r['round_s']} s (medians; p99 of the worst round) · hello "
        f"{r['hello_rps']} rps, hello + session + user lookup {r['hello_user_rps']} rps "
        f"({r['hello_user_pct_of_hello']} %) · maintenance page {r['maintenance_rps']} rps "
        f"({r['maintenance_pct_of_hello']} % of hello, median of the rounds' shares; rounds "
        f"{r['rounds_rps']['maintenance']} vs hello {r['rounds_rps']['hello']}), "
        f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms"
        f"; page cache off {r['uncached_rps']} rps ({r['uncached_pct_of_hello']} %), "
        f"p99 {r['uncached_p99_ms']} ms; the unread badge {r['floor_badge_rps']} rps "
        f"({r['floor_badge_pct_of_hello']} %)"
        f" · uptake_for {r['uptake_10k_ms']} ms at {r['service_records_small']} records, "
        f"{r['uptake_1m_ms']} ms at {r['service_records']} (ratio {r['ratio']})"
        + (f" · ERRORS {r['errors']}" if any(r["errors"].values()) else "")
        + f" · {r['cpus']} CPUs, load {r['loadavg_before']} before, {r['loadavg_after']} after"
        f" · `{command}`\n"
    )
    with RESULTS_MD.open("a") as f:
        f.write(line)


ROUNDS = 5


def _pairs(cookies: list[str], paths: list[str]) -> str:
    return ", ".join(
        "{" + json.dumps(f"session={c}") + ", " + json.dumps(p) + "}"
        for c, p in zip(cookies, paths, strict=True)
    )


def interleaved(loads: dict[str, tuple], args) -> dict[str, dict[str, Any]]:
    """Warm every load up, then run them in turn for ROUNDS rounds of duration/2 seconds.

    Per load: the median requests/s and p50 of the rounds, the worst round's p99 and max,
    every error, and each round's requests/s (rounds[i] of two loads ran a minute apart at
    most)."""
    seconds = max(2, args.duration // 2)
    per_round: dict[str, list[dict[str, Any]]] = {name: [] for name in loads}
    for name, (base, path, cookies, lua) in loads.items():
        wrk(base, path, cookies, 1, args, name, lua)
    for k in range(ROUNDS):
        for name, (base, path, cookies, lua) in loads.items():
            run = wrk(base, path, cookies, seconds, args, name, lua)
            log(f"round {k + 1}/{ROUNDS} {name}: {run}")
            per_round[name].append(run)
    out = {}
    for name, runs in per_round.items():
        errors: dict[str, int] = {}
        for run in runs:
            for kind, n in run["errors"].items():
                errors[kind] = errors.get(kind, 0) + n
        out[name] = {
            "rps": statistics.median(r["rps"] for r in runs),
            "p50_ms": statistics.median(r["p50_ms"] for r in runs),
            "p99_ms": max(r["p99_ms"] for r in runs),
            "max_ms": max(r["max_ms"] for r in runs),
            "errors": errors,
            "rounds_rps": [r["rps"] for r in runs],
        }
    return out


def _median_pct(load: dict[str, Any], base: dict[str, Any]) -> float:
    """The median over rounds of the load's requests/s as a share of the baseline's."""
    shares = [a / b for a, b in zip(load["rounds_rps"], base["rounds_rps"], strict=True)]
    return round(100 * statistics.median(shares), 1)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join(["python", "-m", "bench.run_maintenance", *sys.argv[1:]])
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    url = args.database_url or f"sqlite:///{DATA / f'maintenance-{args.owners}.db'}"
    small_owners = min(SMALL_OWNERS, args.owners // 10)
    small = sibling_url(url, small_owners)
    backend = engine_url(url).get_backend_name()
    built = ensure_dataset(url, args.owners, args.vehicles, args.rebuild)
    ensure_dataset(small, small_owners, small_owners * 3 // 2, args.rebuild)
    env = server_env(url)
    loadavg = round(os.getloadavg()[0], 2)  # the machine is shared: say how busy it was

    # Every server is up for the whole run and the loads take turns, round after round: the
    # machine is shared and its speed drifts by tens of per cent within minutes, so the page
    # and its baseline are compared round by round, never a fast minute against a slow one.
    user_ids = owner_ids(url, [owner_login(i * args.owners // args.sessions) for i in range(8)])
    phones = [owner_login(i * args.owners // args.sessions) for i in range(args.sessions)]
    paths = [f"/vehicles/{v}/maintenance" for v in first_cars(url, phones)]
    # The page cache off: every request builds and renders the whole page, as the first view
    # of a car each day does. The same secret key, so the sessions stay valid.
    cold_env = dict(env, M4S_FRAGMENT_CACHE_BYTES="0")
    with ExitStack() as servers:
        hello_base = servers.enter_context(gunicorn("bench.hello:app", env, args, "/", "hello"))
        # The second ceiling: bare Flask + session cookie + one ORM user lookup.
        user_base = servers.enter_context(
            gunicorn("bench.hello_user:app", env, args, "/login/0", "hello_user")
        )
        base = servers.enter_context(gunicorn("wsgi:app", env, args, "/healthz", "portal"))
        cold_base = servers.enter_context(
            gunicorn("wsgi:app", cold_env, args, "/healthz", "portal-uncached")
        )
        user_cookies = [session_cookie(user_base + f"/login/{u}") for u in user_ids]
        cookies = [login(base, p, BENCH_PASSWORD) for p in phones]
        page_bytes = check_page(base, cookies[0], paths[0])
        check_page(cold_base, cookies[0], paths[0])
        pages = PAGE_SCRIPT % {"pages": _pairs(cookies, paths)}
        # The unread-messages badge: session, login check, one count, a tiny template.
        badges = PAGE_SCRIPT % {"pages": _pairs(cookies, [BADGE] * len(cookies))}
        loads = {
            "hello": (hello_base, "/", [], None),
            "hello_user": (user_base, "/", user_cookies, None),
            "maintenance": (base, paths[0], [], pages),
            "badge": (base, BADGE, [], badges),
            "uncached": (cold_base, paths[0], [], pages),
        }
        runs = interleaved(loads, args)
    hello, hello_user, page = runs["hello"], runs["hello_user"], runs["maintenance"]
    floor, cold = runs["badge"], runs["uncached"]

    uptake = {"small": [], "big": []}
    for _ in range(2):  # interleaved, so that a busy moment of the machine hits both
        uptake["small"].append(time_uptake(small))
        uptake["big"].append(time_uptake(url))
    t_small, t_big = min(uptake["small"]), min(uptake["big"])
    pct = _median_pct(page, hello)
    ratio = round(t_big / t_small, 3)
    result = {
        "hello_rps": hello["rps"],
        "maintenance_rps": page["rps"],
        "ratio": ratio,
        "p99_ms": page["p99_ms"],
        "service_records": service_records(url),
        "uptake_10k_ms": t_small,
        "uptake_1m_ms": t_big,
        "service_records_small": service_records(small),
        "maintenance_pct_of_hello": pct,
        "p50_ms": page["p50_ms"],
        "hello_user_rps": hello_user["rps"],
        "hello_user_pct_of_hello": _median_pct(hello_user, hello),
        "maintenance_pct_of_hello_user": _median_pct(page, hello_user),
        "floor_badge_rps": floor["rps"],
        "floor_badge_pct_of_hello": _median_pct(floor, hello),
        "uncached_rps": cold["rps"],
        "uncached_pct_of_hello": _median_pct(cold, hello),
        "uncached_p99_ms": cold["p99_ms"],
        "goals_met": {
            f"rps >= {GOAL_PCT} % of hello": pct >= GOAL_PCT,
            f"p99 < {GOAL_P99_MS} ms": page["p99_ms"] < GOAL_P99_MS,
            f"uptake ratio <= {GOAL_RATIO}": ratio <= GOAL_RATIO,
        },
        "page_bytes": page_bytes,
        "errors": {
            "hello": hello["errors"],
            "hello_user": hello_user["errors"],
            "maintenance": page["errors"],
            "uncached": cold["errors"],
            "badge": floor["errors"],
        },
        "database": backend,
        "owners": args.owners,
        "vehicles": args.vehicles,
        "sessions": args.sessions,
        "workers": args.workers,
        "connections": args.connections,
        "duration_s": args.duration,
        "rounds": ROUNDS,
        "round_s": max(2, args.duration // 2),
        "rounds_rps": {name: run["rounds_rps"] for name, run in runs.items()},
        "uptake_calls": UPTAKE_CALLS,
        "cpus": os.cpu_count(),
        "loadavg_before": loadavg,
        "loadavg_after": round(os.getloadavg()[0], 2),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        **built,
    }
    name = "maintenance.json" if backend == "sqlite" else f"maintenance-{backend}.json"
    out = args.output or (DATA / "quick" if args.quick else RESULTS) / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    if not args.quick:
        append_results_md(result, command)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    log(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
