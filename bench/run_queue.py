"""Time the booking queue in-process: the admin's (every store, a store, the next page, the
poll) and a store manager's, with statements per request.

    python -m bench.run_queue --database-url postgresql+psycopg://...  [--rounds 15]

Signs in as the group dataset's admin and the manager of its first (largest) store
(bench/group.py), warms each URL up once and prints median and spread (min-max) of `--rounds`
requests in a row, with the statements and the bookings each page shows. Run on
`python -m bench.generate --group --scale 10k` (or 100k)."""

from __future__ import annotations

import argparse
import re
import sys

from bench.explain_backoffice import ADMIN_LOGIN, STAFF_PASSWORD, login
from bench.group import manager_login
from portal.app import create_app


def _timed(client, url: str, rounds: int) -> tuple[list[float], int, int]:
    import time

    from sqlalchemy import event

    from portal.extensions import db

    client.get(url)  # warm-up
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url}: {response.status_code}")
    seen = []
    with client.application.app_context():
        engine = db.engine
    listener = lambda *a: seen.append(a[2])  # noqa: E731 - the statement of each execute
    event.listen(engine, "before_cursor_execute", listener)
    try:
        html = client.get(url).get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    shown = len(re.findall(r'class="card mb-3 queue-item"', html))
    return sorted(times), len(seen), shown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run_queue")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    app = create_app(
        {
            "ENV": "testing",
            "SECRET_KEY": "bench-queue-not-secret-" + "0" * 32,
            "DATABASE_URL": args.database_url,
            "RATELIMIT_ENABLED": False,
            "DEFAULT_LOCALE": "zh_CN",
            "WTF_CSRF_ENABLED": False,  # the bench posts the login form without a token
        }
    )
    assert STAFF_PASSWORD
    admin, manager = login(app, ADMIN_LOGIN), login(app, manager_login(0))
    first = admin.get("/admin/queue/").get_data(as_text=True)
    nxt = re.search(r'id="queue-next" href="([^"]+)"', first)
    urls = [
        ("admin", admin, "/admin/queue/"),
        ("admin", admin, "/admin/queue/items?after=0"),
        ("admin", admin, "/admin/queue/?store=1"),
        ("manager", manager, "/admin/queue/"),
    ]
    if nxt:
        urls.insert(1, ("admin", admin, nxt.group(1).replace("&amp;", "&")))
    print("| who | URL | bookings shown | statements | ms median (min-max) |")
    print("| --- | --- | ---: | ---: | ---: |")
    for who, client, url in urls:
        times, statements, shown = _timed(client, url, args.rounds)
        median = times[len(times) // 2]
        print(
            f"| {who} | `{url}` | {shown} | {statements} "
            f"| {median:.0f} ({times[0]:.0f}-{times[-1]:.0f}) |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
