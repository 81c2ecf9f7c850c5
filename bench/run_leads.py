"""Time leads and the customer record on the group (issue 17 "Measured in bench/").

    python -m bench.run_leads --database-url postgresql+psycopg://.../bench_group_100k \
        --small-url postgresql+psycopg://.../bench_group_10k [--rounds 3 --rate 100 --seconds 30]

Both datasets come from `python -m bench.generate --group` (100 stores); the small one is the
baseline the issue's "grows by at most 2x from 10k to 1M customers" is read against. This tree
serves each with gunicorn (2 sync workers as the other benches; --workers, --threads), and
every round measures the small dataset, then the large one, so the machine's drift lands on
both:

- burst: an open-loop load of --rate lead POSTs a second for --seconds to /api/v1/leads with a
  group integration token (stores in turn; 70 % new phones, 30 % phones of existing customers,
  who get their open lead updated or a new one). Each request is timed from the moment it was
  due to its answer, so a request that waited in a queue counts its wait (no coordinated
  omission); the answer comes after the commit that made the lead, named its advisor and gave
  them a first-contact task. Then the database is checked: every answered lead is there with an
  advisor, every new one (201) with its open first-contact task, and no request went
  unanswered.
- customer page: /admin/crm_customers/<id> for the 20 customers of the largest store with the
  most service history (10 years for the veterans), as the store's manager, wrk with one
  connection (one person's wait) and with --connections (the store at its busiest).
- search: /admin/crm_customers/?q=... for full names, surnames, mobile numbers and plates of
  the largest store's customers, as its advisors, the same two ways.

Prints each measure's median over the rounds with its min-max, never the best, and appends
them to bench/RESULTS.md with the command.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.parse
from datetime import UTC, datetime

import aiohttp
from sqlalchemy import create_engine, text

from bench import harness
from bench.database import DATA, ROOT, engine_url
from bench.group import advisor_login, manager_login
from bench.run_calls import PAIRS_LUA, staff_login

MINT = """
import sys
from sqlalchemy import select
from api.tokens import create_token
from bench.run_backoffice import production_app
from portal.extensions import db
from portal.models import User
app = production_app(sys.argv[1])
with app.app_context():
    admin = db.session.scalar(select(User).where(User.role == "admin").order_by(User.id).limit(1))
    _, secret = create_token(admin, "bench leads burst", ["leads:read", "leads:write"], None)
    db.session.commit()
    print(secret)
"""
SOURCES = ("autohome", "dongchedi", "yiche", "portal", "phone")
MODELS = ("迈腾", "帕萨特", "途观L", "ID.4", "凯美瑞", "雅阁", "CR-V", "卡罗拉")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * q // 100) - 1)] if ordered else float("nan")


def dataset(url: str) -> dict:
    """Return what the measures ask for: stores, phones, the veterans, search words."""
    engine = create_engine(engine_url(url))
    with engine.connect() as conn:
        one = lambda sql, **kw: list(conn.execute(text(sql), kw))  # noqa: E731
        stores = [r[0] for r in one("SELECT id FROM stores ORDER BY id")]
        customers = one("SELECT count(*) FROM users WHERE role = 'owner'")[0][0]
        known = [r[0] for r in one(
            "SELECT phone FROM users WHERE role = 'owner' AND phone IS NOT NULL "
            "ORDER BY (id::bigint * 7919) % 1000003 LIMIT 3000"
        )]  # fmt: skip
        veterans = one(
            "SELECT v.owner_id, count(*) AS n, min(s.completed_at) FROM service_records s "
            "JOIN vehicles v ON v.id = s.vehicle_id WHERE s.store_id = 1 "
            "GROUP BY v.owner_id ORDER BY n DESC LIMIT 20"
        )
        people = one(
            "SELECT u.name, u.phone, (SELECT plate FROM vehicles WHERE owner_id = u.id "
            "ORDER BY id LIMIT 1) FROM users u WHERE u.role = 'owner' AND u.store_id = 1 "
            "ORDER BY (u.id::bigint * 7919) % 1000003 LIMIT 40"
        )
    engine.dispose()
    words = []
    for name, phone, plate in people:
        words += [name, name[:1], phone, plate or name]
    return {
        "stores": stores,
        "customers": customers,
        "known": known,
        "veterans": [r[0] for r in veterans],
        "history": [int(r[1]) for r in veterans],
        "first": str(min(r[2] for r in veterans))[:10] if veterans else "",
        "words": words,
    }


def make_token(url: str) -> str:
    env = {**harness.server_env(url), "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", MINT, url], cwd=ROOT, env=env, capture_output=True, text=True,
        check=True, timeout=300,
    ).stdout  # fmt: skip
    return out.strip().splitlines()[-1]


def requests_for(data: dict, rate: int, seconds: int, tag: str) -> list[dict]:
    """Return the burst's bodies: stores in turn, 70 % new phones and 30 % known customers."""
    rng = random.Random(f"{tag}:{data['customers']}")
    stamp = int(time.time()) % 100000  # new phones differ from round to round
    bodies = []
    for i in range(rate * seconds):
        if rng.random() < 0.3:
            phone = rng.choice(data["known"])
        else:
            phone = f"19{stamp:05d}{i:04d}"[:11]
        bodies.append({
            "store_id": data["stores"][i % len(data["stores"])],
            "name": rng.choice("王李张刘陈杨赵黄周吴") + rng.choice(("先生", "女士")),
            "phone": phone,
            "source": rng.choice(SOURCES),
            "model_interest": rng.choice(MODELS),
            "timeframe": rng.choice(("7d", "15d", "30d", "90d", "later")),
            "wants_test_drive": rng.random() < 0.4,
        })  # fmt: skip
    return bodies


