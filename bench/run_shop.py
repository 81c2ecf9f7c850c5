"""Checkout throughput on PostgreSQL beside the bare-Flask hello ceiling, on loopback only.

Builds a small bench dataset (owners from bench.generate, plus a shop catalog where a few
popular products have limited stock), serves it with gunicorn in production mode, logs in
--buyers owners through the real form, and lets that many concurrent buyers loop for
--duration seconds. Each buyer is one wrk connection (-t N -c N) whose Lua state holds its
session cookie and CSRF token, and checks every answer (status and where it redirects to).
Two ways to check out, each on a freshly built database:

- buy now: one POST on the product page (quantity, pickup, pay at the store);
- cart: add one unit to the cart (POST), then check out with pay-at-the-store (POST).

Half of the picks go to the popular products, so buyers contend for the same rows and those
sell out during the run. Every store stocks the same and the buyers order at the first store.
Afterwards the database is checked for oversell: units sold per product never above the stock
the first store started with, and the orders counted by the client must be
the orders in the database. The CPU time of the gunicorn workers, of PostgreSQL and of wrk is
read from /proc and reported per checkout. Writes bench/results/shop.json and appends a line
to bench/RESULTS.md.

    python -m bench.run_shop --database-url postgresql+psycopg://postgres@127.0.0.1:5432/m4s_shop_bench
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import resource
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.generate import BENCH_PASSWORD, DATA, bench_app, engine_url, generate, owner_login
from bench.harness import (
    HOST,
    RESULTS,
    RESULTS_MD,
    USER_AGENT,
    git_commit,
    gunicorn,
    log,
    login,
    measure,
    server_env,
)

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/m4s_shop_bench"


def build(url: str, owners: int, popular: int, popular_stock: int) -> dict[str, Any]:
    """Rebuild the bench database and its catalog; return the products' starting stock."""
    if "bench" not in (engine_url(url).database or ""):
        raise SystemExit("the shop bench only rebuilds databases named *bench*")
    generate(url, owners, owners, reset=True, log=log)
    app = bench_app(url)
    with app.app_context():
        from portal.extensions import db
        from portal.models import Store
        from shop import stock
        from shop.models import Category, Product

        cat = Category(name="Bench")
        products = []
        for i in range(20):
            p = Product(sku=f"B-{i}", name=f"Bench item {i}", category=cat, price_fen=1000 + i)
            db.session.add(p)
            products.append(p)
        db.session.flush()
        # Every store stocks the same: the buyers order at the first store (where the check
        # for oversell counts), and the cart checks the owner's home store.
        stores = db.session.scalars(select(Store.id).order_by(Store.id)).all()
        initial = {
            p.id: popular_stock if i < popular else 1_000_000 for i, p in enumerate(products)
        }
        for p in products:
            for store_id in stores:
                stock.set_initial(p, store_id, initial[p.id])
        db.session.commit()
        info = {
            "store_id": stores[0],
            "popular": [(p.id, p.price_fen) for p in products[:popular]],
            "others": [(p.id, p.price_fen) for p in products[popular:]],
            "initial": initial,
        }
        db.session.remove()
        db.engine.dispose()
    return info


def csrf_token(port: int, cookie: str) -> str:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    conn.request("GET", "/shop/", headers={"Cookie": f"session={cookie}", "User-Agent": USER_AGENT})
    body = conn.getresponse().read().decode()
    conn.close()
    found = re.search(r'"X-CSRFToken": "([^"]+)"', body)
    if not found:
        raise SystemExit("no CSRF token on /shop/")
    return found.group(1)


