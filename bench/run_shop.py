"""Checkout throughput on PostgreSQL beside the bare-Flask hello ceiling, on loopback only.

Builds a small bench dataset (owners from bench.generate, plus a shop catalog where a few
popular products have limited stock), serves it with gunicorn in production mode, logs in
--buyers owners through the real form, and lets that many concurrent buyers loop for
--duration seconds: add one unit to the cart (POST), check out with pay-at-the-store (POST).
Half of the picks go to the popular products, so buyers contend for the same rows and those
sell out during the run. Afterwards the database is checked for oversell: units sold per
product never above the stock it started with. Writes bench/results/shop.json and appends a
line to bench/RESULTS.md.

    python -m bench.run_shop --database-url postgresql+psycopg://postgres@127.0.0.1:5432/m4s_shop_bench
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shlex
import sys
import threading
import time
import urllib.parse
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from bench.generate import BENCH_PASSWORD, bench_app, engine_url, generate, owner_login
from bench.run_portal import (
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
        for i, p in enumerate(products):
            stock.set_initial(p, popular_stock if i < popular else 1_000_000)
        db.session.commit()
        info = {
            "store_id": db.session.scalar(select(Store.id).order_by(Store.id)),
            "popular": [(p.id, p.price_fen) for p in products[:popular]],
            "others": [(p.id, p.price_fen) for p in products[popular:]],
            "initial": {p.id: p.stock for p in products},
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


def _post(port: int, path: str, cookie: str, form: dict[str, Any]) -> tuple[int, str]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    body = urllib.parse.urlencode(form)
    conn.request("POST", path, body=body, headers={
        "Cookie": f"session={cookie}", "User-Agent": USER_AGENT,
        "Content-Type": "application/x-www-form-urlencoded",
    })  # fmt: skip
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp.status, resp.headers.get("Location", "")


def buyer(port, cookie, token, info, deadline, seed, tally, lock) -> None:
    """Loop: put one unit in the cart, check out; count orders, sell-outs and errors."""
    rng = random.Random(seed)
    mine = {"orders": 0, "sold_out": 0, "errors": 0}
    while time.monotonic() < deadline:
        pid, price = rng.choice(info["popular"] if rng.random() < 0.5 else info["others"])
        status, where = _post(port, f"/shop/cart/add/{pid}", cookie,
                              {"quantity": 1, "csrf_token": token})  # fmt: skip
        if status != 303:
            mine["errors"] += 1
            continue
        if "/shop/products/" in where:  # refused: sold out (the flash says so)
            mine["sold_out"] += 1
            continue
        status, where = _post(port, "/shop/checkout", cookie, {
            "delivery": "pickup", "store": info["store_id"], "payment": "store",
            "expected_total_fen": price, "csrf_token": token,
        })  # fmt: skip
        if status == 303 and re.search(r"/shop/orders/\d+$", where):
            mine["orders"] += 1
        elif status in (303, 422):
            mine["sold_out"] += 1
            _post(port, f"/shop/cart/{pid}", cookie, {"quantity": 0, "csrf_token": token})
        else:
            mine["errors"] += 1
    with lock:
        for k, v in mine.items():
            tally[k] += v


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
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--wrk-threads", type=int, default=1)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join(["python", "-m", "bench.run_shop", *sys.argv[1:]])
    loadavg = round(os.getloadavg()[0], 2)
    info = build(args.database_url, args.owners, args.popular, args.popular_stock)
    env = server_env(args.database_url)
    with gunicorn("bench.hello:app", env, args, "/", "hello") as base:
        hello = measure(base, "/", [], args, "hello")
    with gunicorn("wsgi:app", env, args, "/healthz", "shop") as base:
        port = int(base.rsplit(":", 1)[1])
        cookies = [login(base, owner_login(i), BENCH_PASSWORD) for i in range(args.buyers)]
        tokens = [csrf_token(port, c) for c in cookies]
        tally, lock = {"orders": 0, "sold_out": 0, "errors": 0}, threading.Lock()
        started = time.monotonic()
        deadline = started + args.duration
        threads = [
            threading.Thread(target=buyer, args=(port, c, t, info, deadline, i, tally, lock))
            for i, (c, t) in enumerate(zip(cookies, tokens, strict=True))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
    over, orders_in_db = oversold(args.database_url, info["initial"])
    result = {
        "hello_rps": hello["rps"],
        "checkouts_per_s": round(tally["orders"] / elapsed, 1),
        "oversold": over,
        "buyers": args.buyers,
        "orders": tally["orders"],
        "orders_in_db": orders_in_db,
        "sold_out_answers": tally["sold_out"],
        "errors": tally["errors"],
        "requests_per_checkout": 2,
        "popular_products": args.popular,
        "popular_stock": args.popular_stock,
        "duration_s": round(elapsed, 1),
        "database": engine_url(args.database_url).get_backend_name(),
        "workers": args.workers,
        "worker_class": args.worker_class,
        "cpus": os.cpu_count(),
        "loadavg_before": loadavg,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "shop.json").write_text(json.dumps(result, indent=2) + "\n")
    with RESULTS_MD.open("a") as f:
        f.write(
            f"- {result['date']} · `{result['commit']}` · shop checkout on {result['database']} · "
            f"{args.buyers} buyers, {args.popular} popular products × {args.popular_stock} units "
            f"· gunicorn {args.workers}×{args.worker_class} · hello {hello['rps']} rps · "
            f"**{result['checkouts_per_s']} checkouts/s** (2 POSTs each) · oversold "
            f"{over} · {tally['sold_out']} sold-out answers, {tally['errors']} errors · "
            f"{result['cpus']} CPUs, load {loadavg} before · `{command}`\n"
        )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
