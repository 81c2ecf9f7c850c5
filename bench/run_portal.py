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
import http.cookiejar
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.generate import (
    BENCH_PASSWORD,
    DATA,
    ROOT,
    default_sqlite_url,
    describe,
    engine_url,
    generate,
    migrations_head,
    owner_login,
)

RESULTS = ROOT / "bench" / "results"
RESULTS_MD = ROOT / "bench" / "RESULTS.md"
HOST = "127.0.0.1"  # every byte of load stays on loopback
USER_AGENT = "m4s-bench/1"  # the same for the login and for wrk, so Flask-Login's
# session protection sees the same client and never rewrites the cookie mid-run.
READY_TIMEOUT = 60.0
WRK_SCRIPT = """\
local cookies = {%(cookies)s}
local n = 0
request = function()
  n = n + 1
  if #cookies > 0 then
    wrk.headers["Cookie"] = cookies[(n %% #cookies) + 1]
  end
  return wrk.format("GET", "%(path)s")
end
"""
# Every wrk script ends with this: one parseable BENCH line with the counts and latencies.
WRK_REPORT = """\
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%%d duration_us=%%d p50_us=%%d p99_us=%%d "
    .. "max_us=%%d connect=%%d read=%%d write=%%d status=%%d timeout=%%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""
WRK_SCRIPT += WRK_REPORT


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the dataset -----------------------------------------------------------------------------


def _may_wipe(database_url: str) -> bool:
    """Only datasets that are obviously the bench's own are ever rebuilt in place."""
    url = engine_url(database_url)
    if url.get_backend_name() == "sqlite":
        return Path(url.database or "").resolve().is_relative_to(DATA)
    return "bench" in (url.database or "")


def ensure_dataset(database_url: str, owners: int, vehicles: int, rebuild: bool) -> dict[str, Any]:
    """Reuse the dataset if it has this size and schema, else build it; say which and how long."""
    wanted = {"revision": migrations_head(), "owners": owners, "vehicles": vehicles}
    found = describe(database_url)
    if found == wanted and not rebuild:
        log(f"reusing the dataset: {found}")
        return {"generated": False}
    if not _may_wipe(database_url):
        raise SystemExit(
            f"{engine_url(database_url).render_as_string()} does not hold this dataset "
            f"({found}); the bench only rebuilds SQLite files under bench/data/ and "
            "PostgreSQL databases named *bench*. Build it with python -m bench.generate."
        )
    log(f"building the dataset ({owners} owners, {vehicles} vehicles); found {found}")
    result = generate(database_url, owners, vehicles, reset=True, log=log)
    log(f"dataset built in {result['seconds']} s")
    return {"generated": True, "generate_s": result["seconds"]}


# -- servers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _get(url: str, headers: dict[str, str] | None = None, timeout: float = 10):
    # Only ever http://127.0.0.1:<port> URLs built here, hence the S310 waivers.
    headers = {"User-Agent": USER_AGENT, **(headers or {})}
    req = urllib.request.Request(url, headers=headers)  # noqa: S310
    return urllib.request.urlopen(req, timeout=timeout)  # noqa: S310


