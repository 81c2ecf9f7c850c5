"""Time the call centre (issue 18) on the group: the Today page, the screen pop, the nightly job.

    python -m bench.run_calls --database-url postgresql+psycopg://.../bench_group_100k \
        --baseline /tmp/base [--rounds 5 --duration 8]

On a group from `python -m bench.generate --group` with `python -m bench.group_calls` added.
Two trees of the code serve the same data, each with gunicorn (2 sync workers): --baseline
(a `git archive` of the code before a change) and this one; every round measures A then B,
so the machine's drift lands on both. Per round and tree, with wrk at --connections:

- Today: /admin/today/ as the agents and advisors of the largest store, cookies rotated;
- screen pop: /admin/calls/card?phone=... (the htmx card the console opens) as the store's
  agents, for the store's own customers (the whole card), other stores' customers and
  unknown numbers (9:1:1);
- nightly: crm.rules.generate_tasks() for all 100 stores in one process of that tree, rolled
  back (the data stays the same for the next round); with --commit, after the rounds, once
  committed and once more, which must create nothing.

Prints each measure's median over the rounds with its min-max, never the best.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine, text

from bench import harness
from bench.database import engine_url
from bench.generate import STAFF_PASSWORD
from bench.group import advisor_login

HOST = harness.HOST
PAIRS_LUA = """
local pairs_ = {%(pairs)s}
local n = 0
request = function()
  n = n + 1
  local p = pairs_[(n %% #pairs_) + 1]
  wrk.headers["Cookie"] = p[1]
  wrk.headers["HX-Request"] = "%(htmx)s"
  return wrk.format("GET", p[2])
end
"""
NIGHTLY = """
import json, sys, time
from bench.run_backoffice import production_app
from crm.rules import generate_tasks
from portal.extensions import db
app = production_app(sys.argv[1])
with app.app_context():
    started = time.perf_counter()
    made = generate_tasks()
    seconds = time.perf_counter() - started
    if sys.argv[2] == "commit":
        db.session.commit()
    else:
        db.session.rollback()
    print(json.dumps({"seconds": round(seconds, 2), "made": made}))
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def serve(tree: Path, database_url: str, name: str):
    """Serve the tree's wsgi:app with gunicorn (2 sync workers) on a free port; yield the URL."""
    return harness.serve_tree(tree, harness.server_env(database_url), f"calls-{name}")


def staff_login(base: str, phone: str) -> str:
    """Sign a staff member in through /login; return the session cookie."""
    import http.cookiejar

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", harness.USER_AGENT)]
    with opener.open(base + "/login", timeout=10) as resp:
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', resp.read().decode())
    form = {"login": phone, "password": STAFF_PASSWORD, "csrf_token": token.group(1)}
    with opener.open(base + "/login", data=urllib.parse.urlencode(form).encode(), timeout=30) as r:
        landed = urllib.parse.urlsplit(r.url).path
    cookie = next((c.value for c in jar if c.name == "session"), None)
    if cookie is None or not landed.startswith("/admin"):
        raise SystemExit(f"staff login as {phone} failed (landed on {landed})")
    return cookie


def people(database_url: str) -> dict:
    """Return the largest store's agents and advisors, and the phones the pops ask for."""
    engine = create_engine(engine_url(database_url))
    with engine.connect() as conn:
        agents = list(
            conn.scalars(
                text("SELECT phone FROM users WHERE role = 'agent' AND store_id = 1 ORDER BY id")
            )
        )
        own = list(
            conn.scalars(
                text(
                    "SELECT phone FROM users WHERE role = 'owner' AND store_id = 1 "
                    "ORDER BY (id::bigint * 7919) % 1000003 LIMIT 90"
                )
            )
        )
        other = list(
            conn.scalars(
                text(
                    "SELECT phone FROM users WHERE role = 'owner' AND store_id > 1 "
                    "ORDER BY (id::bigint * 7919) % 1000003 LIMIT 10"
                )
            )
        )
    engine.dispose()
    unknown = [f"1590000{k:04d}" for k in range(10)]
    return {
        "agents": agents[:4],
        "advisors": [advisor_login(0, k) for k in range(4)],
        "phones": [p for trio in zip(own[0::9], other, unknown, strict=False) for p in trio]
        + [p for i, p in enumerate(own) if i % 9],
    }


def lua(cookies: list[str], paths: list[str], htmx: bool) -> str:
    pairs = ", ".join(
        "{" + json.dumps(f"session={cookies[i % len(cookies)]}") + ", " + json.dumps(p) + "}"
        for i, p in enumerate(paths)
    )
    return (PAIRS_LUA + harness.WRK_REPORT) % {"pairs": pairs, "htmx": "true" if htmx else ""}


def nightly(tree: Path, database_url: str, mode: str) -> dict:
    env = {**harness.server_env(database_url), "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", NIGHTLY, database_url, mode],
        cwd=tree, env=env, capture_output=True, text=True, check=True, timeout=900,
    ).stdout  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])