# One wrk thread per buyer, with one connection: the thread's Lua globals are that buyer's
# state (cookie, CSRF token, where it is in the flow) and its tally; done() adds them up.
BUYER_LUA = """\
local buyers = {%(buyers)s}
local popular = {%(popular)s}
local others = {%(others)s}
local store, mode = %(store)d, "%(mode)s"
local threads, count = {}, 0

function setup(thread)
  count = count + 1
  thread:set("me", count)
  table.insert(threads, thread)
end

function init(args)
  cookie, token = buyers[me][1], buyers[me][2]
  math.randomseed(me * 7919)
  orders, sold_out, errors = 0, 0, 0
  step = mode == "buy" and "buy" or "add"
  hdrs = {["Cookie"] = "session=" .. cookie,
          ["Content-Type"] = "application/x-www-form-urlencoded"}
end

local function choose()
  local list = math.random() < 0.5 and popular or others
  return list[math.random(#list)]
end

function request()
  local path, body
  if step == "buy" or step == "add" then pick = choose() end
  if step == "buy" then
    path = "/shop/products/" .. pick[1] .. "/buy"
    body = "quantity=1&delivery=pickup&payment=store&store=" .. store
      .. "&expected_price_fen=" .. pick[2] .. "&csrf_token=" .. token
  elseif step == "add" then
    path = "/shop/cart/add/" .. pick[1]
    body = "quantity=1&csrf_token=" .. token
  elseif step == "checkout" then
    path = "/shop/checkout"
    body = "delivery=pickup&payment=store&store=" .. store
      .. "&expected_total_fen=" .. pick[2] .. "&csrf_token=" .. token
  else  -- "clear": the checkout was refused (sold out meanwhile); empty the cart again
    path = "/shop/cart/" .. pick[1]
    body = "quantity=0&csrf_token=" .. token
  end
  return wrk.format("POST", path, hdrs, body)
end

function response(status, headers, body)
  local where = headers["Location"] or ""
  local ordered = status == 303 and where:match("/shop/orders/%%d+$")
  if step == "buy" then
    if ordered then orders = orders + 1
    elseif status == 422 and (body:find('id="buy-quantity-error"', 1, true)
                              or body:find('class="warn" id="stock"', 1, true)) then
      sold_out = sold_out + 1  -- refused: fewer left than asked, or sold out
    else errors = errors + 1 end
  elseif step == "add" then
    if status == 303 and where:match("/shop/cart$") then step = "checkout"
    elseif status == 303 and where:match("/shop/products/%%d+$") then
      sold_out = sold_out + 1  -- refused: sold out (the flash says so)
    else errors = errors + 1 end
  elseif step == "checkout" then
    if ordered then orders = orders + 1; step = "add"
    elseif status == 422 then sold_out = sold_out + 1; step = "clear"
    else errors = errors + 1; step = "clear" end
  else
    if status ~= 303 then errors = errors + 1 end
    step = "add"
  end
end

function done(summary, latency, requests)
  local o, s, e = 0, 0, 0
  for _, t in ipairs(threads) do
    o, s, e = o + t:get("orders"), s + t:get("sold_out"), e + t:get("errors")
  end
  local x = summary.errors
  io.write(string.format("BENCH requests=%%d duration_us=%%d p50_us=%%d p99_us=%%d "
    .. "orders=%%d sold_out=%%d errors=%%d socket_errors=%%d\\n", summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(99), o, s, e,
    x.connect + x.read + x.write + x.timeout))
end
"""


