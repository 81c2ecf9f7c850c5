"""Time the owner's inspection page and the approval it records (issue 19), on loopback.

    python -m bench.run_inspection \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_inspection \
        [--rounds 5 --duration 8 --connections 16]

Builds a small dataset (bench.generate with --owners owners), then adds checked-in bookings,
each with a sent 30-item inspection (27 amber or red recommendations, 3 green):
--photo-inspections of them with a real JPEG photo per item (Pillow, 2400x1800, stored
through the portal's own image service), the rest without. Serves wsgi:app with gunicorn
(2 sync workers) and, in every round:

- first contentful paint: a fresh headless Chromium context at phone size (390x844) opens
  the owner page of a 30-item inspection with photos (B), and of one without (A, the
  baseline: what the photos add); the page is checked to lazy-load every photo
  (loading="lazy") and to fetch only thumbnails of at most 320 px;
- approval: wrk at --connections POSTs decisions (htmx, CSRF token and session cookie as
  the real page sends them), each request to a distinct pending item, so every request
  records a real decision; the ceiling bench.hello:app is measured in the same round.
  After the run the number of decisions recorded must equal the number of 2xx answers.

Prints each measure's median over the rounds with its min-max, never the best.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import io
import json
import os
import random
import re
import shlex
import statistics
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import harness
from bench.database import BENCH_DATA_KEY, BENCH_LOOKUP_KEY
from bench.generate import generate

SECRET = "bench-inspection-not-secret-" + "0" * 36  # the links are signed with it
ITEMS = 30
GREENS = 3  # of the 30 points, checked and fine
APPROVE_LUA = """
local items = {%(items)s}
local created = 0
-- Each wrk thread takes every nthreads-th item from its own start: no item is sent twice.
setup = function(thread)
  thread:set("tid", created)
  thread:set("nthreads", %(threads)d)
  created = created + 1
end
local n = -1
request = function()
  n = n + 1
  local k = (n * nthreads + tid) %% #items + 1
  local it = items[k]
  wrk.headers["Cookie"] = it[1]
  wrk.headers["HX-Request"] = "true"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  return wrk.format("POST", it[2], nil, "decision=" .. it[3] .. "&csrf_token=" .. it[4])
end
"""
FCP_JS = """() => new Promise(resolve => {
  const done = () => {
    const e = performance.getEntriesByName('first-contentful-paint')[0];
    if (e) { resolve(e.startTime); return true; } return false;
  };
  if (!done()) new PerformanceObserver(() => done()).observe({type: 'paint', buffered: true});
})"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def app_for(database_url: str):
    from portal.app import create_app

    return create_app(
        {
            "ENV": "testing",
            "SECRET_KEY": SECRET,
            "DATA_KEYS": BENCH_DATA_KEY,
            "LOOKUP_KEY": BENCH_LOOKUP_KEY,
            "DATABASE_URL": database_url,
            "RATELIMIT_ENABLED": False,
        }
    )


def photo(rng: random.Random, k: int) -> bytes:
    """A camera-sized JPEG with some detail (a gradient and noise), about 0.5-1 MB."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (2400, 1800), (40 + k % 200, 90, 140))
    draw = ImageDraw.Draw(img)
    for _ in range(400):
        x, y = rng.randrange(2400), rng.randrange(1800)
        r = rng.randrange(10, 120)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse((x, y, x + r, y + r), fill=colour)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def build(args: argparse.Namespace) -> dict[str, Any]:
    """Build the dataset; return the owner links: with photos, without, and for approvals."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import Booking, Inspection, InspectionItem, User
    from portal.services import inspections as svc
    from portal.services.media import store_image
    from portal.timeutil import now

    generate(args.database_url, args.owners, reset=True, log=log)
    rng = random.Random(19)
    app = app_for(args.database_url)
    links: dict[str, list[str]] = {"photos": [], "plain": []}
    with app.app_context():
        advisor = db.session.scalars(
            select(User).where(User.role == "advisor").order_by(User.id)
        ).first()
        owners = db.session.execute(
            select(User.id, Booking.vehicle_id)
            .join(Booking, Booking.owner_id == User.id)
            .where(Booking.store_id == advisor.store_id)
            .distinct()
            .limit(args.inspections)
        ).all()
        if len(owners) < args.inspections:
            raise SystemExit(f"only {len(owners)} cars in store {advisor.store_id}")
        when = now()
        for n, (owner_id, vehicle_id) in enumerate(owners):
            booking = Booking(
                owner_id=owner_id,
                vehicle_id=vehicle_id,
                store_id=advisor.store_id,
                slot_start=when - timedelta(hours=2),
                status="checked_in",
                service_types=["maintenance"],
                advisor_id=advisor.id,
                decided_at=when - timedelta(hours=3),
            )
            db.session.add(booking)
            db.session.flush()
            inspection = Inspection(
                booking_id=booking.id,
                store_id=advisor.store_id,
                inspector_id=advisor.id,
                status="sent",
                sent_at=when,
                sent_by_id=advisor.id,
            )
            with_photos = n < args.photo_inspections
            for p in range(1, ITEMS + 1):
                severity = "green" if p <= GREENS else ("red" if p % 3 == 0 else "amber")
                image = (
                    store_image(photo(rng, p), owner=db.session.get(User, owner_id))
                    if (with_photos)
                    else None
                )
                inspection.items.append(
                    InspectionItem(
                        position=p,
                        name_zh=f"检查项 {p}",
                        name_en=f"Check point {p}",
                        severity=severity,
                        note="剩余 2 mm，建议更换" if severity != "green" else "",
                        image_id=image.id if image else None,
                        price_fen=10_000 + 1_000 * p,
                    )
                )
            db.session.add(inspection)
            db.session.flush()
            links["photos" if with_photos else "plain"].append(svc.link_path(inspection))
            if n % 50 == 49:
                db.session.commit()
                log(f"  {n + 1} inspections")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return links