def load(tree: Path, tag: str, who: dict, args: argparse.Namespace, results: dict, r: int) -> None:
    """Serve the tree and measure Today and the screen pop with wrk; add to the results."""
    with serve(tree, args.database_url, tag) as base:
        agents = [staff_login(base, x) for x in who["agents"]]
        advisors = [staff_login(base, x) for x in who["advisors"]]
        today = lua(agents + advisors, ["/admin/today/"] * 8, False)
        cards = [f"/admin/calls/card?phone={x}" for x in who["phones"]]
        pop = lua(agents, cards, True)
        for name, script in (("today", today), ("pop", pop)):
            harness.wrk(base, "/", [], 2, args, f"calls-{name}", script)  # warm up
            m = harness.wrk(base, "/", [], args.duration, args, f"calls-{name}", script)
            if m["errors"]:
                log(f"WARNING {tag} {name}: {m['errors']}")
            for k in ("p50_ms", "p99_ms", "rps"):
                results[tag].setdefault(f"{name} {k}", []).append(m[k])
            log(f"round {r + 1} {tag} {name}: {m}")


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.run_calls", description=__doc__)
    p.add_argument("--database-url", required=True, help="a PostgreSQL database named *bench*")
    p.add_argument("--baseline", type=Path, help="a tree of the code before the change")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--duration", type=int, default=8, help="seconds of wrk per measurement")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--no-nightly", action="store_true")
    p.add_argument("--no-load", action="store_true", help="only the nightly job")
    p.add_argument(
        "--commit", action="store_true", help="then run the nightly job twice, committed"
    )
    args = p.parse_args(argv)
    args.wrk_threads = 2
    trees = {"A": args.baseline, "B": harness.ROOT} if args.baseline else {"B": harness.ROOT}
    who = people(args.database_url)
    results: dict[str, dict[str, list[float]]] = {t: {} for t in trees}
    log(f"load {os.getloadavg()[0]:.1f}; trees {trees}")
    for r in range(args.rounds):
        for tag, tree in trees.items():
            if not args.no_load:
                load(tree, tag, who, args, results, r)
            if not args.no_nightly:
                n = nightly(tree, args.database_url, "rollback")
                results[tag].setdefault("nightly s", []).append(n["seconds"])
                log(f"round {r + 1} {tag} nightly: {n}")
    log(f"load {os.getloadavg()[0]:.1f}")
    print("| measure | " + " | ".join(f"{t} median (min-max)" for t in trees) + " |")
    print("| --- |" + " ---: |" * len(trees))
    for key in results["B"]:
        print(f"| {key} | " + " | ".join(spread(results[t][key]) for t in trees) + " |")
    if args.commit:
        first = nightly(harness.ROOT, args.database_url, "commit")
        second = nightly(harness.ROOT, args.database_url, "commit")
        print(f"nightly committed: first {first}, second {second}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
