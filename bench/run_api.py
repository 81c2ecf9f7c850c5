"""Time the open API's list endpoints on the group (issue 22 "Measured in bench/").

    python -m bench.run_api --database-url postgresql+psycopg://.../bench_group_100k \
        [--rounds 3 --duration 5 --connections 16 --depth 10000]

On a group from `python -m bench.generate --group`. This tree serves it with gunicorn (2 sync
workers); two integration tokens are made, one for the whole group and one for the largest
store. For each list endpoint and token, wrk with one connection (one client's wait) and at
--connections (a busy hour) asks for page 1 and for the page
--depth pages further on (50 items a page; the deepest page there is when the list is
shorter), whose cursor is made with the server's key for the id that starts it, exactly what a
client holds after following the cursors that far. Every round measures each endpoint in
turn, page 1 then the deep page, so the machine's drift lands on both.

Prints each measure's median over the rounds with its min-max, never the best, and appends
them to bench/RESULTS.md with the command.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
from datetime import UTC, datetime

from itsdangerous import URLSafeSerializer
from sqlalchemy import create_engine, text

from bench import harness
from bench.database import DATA, ROOT, engine_url

MINT = """
import sys
from sqlalchemy import select
from api.tokens import create_token
from bench.run_backoffice import production_app
from portal.extensions import db
from portal.models import Store, User
app = production_app(sys.argv[1])
scopes = ["customers:read", "service_records:read", "bookings:read", "leads:read", "orders:read"]
with app.app_context():
    admin = db.session.scalar(select(User).where(User.role == "admin").order_by(User.id).limit(1))
    _, group = create_token(admin, "bench api group", scopes, None)
    _, store = create_token(admin, "bench api store 1", scopes, db.session.get(Store, 1))
    db.session.commit()
    print(group, store)
"""
PAGE = 50
# Each list: its cursor kind, its path, and the ids it lists newest first (:store or all).
LISTS = {
    "customers": ("/api/v1/customers", "SELECT id FROM users WHERE role = 'owner' {s}"),
    "vehicles": (
        "/api/v1/vehicles",
        "SELECT v.id FROM vehicles v JOIN users u ON u.id = v.owner_id {su}",
    ),
    "service-records": ("/api/v1/service-records", "SELECT id FROM service_records {w}"),
    "bookings": ("/api/v1/bookings", "SELECT id FROM bookings {w}"),
    "leads": ("/api/v1/leads", "SELECT id FROM crm_leads {w}"),
    "orders": ("/api/v1/shop/orders", "SELECT id FROM shop_orders {w}"),
}
SCRIPT = """
local paths = {%(paths)s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1], {["Authorization"] = "Bearer %(token)s"})
end
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def sql_for(template: str, store: int | None) -> str:
    """Return the list's id query for the whole group (store None) or one store."""
    return template.format(
        s=f"AND store_id = {int(store)}" if store else "",
        su=f"WHERE u.store_id = {int(store)}" if store else "",
        w=f"WHERE store_id = {int(store)}" if store else "",
    )


