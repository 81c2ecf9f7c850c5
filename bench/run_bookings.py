"""Load-test the slot picker and booking creation against the bare Flask "hello" ceiling.

Same dataset, servers and wrk settings as bench.run_portal (100k owners, a year of bookings in
2 stores). In one run it measures: hello; GET /bookings/slots?store=..&day=.. as logged-in
owners; POST /bookings/new, where every request is a real, valid booking: a wrk Lua script
rotates through the owners' session cookies (each with its own CSRF token and car) and through
every slot of the next 29 days of both stores. The bench raises the stores' bays in its own
database so that capacity never runs out, then checks that exactly as many bookings were
created as wrk counted successful requests. Writes bench/results/bookings.json and a line in
bench/RESULTS.md (a --quick run writes under bench/data/ and appends nothing).

    python -m bench.run_bookings
    python -m bench.run_bookings --database-url postgresql+psycopg://postgres@127.0.0.1:5432/m4s_bench
    python -m bench.run_bookings --quick
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
import urllib.parse
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, func, select, update

from bench.generate import BENCH_PASSWORD, DATA, ROOT, default_sqlite_url, engine_url, owner_login
from bench.harness import (
    RESULTS,
    RESULTS_MD,
    WRK_REPORT,
    ensure_dataset,
    git_commit,
    gunicorn,
    http_get,
    log,
    login,
    measure,
    server_env,
)
from bench.run_portal import parse_args
from portal.models import Booking, Store, User, Vehicle

BENCH_BAYS = 100_000  # the bench database only: every booking request finds a place
MARK = "m4s-bench booking"  # the description of every booking the bench creates
BOOK_SCRIPT = """\
local owners = {%(owners)s}
local slots = {%(slots)s}
local n = 0
request = function()
  n = n + 1
  local o = owners[(n %% #owners) + 1]
  wrk.headers["Cookie"] = o[1]
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  return wrk.format("POST", "/bookings/new", nil, o[2] .. "&" .. slots[(n %% #slots) + 1])
end
"""
BOOK_SCRIPT += WRK_REPORT


def prepare_capacity(url: str) -> list[dict]:
    """Give the bench stores room for every request; return them (id, zone, hours)."""
    engine = create_engine(engine_url(url))
    try:
        with engine.begin() as conn:
            conn.execute(update(Store).values(bays=BENCH_BAYS))
            rows = conn.execute(select(Store.id, Store.timezone, Store.opens_at, Store.closes_at))
            return [dict(r._mapping) for r in rows]
    finally:
        engine.dispose()


def count_bench_bookings(url: str, mark: str | None = MARK) -> int:
    """Return how many bookings the bench created (all bookings with mark=None)."""
    engine = create_engine(engine_url(url))
    try:
        with engine.connect() as conn:
            stmt = select(func.count(Booking.id))
            if mark is not None:
                stmt = stmt.where(Booking.description == mark)
            return conn.scalar(stmt)
    finally:
        engine.dispose()


def slot_fields(stores: list[dict], today: date) -> list[str]:
    """Return urlencoded store/day/slot fields for every slot from tomorrow to today + 29."""
    out = []
    for offset in range(1, 30):
        day = today + timedelta(days=offset)
        for s in stores:
            tz = ZoneInfo(s["timezone"])
            start = datetime.combine(day, s["opens_at"], tzinfo=tz)
            while start + timedelta(hours=1) <= datetime.combine(day, s["closes_at"], tzinfo=tz):
                slot = start.astimezone(UTC).isoformat()
                fields = {"store": s["id"], "day": day.isoformat(), "slot": slot}
                out.append(urllib.parse.urlencode(fields))
                start += timedelta(hours=1)
    return out


def owner_form(base: str, url: str, phone: str, cookie: str) -> tuple[str, str]:
    """Return (Cookie header, fixed form fields) of one owner, with its session's CSRF token."""
    with http_get(base + "/bookings/new", {"Cookie": f"session={cookie}"}) as resp:
        page = resp.read().decode()
        fresh = re.search(r"session=([^;]+)", resp.headers.get("Set-Cookie") or "")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if token is None:
        raise SystemExit(f"no booking form for {phone}")
    engine = create_engine(engine_url(url))
    try:
        with engine.connect() as conn:
            vehicle = conn.scalar(
                select(func.min(Vehicle.id)).join(User).where(User.phone == phone)
            )
    finally:
        engine.dispose()
    fields = urllib.parse.urlencode(
        {
            "csrf_token": token.group(1),
            "vehicle": vehicle,
            "service_types": "maintenance",
            "description": MARK,
        }
    )
    return f"session={fresh.group(1) if fresh else cookie}", fields


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join(["python", "-m", "bench.run_bookings", *sys.argv[1:]])
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    url = args.database_url or default_sqlite_url(args.owners)
    backend = engine_url(url).get_backend_name()
    built = ensure_dataset(url, args.owners, args.vehicles, args.rebuild)
    stores = prepare_capacity(url)
    env = server_env(url)
    loadavg = round(os.getloadavg()[0], 2)
    today = datetime.now(ZoneInfo(stores[0]["timezone"])).date()
    tomorrow = (today + timedelta(days=1)).isoformat()

    with gunicorn("bench.hello:app", env, args, "/", "hello") as base:
        hello = measure(base, "/", [], args, "hello")

    with gunicorn("wsgi:app", env, args, "/healthz", "portal") as base:
        picks = [i * args.owners // args.sessions for i in range(args.sessions)]
        phones = [owner_login(i) for i in picks]
        cookies = [login(base, p, BENCH_PASSWORD) for p in phones]
        slots_path = f"/bookings/slots?store={stores[0]['id']}&day={tomorrow}"
        with http_get(base + slots_path, {"Cookie": f"session={cookies[0]}"}) as resp:
            if resp.status != 200 or b'name="slot"' not in resp.read():
                raise SystemExit("the slot picker shows no free slot")
        slots = measure(base, slots_path, cookies, args, "slots")
        forms = [owner_form(base, url, p, c) for p, c in zip(phones, cookies, strict=True)]
        lua = BOOK_SCRIPT % {
            "owners": ", ".join(f"{{{json.dumps(c)}, {json.dumps(f)}}}" for c, f in forms),
            "slots": ", ".join(json.dumps(s) for s in slot_fields(stores, today)),
        }
        before = count_bench_bookings(url)
        book = measure(base, "/bookings/new", [], args, "book", lua)
        created = count_bench_bookings(url) - before

    result = {
        "hello_rps": hello["rps"],
        "slots_rps": slots["rps"],
        "book_rps": book["rps"],
        "owners": args.owners,
        "bookings_in_db": count_bench_bookings(url, None),
        "slots_p50_ms": slots["p50_ms"],
        "slots_p99_ms": slots["p99_ms"],
        "book_p50_ms": book["p50_ms"],
        "book_p99_ms": book["p99_ms"],
        "bookings_created": created,  # warm-up and measured run together
        "book_requests": book["requests"],
        "errors": {"hello": hello["errors"], "slots": slots["errors"], "book": book["errors"]},
        "database": backend,
        "vehicles": args.vehicles,
        "sessions": args.sessions,
        "workers": args.workers,
        "worker_class": args.worker_class,
        "connections": args.connections,
        "wrk_threads": args.wrk_threads,
        "duration_s": args.duration,
        "cpus": os.cpu_count(),
        "loadavg_before": loadavg,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        **built,
    }
    if book["errors"]:
        log(f"WARNING: booking requests failed: {book['errors']}")
    short = {"sqlite": "", "postgresql": "-postgres"}.get(backend, f"-{backend}")
    out = args.output or (DATA / "quick" if args.quick else RESULTS) / f"bookings{short}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    if not args.quick:
        with RESULTS_MD.open("a") as f:
            f.write(
                f"- {result['date']} · `{result['commit']}` · bookings on {backend} · "
                f"{args.owners} owners, {result['bookings_in_db']} bookings · gunicorn "
                f"{args.workers}×{args.worker_class} · wrk -t{args.wrk_threads} "
                f"-c{args.connections} {args.duration} s · hello {hello['rps']} rps · slots "
                f"{slots['rps']} rps (p99 {slots['p99_ms']} ms) · book {book['rps']} rps "
                f"(p99 {book['p99_ms']} ms, {created} bookings created) · {result['cpus']} CPUs, "
                f"load {loadavg} before · `{command}`\n"
            )
    print(json.dumps(result, indent=2, ensure_ascii=False))
    log(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
