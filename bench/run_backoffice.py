"""Measure every back-office page on two datasets, as an admin and as a store manager.

    python -m bench.run_backoffice \\
        --small postgresql://postgres@127.0.0.1:5432/bench_h2_10k \\
        --large postgresql://postgres@127.0.0.1:5432/bench_h2_100k

Both datasets come from `python -m bench.generate --group --scale ...`. Each GET route under
/admin/ is taken from the URL map (bench.backoffice); lists also get a deep page, every sort
and a search. Every URL is requested --requests times, one after another, through the whole
app in-process: the Flask test client with the production configuration (CSRF, Secure
cookies, the staff session checks), so the time is the app's and the database's, without a
server or a network in between. One user at a time is what the limits are about; gunicorn
and wrk would add a fixed cost and the machine's noise and hide nothing the app does.

Limits (exit status 1 if any page is over): p99 on the large dataset under --limit-ms, and
growth (p50 large / p50 small) at most --growth, counted only where the large p50 is above
--growth-floor-ms (below it, a ratio of two small numbers on a shared machine is noise).
The table and the exact command are appended to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import secrets
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import backoffice as crawl
from bench.database import BENCH_DATA_KEY, BENCH_LOOKUP_KEY
from bench.generate import STAFF_PASSWORD
from bench.group import ADMIN_LOGIN, manager_login
from bench.harness import RESULTS, RESULTS_MD, git_commit, log
from portal.app import create_app
from portal.extensions import db


def production_app(database_url: str, **overrides):
    """The app as production runs it (CSRF, Secure cookies, rate limits), on this database;
    overrides change settings (a bench of one API token switches the rate limits off)."""
    app = create_app(
        {
            "ENV": "production",
            "SECRET_KEY": secrets.token_hex(32),
            "DATA_KEYS": BENCH_DATA_KEY,
            "LOOKUP_KEY": BENCH_LOOKUP_KEY,
            "DATABASE_URL": database_url,
            "SMTP_HOST": "",
            **overrides,
        }
    )
    # Like wsgi.py: what is loaded so far lives as long as the process, out of the cyclic
    # collector. Without it a full collection over the bench's 360k objects (260 ms) landed on
    # whichever request crossed the threshold and made the p99 of busy pages (the booking queue:
    # p50 137 ms, p99 730 ms at 1M customers).
    gc.collect()
    gc.freeze()
    return app


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0-100) of the values, in milliseconds."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return round(ordered[int(rank) - 1] * 1000, 1)


def measure(
    staff: crawl.Staff, target: crawl.Target, n: int, counter: crawl.Counter, budget: float = 0
) -> dict:
    """Request the URL once to warm up, then n times; return status, statements, percentiles.
    A redirect or a refusal is not a page: it is requested once more, for its status. With a
    budget (seconds), a slow page stops after it, with at least 3 requests (n says how many)."""
    status, _s, _b = crawl.get(staff, target.url)
    if status != 200:
        n = 1
    times, statuses, before = [], set(), counter.n
    for _ in range(n):
        status, seconds, _body = crawl.get(staff, target.url)
        times.append(seconds)
        statuses.add(status)
        if budget and len(times) >= 3 and sum(times) > budget:
            break
    return {
        "url": target.url,
        "n": len(times),
        "status": max(statuses),
        "sql": round((counter.n - before) / len(times), 1),
        "p50": percentile(times, 50),
        "p95": percentile(times, 95),
        "p99": percentile(times, 99),
    }


def slowest_sorts(staff: crawl.Staff, targets: list[crawl.Target]) -> list[crawl.Target]:
    """Keep one sort per list: the slowest of its columns, each tried twice (warm, then timed)."""
    out, sorts = [], {}
    for t in targets:
        if t.variant.startswith("sort "):
            sorts.setdefault(t.endpoint, []).append(t)
        else:
            out.append(t)
    for endpoint, options in sorts.items():
        timed = []
        for t in options:
            crawl.get(staff, t.url)
            timed.append((crawl.get(staff, t.url)[1], t.url))
        out.append(crawl.Target(endpoint, "slowest sort", max(timed)[1]))
    return out


def crawl_dataset(database_url: str, args: argparse.Namespace) -> dict[str, dict]:
    """Sign in both roles on one dataset and measure every target; key: 'role label'."""
    app = production_app(database_url)
    counter = crawl.Counter(app)
    results: dict[str, dict] = {}
    try:
        for role, login in (("admin", ADMIN_LOGIN), ("manager", manager_login(0))):
            if role not in args.roles:
                continue
            staff = crawl.sign_in(app, role, login, STAFF_PASSWORD)
            term = crawl.search_term(app, staff.store_id)
            found = slowest_sorts(staff, crawl.targets(app, staff, term, deep=args.deep))
            log(f"{role}: {len(found)} URLs on {database_url.rsplit('/', 1)[-1]}")
            for target in found:
                key = f"{role} {target.label}"
                if not target.url:
                    results[key] = {"url": "", "status": 0, "sql": 0, "p50": 0, "p95": 0, "p99": 0}
                    continue
                results[key] = measure(staff, target, args.requests, counter, args.budget_s)
                r = results[key]
                log(f"  {key}: {r['status']} p50 {r['p50']} p99 {r['p99']} ms, {r['sql']} SQL")
    finally:
        counter.close()
        with app.app_context():
            db.engine.dispose()
    return results


def saved_or_crawl(saved: list[Path], database_url: str, args: argparse.Namespace) -> dict:
    """The dataset's measurements: crawled now, or merged from --crawl-only files."""
    if not saved:
        return crawl_dataset(database_url, args)
    merged: dict = {}
    for path in saved:
        merged.update(json.loads(path.read_text())["results"])
    return merged