def deep_ids(url: str, depth: int) -> dict[tuple[str, str], tuple[int, int, int]]:
    """Return, per list and token, (rows, pages deep, the id the deep page continues after)."""
    engine = create_engine(engine_url(url))
    out = {}
    with engine.connect() as conn:
        for kind, (_, template) in LISTS.items():
            for token, store in (("group", None), ("store", 1)):
                ids = sql_for(template, store)
                rows = conn.scalar(text(f"SELECT count(*) FROM ({ids}) x"))  # noqa: S608
                pages = max(0, min(depth, (rows - 1) // PAGE))
                after = conn.scalar(
                    text(f"SELECT id FROM ({ids}) x ORDER BY id DESC OFFSET :o LIMIT 1"),  # noqa: S608
                    {"o": pages * PAGE - 1},
                ) if pages else None  # fmt: skip
                out[(kind, token)] = (rows, pages, after)
    engine.dispose()
    return out


def mint(url: str, key: str) -> tuple[str, str]:
    env = {**harness.server_env(url), "PYTHONPATH": str(ROOT), "M4S_SECRET_KEY": key}
    out = subprocess.run(
        [sys.executable, "-c", MINT, url], cwd=ROOT, env=env, capture_output=True, text=True,
        check=True, timeout=300,
    ).stdout  # fmt: skip
    group, store = out.strip().splitlines()[-1].split()
    return group, store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="wrk seconds per measure")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--depth", type=int, default=10000, help="pages deep")
    args = parser.parse_args(argv)
    args.workers, args.worker_class, args.gunicorn_threads, args.wrk_threads = 2, "sync", 1, 2
    harness.require_head(args.database_url)
    key = secrets.token_hex(32)
    cursors = URLSafeSerializer(key, salt="m4s-api-cursor")
    tokens = dict(zip(("group", "store"), mint(args.database_url, key), strict=True))
    deep = deep_ids(args.database_url, args.depth)
    env = {**harness.server_env(args.database_url), "M4S_SECRET_KEY": key}
    results: dict[str, list[float]] = {}
    load = [os.getloadavg()[0]]
    with harness.gunicorn("wsgi:app", env, args, "/login", "api-lists") as base:
        for r in range(args.rounds):
            for kind, (path, _) in LISTS.items():
                for token in ("group", "store"):
                    rows, pages, after = deep[(kind, token)]
                    for where in ("page 1", "deep"):
                        if where == "deep" and after is None:
                            continue
                        q = f"?limit={PAGE}" + (
                            f"&cursor={cursors.dumps([kind, after])}" if where == "deep" else ""
                        )
                        lua = (SCRIPT + harness.WRK_REPORT) % {
                            "paths": json.dumps(path + q),
                            "token": tokens[token],
                        }
                        if r == 0:
                            harness.wrk(base, "/", [], 1, args, "api", lua)  # warm up
                        for c in sorted({1, args.connections}):
                            at = argparse.Namespace(**{**vars(args), "connections": c})
                            at.wrk_threads = min(c, args.wrk_threads)
                            m = harness.wrk(base, "/", [], args.duration, at, "api", lua)
                            if m["errors"]:
                                raise SystemExit(f"{kind} {token} {where}: {m['errors']}")
                            key = f"{kind}|{token}|{where}|c{c}"
                            for k in ("p50_ms", "p99_ms"):
                                results.setdefault(f"{key}|{k}", []).append(m[k])
                            log(f"round {r + 1} {kind} {token} {where} c{c}: {m}")
            load.append(os.getloadavg()[0])
    report(args, argv, deep, results, load)
    return 0


def report(args, argv, deep, results, load) -> None:
    rows = [
        "| list | token | rows | pages deep | connections | page 1 p50 / p99 ms | "
        "deep p50 / p99 ms | deep / page 1 (p99) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind in LISTS:
        for token in ("group", "store"):
            n, pages, _ = deep[(kind, token)]
            for c in sorted({1, args.connections}):
                first = [results[f"{kind}|{token}|page 1|c{c}|{k}"] for k in ("p50_ms", "p99_ms")]
                cells = f"{spread(first[0])} / {spread(first[1])}"
                if f"{kind}|{token}|deep|c{c}|p99_ms" in results:
                    far = [results[f"{kind}|{token}|deep|c{c}|{k}"] for k in ("p50_ms", "p99_ms")]
                    ratio = statistics.median(far[1]) / statistics.median(first[1])
                    deep_cells = f"{spread(far[0])} / {spread(far[1])} | {ratio:.2f}x"
                else:
                    deep_cells = "– | –"
                rows.append(
                    f"| {kind} | {token} | {n:,} | {pages:,} | {c} | {cells} | {deep_cells} |"
                )
    command = "python -m bench.run_api " + " ".join(argv or sys.argv[1:])
    text_ = "\n".join(
        [
            "",
            f"### API list endpoints, page 1 and deep pages, "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `{harness.git_commit()}`",
            "",
            f"    {command}",
            "",
            f"{args.rounds} rounds; wrk -c1 and -c{args.connections} for {args.duration} s per "
            "measure; "
            f"{PAGE} items a page; gunicorn 2 sync workers; {os.cpu_count()} CPUs; "
            "load average " + " / ".join(f"{x:.1f}" for x in load) + ". Medians (min-max).",
            "",
            *rows,
            "",
        ]
    )
    print(text_)
    with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as fh:
        fh.write(text_)
    (DATA / "api-results.json").write_text(json.dumps(results))


if __name__ == "__main__":
    sys.exit(main())