@contextmanager
def gunicorn(
    app: str, env: dict[str, str], args: argparse.Namespace, probe: str, name: str
) -> Iterator[str]:
    """Serve the WSGI app with gunicorn on a free loopback port; yield its base URL."""
    port = free_port()
    logfile = DATA / "logs" / f"{name}.log"
    logfile.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "gunicorn",
        "--workers", str(args.workers),
        "--worker-class", args.worker_class,
        # gunicorn silently turns sync workers into gthread when threads > 1.
        "--threads", str(args.gunicorn_threads if args.worker_class == "gthread" else 1),
        "--bind", f"{HOST}:{port}",
        "--log-level", "warning",
        "--error-logfile", str(logfile),
        "--graceful-timeout", "5",
        app,
    ]  # fmt: skip
    base = f"http://{HOST}:{port}"
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"gunicorn for {app} exited; see {logfile}")
            try:
                with _get(base + probe, timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn for {app} not ready after {READY_TIMEOUT} s")
            time.sleep(0.2)
        log(f"{app} is up at {base} ({args.workers} {args.worker_class} workers)")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def server_env(database_url: str) -> dict[str, str]:
    """Return a clean environment: production mode, no inherited M4S_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("M4S_")}
    env.update(
        PYTHONPATH=str(ROOT),
        M4S_ENV="production",
        M4S_SECRET_KEY=secrets.token_hex(32),
        M4S_DATABASE_URL=database_url,
        # Plain http on loopback: production honours this override, so the cookie is not
        # marked Secure; wrk sends whatever Cookie header it is given in any case.
        M4S_SESSION_COOKIE_SECURE="0",
        M4S_RATELIMIT_ENABLED="0",  # the bench logs in several owners from one address
        M4S_INSTANCE_PATH=str(DATA / "instance"),  # never a developer's instance/m4s.cfg
    )
    return env


# -- logging in ------------------------------------------------------------------------------


def login(base: str, phone: str, password: str) -> str:
    """Log in through the real form (CSRF token and all); return the session cookie value."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    with opener.open(base + "/login", timeout=10) as resp:
        page = resp.read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if token is None:
        raise SystemExit("no csrf_token field on /login")
    form = urllib.parse.urlencode(
        {"login": phone, "password": password, "csrf_token": token.group(1)}
    ).encode()
    with opener.open(base + "/login", data=form, timeout=30) as resp:
        landed = resp.url
    cookie = next((c.value for c in jar if c.name == "session"), None)
    if cookie is None or urllib.parse.urlsplit(landed).path != "/":
        raise SystemExit(f"login as {phone} failed (landed on {landed})")
    return cookie


def check_owner_home(base: str, cookie: str) -> dict[str, Any]:
    """Fetch / as wrk will; it must be the owner's page and must not rewrite the cookie."""
    with _get(base + "/", {"Cookie": f"session={cookie}"}) as resp:
        body = resp.read()
        if resp.status != 200 or b'id="vehicle-list"' not in body:
            raise SystemExit("the session cookie does not open the owner home page")
        return {"bytes": len(body), "sets_cookie": resp.headers.get("Set-Cookie") is not None}


# -- load ------------------------------------------------------------------------------------


def wrk(
    base: str,
    path: str,
    cookies: list[str],
    seconds: int,
    args: argparse.Namespace,
    name: str,
    lua: str | None = None,
) -> dict[str, Any]:
    """Run wrk for a bounded time and return requests/s, latencies (ms) and errors.

    lua replaces the default script (GET path, rotating cookies); it must keep its done()."""
    script = DATA / f"wrk-{name}.lua"
    quoted = ", ".join(json.dumps(f"session={c}") for c in cookies)
    script.write_text(lua or WRK_SCRIPT % {"cookies": quoted, "path": path})
    cmd = [
        "wrk", f"-t{args.wrk_threads}", f"-c{args.connections}", f"-d{seconds}s",
        "--timeout", "10s", "-H", f"User-Agent: {USER_AGENT}", "-s", str(script), base + path,
    ]  # fmt: skip
    out = subprocess.run(
        cmd, capture_output=True, text=True, timeout=seconds + 60, check=True
    ).stdout
    line = next((x for x in out.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"unexpected wrk output:\n{out}")
    v = {k: int(n) for k, n in (kv.split("=") for kv in line.split()[1:])}
    return {
        "rps": round(v["requests"] / (v["duration_us"] / 1e6), 1),
        "p50_ms": round(v["p50_us"] / 1000, 2),
        "p99_ms": round(v["p99_us"] / 1000, 2),
        "max_ms": round(v["max_us"] / 1000, 2),
        "requests": v["requests"],
        "errors": {k: v[k] for k in ("connect", "read", "write", "status", "timeout") if v[k]},
    }


def measure(
    base: str,
    path: str,
    cookies: list[str],
    args: argparse.Namespace,
    name: str,
    lua: str | None = None,
) -> dict[str, Any]:
    """Warm the workers up for a second, then measure."""
    wrk(base, path, cookies, 1, args, name, lua)
    result = wrk(base, path, cookies, args.duration, args, name, lua)
    log(f"{name}: {result}")
    if result["errors"]:
        log(f"WARNING: {name} had errors: {result['errors']}")
    return result


# -- results ---------------------------------------------------------------------------------


def git_commit() -> str:
    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout

    head = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    results = (":!bench/results", ":!bench/RESULTS.md")  # written by the runs themselves
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", *results).strip()
    return head + ("-dirty" if dirty else "")


def append_results_md(result: dict[str, Any], command: str) -> None:
    if not RESULTS_MD.exists():
        RESULTS_MD.write_text(
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
    with RESULTS_MD.open("a") as f:
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
    built = ensure_dataset(url, args.owners, args.vehicles, args.rebuild)
    env = server_env(url)
    loadavg = round(os.getloadavg()[0], 2)  # the machine is shared: say how busy it was

    with gunicorn("bench.hello:app", env, args, "/", "hello") as base:
        hello = measure(base, "/", [], args, "hello")

    with gunicorn("wsgi:app", env, args, "/healthz", "portal") as base:
        picks = [i * args.owners // args.sessions for i in range(args.sessions)]
        cookies = [login(base, owner_login(i), BENCH_PASSWORD) for i in picks]
        page = check_owner_home(base, cookies[0])
        if page["sets_cookie"]:
            log("WARNING: the owner home rewrites the session cookie on every request")
        home = measure(base, "/", cookies, args, "owner_home")

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
        "commit": git_commit(),
        **built,
    }
    short = {"sqlite": "", "postgresql": "-postgres"}.get(backend, f"-{backend}")
    default_name = f"portal{short}.json"
    out = args.output or (DATA / "quick" if args.quick else RESULTS) / default_name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    if not args.quick:
        append_results_md(result, command)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    log(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