async def _burst(base: str, secret: str, bodies: list[dict], rate: int) -> list[tuple]:
    """Send each body at its due time whatever came back before; return (status, s, id)."""
    headers = {"Authorization": f"Bearer {secret}", "User-Agent": harness.USER_AGENT}
    results: list[tuple] = [None] * len(bodies)  # type: ignore[list-item]
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), headers=headers, timeout=timeout
    ) as session:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.2

        async def one(i: int, body: dict) -> None:
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - loop.time()))
            try:
                key = {"Idempotency-Key": f"bench-{start}-{i}"}
                async with session.post(base + "/api/v1/leads", json=body, headers=key) as resp:
                    answer = await resp.json(content_type=None)
                    key = answer.get("id") if resp.status in (200, 201) else answer
                    results[i] = (resp.status, loop.time() - due, key)
            except (aiohttp.ClientError, TimeoutError) as exc:
                results[i] = (type(exc).__name__, loop.time() - due, None)

        await asyncio.gather(*(one(i, b) for i, b in enumerate(bodies)))
    return results


def check(url: str, lead_ids: list[int]) -> dict:
    """Return how many answered leads have an advisor and an open first-contact task."""
    engine = create_engine(engine_url(url))
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT count(*), count(l.advisor_id), count(t.id) FROM crm_leads l "
                "LEFT JOIN LATERAL (SELECT id FROM crm_tasks t WHERE t.lead_id = l.id "
                "AND t.kind = 'first_contact' AND t.done_at IS NULL LIMIT 1) t ON true "
                "WHERE l.id = ANY(:ids)"
            ),
            {"ids": sorted(set(lead_ids))},
        ).one()
    engine.dispose()
    return {"leads": row[0], "with_advisor": row[1], "with_task": row[2]}


def burst(base: str, url: str, secret: str, data: dict, args, tag: str) -> dict:
    bodies = requests_for(data, args.rate, args.seconds, tag)
    began = time.perf_counter()
    results = asyncio.run(_burst(base, secret, bodies, args.rate))
    wall = time.perf_counter() - began
    ok = [r for r in results if r[0] in (200, 201)]
    failed = [r for r in results if r[0] not in (200, 201)]
    latencies = [r[1] for r in results]
    # A new lead must have its open first-contact task; a repeat inquiry (200) updates the
    # open lead, whose first contact may be done already: it must still have its advisor.
    new = {r[2] for r in ok if r[0] == 201}
    found, fresh = check(url, [r[2] for r in ok]), check(url, list(new))
    distinct = len({r[2] for r in ok})
    lost = len(new) - fresh["with_task"]
    summary = {
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
        "sent": len(bodies),
        "answered": len(ok),
        "failed": len(failed),
        "failures": sorted(
            {f"{r[0]} {json.dumps(r[2], ensure_ascii=False)[:300]}" for r in failed}
        )[:3],
        "created": sum(1 for r in ok if r[0] == 201),
        "leads": distinct,
        "new_without_task": lost,
        "without_advisor": distinct - found["with_advisor"],
        "wall_s": round(wall, 1),
    }
    log(f"{tag} burst: {summary}")
    return summary


def lua(cookies: list[str], paths: list[str]) -> str:
    pairs = ", ".join(
        "{" + json.dumps(f"session={cookies[i % len(cookies)]}") + ", " + json.dumps(p) + "}"
        for i, p in enumerate(paths)
    )
    return (PAIRS_LUA + harness.WRK_REPORT) % {"pairs": pairs, "htmx": ""}