def verdicts(small: dict, large: dict, args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for key in sorted(set(small) | set(large)):
        a, b = small.get(key), large.get(key)
        row = {"key": key, "small": a, "large": b, "growth": None, "problems": []}
        if a and b and a["p50"] and b["p50"]:
            row["growth"] = round(b["p50"] / a["p50"], 2)
        for r in (a, b):
            if r and r["status"] >= 500:
                row["problems"].append(f"HTTP {r['status']}")
        if b and 200 <= b["status"] < 300 and b["p99"] > args.limit_ms:
            row["problems"].append(f"p99 over {args.limit_ms:g} ms")
        pages = a and b and a["status"] == b["status"] == 200  # a redirect is not a page
        if pages and row["growth"] > args.growth and b["p50"] >= args.growth_floor_ms:
            row["problems"].append(f"growth over {args.growth:g}x")
        if b and not b["url"]:
            row["problems"].append("no id to fill in")
        rows.append(row)
    return rows


def cell(r: dict | None, n_wanted: int) -> str:
    if not r or not r["url"]:
        return "–"
    cell = f"{r['status']} · {r['p50']:g} / {r['p95']:g} / {r['p99']:g} · {r['sql']:g}"
    return cell + (
        f" (n={r['n']})" if r["status"] == 200 and r.get("n", n_wanted) < n_wanted else ""
    )


def markdown(rows: list[dict], args: argparse.Namespace, command: str, load: str) -> str:
    over = [r for r in rows if r["problems"]]
    lines = [
        "",
        f"## Back office crawl, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC (commit {git_commit()})",
        "",
        f"    {command}",
        "",
        f"Small: `{args.small.rsplit('/', 1)[-1]}`; large: `{args.large.rsplit('/', 1)[-1]}`. "
        f"{args.requests} sequential requests per URL after one warm-up, in-process (Flask test "
        f"client, production config). Load average at the start: {load}. Cells: HTTP status · "
        "p50 / p95 / p99 ms · SQL statements per request (n: fewer requests, stopped by "
        "--budget-s). Growth: p50 large / p50 small. "
        f"**{len(over)} of {len(rows)} URLs over the limits** (p99 {args.limit_ms:g} ms, "
        f"growth {args.growth:g}x where the large p50 is {args.growth_floor_ms:g} ms or more).",
        "",
        "| role · page [variant] | small | large | growth | over the limits |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        growth = f"{r['growth']:g}x" if r["growth"] else "–"
        query = urlsplit((r["large"] or r["small"] or {}).get("url", "")).query
        key = f"{r['key']} `?{query}`" if query else r["key"]
        problems = "; ".join(r["problems"]) or ""
        small, large = cell(r["small"], args.requests), cell(r["large"], args.requests)
        lines.append(f"| {key} | {small} | {large} | {growth} | {problems} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run_backoffice",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--small", default="", help="database URL of the smaller dataset")
    parser.add_argument("--large", default="", help="database URL of the larger dataset")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--roles", default="admin,manager")
    parser.add_argument("--deep", type=int, default=200, help="the deep page (or the last)")
    parser.add_argument(
        "--budget-s", type=float, default=0, help="stop a slow URL after this (at least 3 runs)"
    )
    parser.add_argument("--limit-ms", type=float, default=300)
    parser.add_argument("--growth", type=float, default=2.0)
    parser.add_argument("--growth-floor-ms", type=float, default=20)
    parser.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    parser.add_argument("--report", type=Path, help="judge a saved results JSON, no crawl")
    parser.add_argument("--crawl-only", help="measure this one database URL into --out")
    parser.add_argument("--out", type=Path, help="with --crawl-only")
    parser.add_argument(
        "--small-results", type=Path, nargs="*", default=[], help="--crawl-only files: --small"
    )
    parser.add_argument(
        "--large-results", type=Path, nargs="*", default=[], help="--crawl-only files: --large"
    )
    args = parser.parse_args(argv)
    args.roles = set(args.roles.split(","))
    argv_text = " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    command = f"python -m bench.run_backoffice {argv_text}"
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    if args.report:  # the measurements of an earlier run, judged and written again
        saved = json.loads(args.report.read_text())
        command, load = saved["command"], saved["load"]
        small = {r["key"]: r["small"] for r in saved["rows"] if r["small"]}
        large = {r["key"]: r["large"] for r in saved["rows"] if r["large"]}
    elif args.crawl_only:  # one dataset's measurements, to a file: crawls can run apart
        found = crawl_dataset(args.crawl_only, args)
        args.out.write_text(json.dumps({"command": command, "load": load, "results": found}))
        return 0
    else:
        small = saved_or_crawl(args.small_results, args.small, args)
        large = saved_or_crawl(args.large_results, args.large, args)
        if args.small_results or args.large_results:
            saved = [json.loads(f.read_text()) for f in args.small_results + args.large_results]
            load = " | ".join(f["load"] for f in saved)
            command += "  # measured by: " + " ; ".join(
                json.loads(f.read_text())["command"]
                for f in args.small_results + args.large_results
            )
    rows = verdicts(small, large, args)
    text = markdown(rows, args, command, load)
    print(text)
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        (RESULTS / f"backoffice-{stamp}.json").write_text(
            json.dumps({"command": command, "load": load, "rows": rows}, indent=1)
        )
        with RESULTS_MD.open("a") as fh:
            fh.write(text)
    return 1 if any(r["problems"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
