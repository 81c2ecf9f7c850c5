"""Time the staff customer search in-process and EXPLAIN its statement, read-only.

    python -m bench.explain_search --database-url postgresql+psycopg://.../bench_1m \
        [--words 王,袁曦,袁曦娟 --runs 5 --plans /tmp/search-plans.txt]

As an advisor of the largest store (the first), `crm.customer_search.find_customers` is called for
each word --runs times after a warm-up; its statements are recorded with SQLAlchemy's cursor
events and the slowest one is run --runs times under EXPLAIN (ANALYZE, BUFFERS). Prints, per
word, the call's median milliseconds, the rows found and the statement's median execution
time. Without --words: surnames (one character), two characters and full names of customers
of the first store. Every transaction is READ ONLY.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from sqlalchemy import event, select, text

from bench.explain_customer_page import Statements, explain
from bench.group import advisor_login
from bench.run_backoffice import production_app
from crm import customer_search
from portal.extensions import db
from portal.models import User

NAMES = (
    "SELECT name FROM users WHERE role = 'owner' AND store_id = 1 "
    "ORDER BY (id::bigint * 7919) % 1000003 LIMIT :n"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.explain_search")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--words", help="comma-separated words typed in the search box")
    parser.add_argument("--names", type=int, default=4, help="customers' names, without --words")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--plans", help="write each word's statement and median plan here")
    args = parser.parse_args(argv)
    read_only = {"options": "-c jit=off -c default_transaction_read_only=on"}
    app = production_app(args.database_url, SQLALCHEMY_ENGINE_OPTIONS={"connect_args": read_only})
    with app.app_context():
        engine = db.engine
        if args.words:
            words = args.words.split(",")
        else:
            names = list(db.session.scalars(text(NAMES), {"n": args.names}))
            words = [w for n in names for w in (n[:1], n[:2], n)]
        advisor_id = db.session.scalar(select(User.id).where(User.phone == advisor_login(0, 0)))
    stmts = Statements()
    event.listen(engine, "before_cursor_execute", stmts.before)
    event.listen(engine, "after_cursor_execute", stmts.after)
    print("| word | call p50 ms | found | statements | its execution ms | its planning ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    plans = []
    for word in words:
        times = []
        for k in range(args.runs + 1):
            with app.app_context():
                viewer = db.session.get(User, advisor_id)
                stmts.rows = []
                started = time.perf_counter()
                found = customer_search.find_customers(viewer, word)
                if k:  # the first is the warm-up
                    times.append((time.perf_counter() - started) * 1000)
                rows = list(stmts.rows)
        _sec, sql, params = max(rows, key=lambda r: r[0])
        ms, planning, plan = explain(engine, sql, params, args.runs)
        print(
            f"| {word} | {statistics.median(times):.1f} | {len(found)} | {len(rows)} "
            f"| {ms:.2f} | {planning:.2f} |",
            flush=True,
        )
        plans.append(f"-- {word}: {ms:.2f} ms\n{sql}\n{params}\n\n{plan}\n")
    event.remove(engine, "before_cursor_execute", stmts.before)
    event.remove(engine, "after_cursor_execute", stmts.after)
    if args.plans:
        with open(args.plans, "w", encoding="utf-8") as fh:
            fh.write("\n".join(plans))
    return 0


if __name__ == "__main__":
    sys.exit(main())
