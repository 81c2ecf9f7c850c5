"""Build or reuse the bench dataset, serve it with gunicorn on loopback and drive wrk at it."""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.database import BENCH_DATA_KEY, BENCH_LOOKUP_KEY
from bench.generate import (
    DATA,
    ROOT,
    describe,
    engine_url,
    generate,
    migrations_head,
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


def may_wipe(database_url: str) -> bool:
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
    if not may_wipe(database_url):
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


def require_head(database_url: str) -> None:
    """Refuse a dataset whose schema is not this code's: the pages would fail on a missing
    column, or be timed without an index the code expects."""
    from sqlalchemy import create_engine, text

    engine = create_engine(engine_url(database_url))
    with engine.connect() as conn:
        at = conn.scalar(text("SELECT version_num FROM alembic_version"))
    engine.dispose()
    if at != migrations_head():
        raise SystemExit(
            f"{engine.url.database} is at migration {at}, this code at {migrations_head()}: "
            "upgrade it first (M4S_DATABASE_URL=... flask --app wsgi db upgrade)"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def http_get(url: str, headers: dict[str, str] | None = None, timeout: float = 10):
    """GET a loopback URL with the bench's User-Agent; return the open response."""
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
                with http_get(base + probe, timeout=2) as resp:
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


@contextmanager
def serve_tree(tree: Path, env: dict[str, str], name: str) -> Iterator[str]:
    """Serve a tree's wsgi:app (this checkout, or a `git archive` of a baseline) with gunicorn,
    2 sync workers, on a free port; yield its base URL once /healthz answers."""
    port = free_port()
    logfile = DATA / "logs" / f"{name}.log"
    logfile.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"{HOST}:{port}",
           "--log-level", "warning", "--error-logfile", str(logfile), "wsgi:app"]  # fmt: skip
    env = {**env, "PYTHONPATH": str(tree)}
    proc = subprocess.Popen(cmd, cwd=tree, env=env, stdin=subprocess.DEVNULL)
    base = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 180  # at load average 12 on 2 cores, 60 s was too few
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"gunicorn for {tree} exited; see {logfile}")
            try:
                with http_get(base + "/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn for {tree} not ready")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def server_env(database_url: str) -> dict[str, str]:
    """Return a clean environment: production mode, no inherited M4S_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("M4S_")}
    env.update(
        PYTHONPATH=str(ROOT),
        M4S_ENV="production",
        M4S_SECRET_KEY=secrets.token_hex(32),
        M4S_DATA_KEYS=BENCH_DATA_KEY,
        M4S_LOOKUP_KEY=BENCH_LOOKUP_KEY,
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