def open_link(base: str, path: str) -> dict[str, Any]:
    """Open the owner page as a browser would; return its cookie, CSRF token and item ids."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", harness.USER_AGENT)]
    with opener.open(base + path, timeout=30) as resp:
        page = resp.read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    cookie = next((c.value for c in jar if c.name == "session"), None)
    posts = re.findall(r'action="(/inspection/[^"]+/items/\d+)"', page)
    if token is None or cookie is None or len(posts) != ITEMS - GREENS:
        raise SystemExit(f"the owner page {path} has no form, token or cookie as expected")
    return {"cookie": cookie, "token": token.group(1), "posts": posts}


def approve_rows(pages: list[dict[str, Any]]) -> list[str]:
    """One Lua row per pending item; consecutive rows belong to different cars."""
    rows = []
    for j in range(ITEMS - GREENS):
        for k, pg in enumerate(pages):
            choice = "approve" if (k + j) % 3 else "decline"
            cells = (f"session={pg['cookie']}", pg["posts"][j], choice, pg["token"])
            rows.append("{" + ", ".join(json.dumps(x) for x in cells) + "}")
    return rows


def approve_lua(rows: list[str], threads: int) -> str:
    return (APPROVE_LUA + harness.WRK_REPORT) % {"items": ", ".join(rows), "threads": threads}


def decided(database_url: str) -> int:
    from sqlalchemy import create_engine, text

    from bench.database import engine_url

    engine = create_engine(engine_url(database_url))
    with engine.connect() as conn:
        n = conn.scalar(text("SELECT count(*) FROM inspection_items WHERE decision <> 'pending'"))
    engine.dispose()
    return int(n)


def first_paint(browser, base: str, path: str, photos: bool) -> dict[str, Any]:
    """Open the page in a fresh phone-sized context; return FCP and what images it fetched."""
    from PIL import Image

    from tests.e2e.live import PHONE

    context = browser.new_context(base_url=base, **PHONE)
    page = context.new_page()
    responses = []
    page.on(
        "response", lambda r: responses.append(r) if r.request.resource_type == "image" else None
    )
    page.goto(path, wait_until="load")
    fcp = page.evaluate(FCP_JS)
    imgs = page.eval_on_selector_all(
        "img.dvi-photo", "els => els.map(e => [e.getAttribute('loading'), e.src])"
    )
    page.wait_for_timeout(200)
    fetched = [(r.url, r.body()) for r in responses]  # before the context closes
    context.close()
    if photos:
        if len(imgs) != ITEMS - GREENS or any(loading != "lazy" for loading, _ in imgs):
            raise SystemExit(f"not every photo is lazy-loaded: {imgs[:3]}")
        if any("/thumb" not in src for _, src in imgs):
            raise SystemExit("a photo on the page is not the thumbnail")
    sides = []
    for _url, body in fetched:
        with Image.open(io.BytesIO(body)) as img:
            sides.append(max(img.size))
    if any(s > 320 for s in sides):
        raise SystemExit(f"the page fetched an image larger than a thumbnail: {sides}")
    return {
        "fcp_ms": round(fcp, 1),
        "images_fetched": len(fetched),
        "bytes": sum(len(b) for _, b in fetched),
    }


def add(results: dict[str, list[float]], key: str, value: float) -> None:
    results.setdefault(key, []).append(value)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def one_tree(browser, tree, tag, env, links, rows, state, args, results, images) -> dict:
    """Serve one tree; time the owner page's first paint and the approvals at load."""
    with harness.serve_tree(tree, env, f"inspection-{tag}") as base:
        for path in links["plain"][:2] + links["photos"][:2]:  # warm both workers up
            with harness.http_get(base + path, timeout=60) as resp:
                resp.read()
        first_paint(browser, base, links["photos"][0], True)
        for name, paths in (("no photos", links["plain"]), ("photos", links["photos"])):
            for k in range(args.fcp_runs):
                m = first_paint(browser, base, paths[k % len(paths)], name == "photos")
                add(results, f"{tag} FCP ms, 30 items, {name}", m["fcp_ms"])
                images[name] = m
        if len(rows) - state["offset"] < 1000:
            raise SystemExit("too few pending items left: raise --inspections")
        script = approve_lua(rows[state["offset"] :], args.wrk_threads)
        m = harness.wrk(base, "/", [], args.duration, args, "approve", script)
    state["offset"] += m["requests"] + 4 * args.connections  # and those still in flight
    if m["errors"]:
        log(f"WARNING {tag} approve errors: {m['errors']}")
    state["answered"] += m["requests"] - sum(m["errors"].values())
    state["measured"] += 1
    for key in ("p50_ms", "p99_ms", "rps"):
        add(results, f"{tag} approve {key.replace('_', ' ')}", m[key])
    return m


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.run_inspection", description=__doc__)
    p.add_argument("--database-url", required=True, help="a database named *bench*")
    p.add_argument("--owners", type=int, default=2000)
    p.add_argument("--inspections", type=int, default=600)
    p.add_argument("--photo-inspections", type=int, default=4)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--fcp-runs", type=int, default=3, help="page loads per round and page")
    p.add_argument("--duration", type=int, default=8, help="seconds of wrk per measurement")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--baseline", type=Path, help="a tree of the code before a change (A)")
    p.add_argument("--quick", action="store_true", help="a smoke test: append nothing")
    p.add_argument("--no-build", action="store_true", help="reuse links.json from a last build")
    args = p.parse_args(argv)
    args.workers, args.worker_class, args.gunicorn_threads, args.wrk_threads = 2, "sync", 1, 1
    if "bench" not in args.database_url:
        raise SystemExit("the bench only rebuilds databases named *bench*")
    command = shlex.join(["python", "-m", "bench.run_inspection", *sys.argv[1:]])
    saved = harness.DATA / "inspection-links.json"
    if args.no_build:
        links = json.loads(saved.read_text())
    else:
        links = build(args)
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps(links))
    load_before = os.getloadavg()
    env = {**harness.server_env(args.database_url), "M4S_SECRET_KEY": SECRET}
    trees = {"A": args.baseline, "B": harness.ROOT} if args.baseline else {"B": harness.ROOT}
    results: dict[str, list[float]] = {}
    images: dict[str, Any] = {}
    from playwright.sync_api import sync_playwright

    from tests.e2e.live import launch_chromium

    with harness.serve_tree(harness.ROOT, env, "inspection-B") as base:
        pages = [open_link(base, path) for path in links["plain"][args.photo_inspections :]]
    rows = approve_rows(pages)
    # offset: items the last measurements used up are never sent again
    state = {"offset": 0, "answered": 0, "measured": 0}
    before = decided(args.database_url)
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        for r in range(args.rounds):
            with harness.gunicorn("bench.hello:app", env, args, "/", "hello") as hello:
                h = harness.wrk(hello, "/", [], args.duration, args, "hello")
            add(results, "hello p99 ms", h["p99_ms"])
            add(results, "hello rps", h["rps"])
            for tag, tree in trees.items():
                m = one_tree(browser, tree, tag, env, links, rows, state, args, results, images)
                log(f"round {r + 1} {tag}: hello {h} approve {m}")
        browser.close()
    recorded = decided(args.database_url) - before
    answered, measured = state["answered"], state["measured"]
    load_after = os.getloadavg()
    table = ["| measure | median (min-max) |", "| --- | ---: |"]
    table += [f"| {key} | {spread(v)} |" for key, v in results.items()]
    summary = (
        f"\n## Owner inspection page and approvals (issue 19), "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `{harness.git_commit()}`\n\n"
        f"`{command}`\n\n"
        f"{args.rounds} rounds on {harness.engine_url(args.database_url).get_backend_name()}, "
        f"gunicorn 2 sync workers, wrk -t1 -c{args.connections} {args.duration} s, "
        f"{os.cpu_count()} CPUs; load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after. FCP: fresh headless Chromium context at 390x844 per load, "
        f"{args.fcp_runs} loads per round and page; the 30-item page with photos fetched "
        f"{images['photos']['images_fetched']} thumbnails ({images['photos']['bytes']} bytes, "
        f"all <= 320 px, every img loading=lazy). Approvals: {recorded} decisions recorded "
        f"for {answered} answered requests (each request a distinct pending item; up to "
        f"{args.connections} more per measurement were in flight when wrk stopped). "
        + (
            f"A = `{args.baseline}` (the code before), B = this tree.\n\n"
            if args.baseline
            else "\n\n"
        )
        + "\n".join(table)
        + "\n"
    )
    print(summary)
    # Requests still in flight when wrk stops are answered after it stopped counting.
    if not answered <= recorded <= answered + measured * args.connections:
        raise SystemExit(f"{answered} approvals answered but {recorded} recorded")
    if args.quick:
        return 0
    with harness.RESULTS_MD.open("a") as f:
        f.write(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