def _cpu_seconds(match) -> float:
    """Sum the CPU time (user + system, s) of the live processes match(cmdline, comm) picks."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue  # gone meanwhile
        comm, rest = stat.split(" (", 1)[1].rsplit(") ", 1)
        if match(cmdline, comm):
            fields = rest.split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def run_buyers(base, cookies, tokens, info, args, mode) -> dict[str, Any]:
    """Let the buyers loop with wrk for --duration seconds; return the tally and CPU times."""
    lua = BUYER_LUA % {
        "buyers": ", ".join(f'{{"{c}", "{t}"}}' for c, t in zip(cookies, tokens, strict=True)),
        "popular": ", ".join(f"{{{pid}, {price}}}" for pid, price in info["popular"]),
        "others": ", ".join(f"{{{pid}, {price}}}" for pid, price in info["others"]),
        "store": info["store_id"],
        "mode": mode,
    }
    script = DATA / f"wrk-shop-{mode}.lua"
    script.write_text(lua)
    n = len(cookies)
    cmd = [
        "wrk", f"-t{n}", f"-c{n}", f"-d{args.duration}s", "--timeout", "10s",
        "-H", f"User-Agent: {USER_AGENT}", "-s", str(script), base,
    ]  # fmt: skip
    bind = f"{HOST}:{base.rsplit(':', 1)[1]}".encode()

    def workers(cmdline, comm):
        return b"gunicorn" in cmdline and bind in cmdline

    def postgres(cmdline, comm):
        return comm == "postgres"

    def cpu():
        return _cpu_seconds(workers), _cpu_seconds(postgres), resource.getrusage(children)

    children = resource.RUSAGE_CHILDREN  # wrk, once it has been waited for
    before = cpu()
    out = subprocess.run(
        cmd, capture_output=True, text=True, timeout=args.duration + 60, check=True
    ).stdout
    after = cpu()
    line = next((x for x in out.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"unexpected wrk output:\n{out}")
    v = {k: int(x) for k, x in (kv.split("=") for kv in line.split()[1:])}
    elapsed = v["duration_us"] / 1e6
    orders = max(v["orders"], 1)
    wrk_cpu = sum(getattr(after[2], f) - getattr(before[2], f) for f in ("ru_utime", "ru_stime"))
    return {
        "checkouts_per_s": round(v["orders"] / elapsed, 1),
        "orders": v["orders"],
        "sold_out_answers": v["sold_out"],
        "errors": v["errors"] + v["socket_errors"],
        "requests": v["requests"],
        "requests_per_checkout": 1 if mode == "buy" else 2,
        "p50_ms": round(v["p50_us"] / 1000, 2),
        "p99_ms": round(v["p99_us"] / 1000, 2),
        "duration_s": round(elapsed, 1),
        # CPU per checkout (ms): the gunicorn workers, PostgreSQL (every backend), wrk.
        "cpu_ms_per_checkout": {
            "workers": round((after[0] - before[0]) * 1000 / orders, 2),
            "postgres": round((after[1] - before[1]) * 1000 / orders, 2),
            "wrk": round(wrk_cpu * 1000 / orders, 2),
        },
    }


def oversold(url: str, initial: dict[int, int]) -> tuple[int, int]:
    """Return (units sold beyond the starting stock, orders in the database)."""
    app = bench_app(url)
    with app.app_context():
        from portal.extensions import db
        from shop.models import Order, OrderLine

        sold = dict(
            db.session.execute(
                select(OrderLine.product_id, func.sum(OrderLine.quantity)).group_by(
                    OrderLine.product_id
                )
            ).all()
        )
        orders = db.session.scalar(select(func.count(Order.id)))
        db.session.remove()
        db.engine.dispose()
    return sum(max(0, int(sold.get(pid, 0)) - start) for pid, start in initial.items()), orders


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m bench.run_shop", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--database-url", default=DEFAULT_URL)
    p.add_argument("--owners", type=int, default=2000)
    p.add_argument("--buyers", type=int, default=16)
    p.add_argument("--popular", type=int, default=3, help="products with limited stock")
    p.add_argument("--popular-stock", type=int, default=300)
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--worker-class", default="sync", choices=["gthread", "sync"])
    p.add_argument("--gunicorn-threads", type=int, default=4)
    p.add_argument("--connections", type=int, default=16, help="for the hello run")
    p.add_argument("--wrk-threads", type=int, default=1, help="for the hello run")
    p.add_argument("--modes", type=lambda v: v.split(","), default=["buy", "cart"],
                   help="buy,cart (default): the first one is checkouts_per_s")  # fmt: skip
    return p.parse_args(argv)


MODES = {"buy": "buy now (1 POST)", "cart": "cart (2 POSTs: add, checkout)"}


def run_mode(args, env, mode: str) -> dict[str, Any]:
    """Build a fresh database, serve it and let the buyers check out one way; check oversell."""
    info = build(args.database_url, args.owners, args.popular, args.popular_stock)
    with gunicorn("wsgi:app", env, args, "/healthz", f"shop-{mode}") as base:
        port = int(base.rsplit(":", 1)[1])
        cookies = [login(base, owner_login(i), BENCH_PASSWORD) for i in range(args.buyers)]
        tokens = [csrf_token(port, c) for c in cookies]
        result = run_buyers(base, cookies, tokens, info, args, mode)
    over, orders_in_db = oversold(args.database_url, info["initial"])
    result.update(oversold=over, orders_in_db=orders_in_db)
    log(f"{MODES[mode]}: {result}")
    # wrk stops counting at the deadline: up to one answer per buyer may still be in flight.
    if not 0 <= orders_in_db - result["orders"] <= args.buyers:
        log(f"WARNING: wrk counted {result['orders']} orders, the database has {orders_in_db}")
        result["errors"] += 1
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join(["python", "-m", "bench.run_shop", *sys.argv[1:]])
    loadavg = round(os.getloadavg()[0], 2)
    env = server_env(args.database_url)
    with gunicorn("bench.hello:app", env, args, "/", "hello") as base:
        hello = measure(base, "/", [], args, "hello")
    runs = {mode: run_mode(args, env, mode) for mode in args.modes}
    headline = runs[args.modes[0]]
    result = {
        "hello_rps": hello["rps"],
        "checkouts_per_s": headline["checkouts_per_s"],
        "checkout_mode": args.modes[0],
        "oversold": sum(r["oversold"] for r in runs.values()),
        "buyers": args.buyers,
        "cart_checkouts_per_s": runs["cart"]["checkouts_per_s"] if "cart" in runs else None,
        "runs": runs,
        "popular_products": args.popular,
        "popular_stock": args.popular_stock,
        "database": engine_url(args.database_url).get_backend_name(),
        "workers": args.workers,
        "worker_class": args.worker_class,
        "client": f"wrk -t{args.buyers} -c{args.buyers}, one connection per buyer",
        "cpus": os.cpu_count(),
        "loadavg_before": loadavg,
        "loadavg_after": round(os.getloadavg()[0], 2),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "shop.json").write_text(json.dumps(result, indent=2) + "\n")
    parts = []
    for mode, r in runs.items():
        cpu = r["cpu_ms_per_checkout"]
        parts.append(
            f"{MODES[mode]} **{r['checkouts_per_s']} checkouts/s**, oversold {r['oversold']}, "
            f"{r['sold_out_answers']} sold-out answers, {r['errors']} errors, CPU per checkout "
            f"{cpu['workers']} ms workers / {cpu['postgres']} ms PostgreSQL / {cpu['wrk']} ms wrk"
        )
    with RESULTS_MD.open("a") as f:
        f.write(
            f"- {result['date']} · `{result['commit']}` · shop checkout on {result['database']} · "
            f"{args.buyers} buyers (wrk, one connection each), {args.popular} popular products "
            f"× {args.popular_stock} units · gunicorn {args.workers}×{args.worker_class} · "
            f"hello {hello['rps']} rps · " + " · ".join(parts) + f" · {result['cpus']} CPUs, "
            f"load {loadavg} before, {result['loadavg_after']} after · `{command}`\n"
        )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
