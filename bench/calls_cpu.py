"""Statements and CPU of one Today page and one screen pop, in-process (issue 18).

    python -m bench.calls_cpu \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_group_100k \
        [--requests 40 --rounds 3] [--profile today|pop --top 40]

On a group from `python -m bench.generate --group` with `python -m bench.group_calls` added:
the app as production runs it (bench.run_backoffice.production_app) takes the requests through
the Flask test client, so what is measured is the app's own work per request with nothing of
a server or of wrk around it. As bench.run_calls asks: Today (/admin/today/) as the largest
store's agents and advisors in turn, and the screen pop (/admin/calls/card?phone=..., htmx) as
its agents for the store's own customers, other stores' customers and unknown numbers (9:1:1).
Per round and page: the median SQL statements, the median CPU ms of this process
(time.process_time) and the median wall ms per request, after a warm-up of every URL; prints
each measure's median over the rounds with its min-max. CPU time is what decides how many
requests two workers serve a second, and it varies far less than wall time on a shared machine.

With --profile it profiles that page's requests (cProfile; --top lines by own time).
Read only: GET requests, nothing is written but the sessions' sign-ins.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import time

from bench import backoffice as crawl
from bench.database import engine_url
from bench.generate import STAFF_PASSWORD
from bench.run_backoffice import production_app
from bench.run_calls import people


def urls(who: dict) -> dict[str, list[tuple[int, str]]]:
    """Return, per page, (index of the signed-in person, URL) in the order they are asked."""
    staff = len(who["agents"]) + len(who["advisors"])
    return {
        "today": [(i % staff, "/admin/today/") for i in range(staff)],
        "pop": [
            (i % len(who["agents"]), f"/admin/calls/card?phone={phone}")
            for i, phone in enumerate(who["phones"])
        ],
    }


def one(staff: crawl.Staff, url: str, counter: crawl.Counter, htmx: bool) -> tuple:
    """GET the URL; return (statements, CPU s, wall s)."""
    headers = {"HX-Request": "true"} if htmx else {}
    counter.n = 0
    cpu, wall = time.process_time(), time.perf_counter()
    response = staff.client.get(url, base_url=crawl.BASE_URL, headers=headers)
    response.get_data()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if response.status_code != 200:
        raise SystemExit(f"{url}: {response.status_code}")
    return counter.n, cpu, wall


def run_page(people_in: list, plan: list, n: int, counter, htmx: bool) -> dict:
    seen = [one(people_in[who], url, counter, htmx) for who, url in (plan * n)[:n]]
    return {
        "statements": statistics.median(s for s, _c, _w in seen),
        "cpu ms": statistics.median(c for _s, c, _w in seen) * 1000,
        "wall ms": statistics.median(w for _s, _c, w in seen) * 1000,
    }


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.calls_cpu", description=__doc__)
    p.add_argument("--database-url", required=True)
    p.add_argument("--requests", type=int, default=40, help="requests per page and round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--profile", choices=("today", "pop"))
    p.add_argument("--top", type=int, default=40)
    args = p.parse_args(argv)
    url = str(engine_url(args.database_url).render_as_string(hide_password=False))
    who = people(args.database_url)
    app = production_app(url, RATELIMIT_ENABLED=False)
    logins = who["agents"] + who["advisors"]
    signed = [crawl.sign_in(app, "staff", login, STAFF_PASSWORD) for login in logins]
    counter = crawl.Counter(app)
    plans = urls(who)
    pages = {"today": (signed, False), "pop": (signed[: len(who["agents"])], True)}
    for name, plan in plans.items():  # warm up: compiled statements, templates, catalogues
        run_page(pages[name][0], plan, len(plan), counter, pages[name][1])
    if args.profile:
        staff, htmx = pages[args.profile]
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        run_page(staff, plans[args.profile], args.requests, counter, htmx)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats("tottime")
        stats.print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
        print(out.getvalue())
        return 0
    results: dict[str, dict[str, list[float]]] = {name: {} for name in plans}
    for _ in range(args.rounds):
        for name, plan in plans.items():
            staff, htmx = pages[name]
            for key, value in run_page(staff, plan, args.requests, counter, htmx).items():
                results[name].setdefault(key, []).append(value)
    print("| page | statements | CPU ms | wall ms |")
    print("| --- | ---: | ---: | ---: |")
    for name, r in results.items():
        cells = " | ".join(spread(r[k]) for k in ("statements", "cpu ms", "wall ms"))
        print(f"| {name} | {cells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