def pages(base: str, data: dict, args, tag: str) -> dict:
    manager = staff_login(base, manager_login(0))
    advisors = [staff_login(base, advisor_login(0, k)) for k in range(3)]
    customer = lua([manager], [f"/admin/crm_customers/{c}" for c in data["veterans"]])
    search = lua(
        advisors,
        ["/admin/crm_customers/?" + urllib.parse.urlencode({"q": w}) for w in data["words"]],
    )
    out = {}
    for name, script in (("customer", customer), ("search", search)):
        harness.wrk(base, "/", [], 2, args, f"leads-{name}", script)  # warm up
        for c in sorted({1, args.connections}):
            at = argparse.Namespace(**{**vars(args), "connections": c, "wrk_threads": 1})
            m = harness.wrk(base, "/", [], args.duration, at, f"leads-{name}", script)
            if m["errors"]:
                log(f"WARNING {tag} {name} c{c}: {m['errors']}")
            out[f"{name} c{c}"] = m
            log(f"{tag} {name} c{c}: {m}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True, help="the large group dataset")
    parser.add_argument("--small-url", required=True, help="the 10k group dataset (baseline)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=int, default=100, help="lead POSTs a second")
    parser.add_argument("--seconds", type=int, default=30, help="how long the burst lasts")
    parser.add_argument("--duration", type=int, default=8, help="wrk seconds per page")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--no-burst", action="store_true")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per worker (gthread when > 1)"
    )
    args = parser.parse_args(argv)
    args.worker_class = "gthread" if args.threads > 1 else "sync"
    args.gunicorn_threads = args.threads
    sets = {"small": args.small_url, "large": args.database_url}
    for url in sets.values():
        harness.require_head(url)
    data = {tag: dataset(url) for tag, url in sets.items()}
    secrets_ = {tag: make_token(url) for tag, url in sets.items()}
    for tag in sets:
        d = data[tag]
        log(f"{tag}: {d['customers']} customers; veterans' history {d['history'][:5]}...")
    results: dict[str, dict[str, list]] = {tag: {} for tag in sets}
    bursts: dict[str, list[dict]] = {tag: [] for tag in sets}
    load = [os.getloadavg()[0]]
    for r in range(args.rounds):
        for tag, url in sets.items():
            with harness.gunicorn("wsgi:app", harness.server_env(url), args, "/login", tag) as base:
                if not args.no_burst:
                    b = burst(base, url, secrets_[tag], data[tag], args, f"{tag}{r}")
                    bursts[tag].append(b)
                    for k in ("p50_ms", "p99_ms"):
                        results[tag].setdefault(f"burst {k}", []).append(b[k])
                for name, m in pages(base, data[tag], args, f"{tag}{r}").items():
                    for k in ("p50_ms", "p99_ms", "rps"):
                        results[tag].setdefault(f"{name} {k}", []).append(m[k])
            load.append(os.getloadavg()[0])
    report(args, argv, data, results, bursts, load)
    return 0


def report(args, argv, data, results, bursts, load) -> None:
    rows = [f"| measure | small ({data['small']['customers']:,}) | "
            f"large ({data['large']['customers']:,}) | large / small |",
            "| --- | ---: | ---: | ---: |"]  # fmt: skip
    for k in results["large"]:
        small, large = results["small"][k], results["large"][k]
        ratio = statistics.median(large) / statistics.median(small)
        rows.append(f"| {k} | {spread(small)} | {spread(large)} | {ratio:.2f}x |")
    lines = []
    for tag in ("small", "large"):
        for b in bursts[tag]:
            lines.append(
                f"- {tag}: {b['sent']} sent, {b['answered']} answered ({b['created']} new), "
                f"{b['failed']} failed {b['failures'] or ''}, {b['leads']} leads, "
                f"{b['new_without_task']} new ones without an open first-contact task, "
                f"{b['without_advisor']} without an advisor, {b['wall_s']} s"
            )
    command = "python -m bench.run_leads " + " ".join(argv or sys.argv[1:])
    text_ = "\n".join(
        [
            "",
            f"### Leads burst, customer page and search, "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `{harness.git_commit()}`",
            "",
            f"    {command}",
            "",
            f"{args.rounds} rounds, small then large in each; burst {args.rate}/s for "
            f"{args.seconds} s; pages with wrk -c1 and -c{args.connections} for {args.duration} s; "
            f"gunicorn {args.workers} workers x {args.threads} threads; "
            f"{os.cpu_count()} CPUs; load average "
            + " / ".join(f"{x:.1f}" for x in load)
            + f"; veterans' service records in store 1: {data['large']['history'][:3]}... "
            f"since {data['large']['first']}.",
            "",
            *rows,
            "",
            *lines,
            "",
        ]
    )
    print(text_)
    with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as fh:
        fh.write(text_)
    (DATA / "leads-results.json").write_text(json.dumps({"results": results, "bursts": bursts}))


if __name__ == "__main__":
    sys.exit(main())
