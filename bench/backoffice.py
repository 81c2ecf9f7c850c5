"""Crawl the back office: sign in as a staff member the way a browser does, find every GET
route under /admin/ in the app's URL map, and turn each into the URLs worth measuring.

Used by bench/run_backoffice.py (timings on two datasets) and by tests/bench (the CI smoke).
Nothing here knows the pages by name: lists are recognised by their pager, sort and search
links; path ids come from links on the pages already fetched, else from the dataset by the
argument's name (ID_QUERIES), scoped to the signed-in staff member's store.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, text
from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter, Rule

from portal.extensions import db

BASE_URL = "https://bench.m4s.test"  # production cookies are Secure: the client speaks https
USER_AGENT = "m4s-bench-backoffice/1"
HREF = re.compile(r"""href=["']([^"']+)["']""")
CSRF = re.compile(r"""name="csrf_token"[^>]*value="([^"]+)\"""")
SEARCH_INPUT = re.compile(r"""<input[^>]*name=["'](search|q)["']""")
SKIP_ENDPOINTS = {"admin.static"}
# Path arguments no link gave: the newest row of the staff member's store (any store for an
# admin). A page whose argument is in neither place is reported as "no id", not skipped silently.
ID_QUERIES = {
    "advisor_id": "SELECT max(id) FROM users WHERE role = 'advisor' AND {store}",
    "customer_id": "SELECT max(id) FROM users WHERE role = 'owner' AND {store}",
    "lead_id": "SELECT max(id) FROM crm_leads WHERE {store}",
    "notice_id": "SELECT max(id) FROM notices WHERE {store}",
    "order_id": "SELECT max(id) FROM shop_orders WHERE {store}",
    "product_id": "SELECT max(id) FROM shop_products",
    "car_id": "SELECT max(id) FROM used_car_requests WHERE {store}",
    "booking_id": "SELECT max(id) FROM bookings WHERE {store}",
    "rescue_id": "SELECT max(id) FROM rescues WHERE {store}",
    "vehicle_id": "SELECT max(v.id) FROM vehicles v JOIN users u ON u.id = v.owner_id "
    "WHERE {store_u}",
    "export_type": None,  # "csv"
}


@dataclass
class Target:
    """One URL to measure: the route's endpoint, the variant (default, deep, sort, search)."""

    endpoint: str
    variant: str
    url: str

    @property
    def label(self) -> str:
        return f"{self.endpoint} [{self.variant}]"


@dataclass
class Staff:
    """A signed-in test client and who it is."""

    role: str
    client: FlaskClient
    store_id: int | None
    pages: dict[str, str] = field(default_factory=dict)  # url -> html seen


class Counter:
    """Count the SQL statements the app sends while it is active."""

    def __init__(self, app: Flask) -> None:
        with app.app_context():
            self.engine = db.engine
        self.n = 0
        event.listen(self.engine, "before_cursor_execute", self._count)

    def _count(self, *args: object) -> None:
        self.n += 1

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


def sign_in(app: Flask, role: str, login: str, password: str) -> Staff:
    """Sign in through /login with its CSRF token, as a browser would; fail loudly otherwise."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
    page = client.get("/login", base_url=BASE_URL)
    match = CSRF.search(page.get_data(as_text=True))
    data = {"login": login, "password": password}
    if match:
        data["csrf_token"] = html.unescape(match.group(1))
    # Over https Flask-WTF also checks the Referer, as browsers send it: same origin.
    response = client.post(
        "/login", data=data, base_url=BASE_URL, headers={"Referer": f"{BASE_URL}/login"}
    )
    if response.status_code != 303 or "/admin" not in response.headers.get("Location", ""):
        said = re.findall(r"(?:alert|invalid-feedback|error)[^>]*>\s*([^<]+)", response.text)
        raise SystemExit(f"{role} {login} could not sign in: {response.status_code} {said[:3]}")
    with app.app_context():
        store_id = db.session.scalar(
            text("SELECT store_id FROM users WHERE phone = :p"), {"p": login}
        )
        db.session.remove()
    return Staff(role, client, store_id)


def get(staff: Staff, url: str) -> tuple[int, float, str]:
    """GET the URL; return the status, the seconds it took (body read) and the body."""
    started = time.perf_counter()
    response = staff.client.get(url, base_url=BASE_URL)
    body = response.get_data()
    seconds = time.perf_counter() - started
    text_body = body.decode("utf-8", "replace") if "html" in response.content_type else ""
    return response.status_code, seconds, text_body


def admin_rules(app: Flask) -> list[Rule]:
    rules = [
        r
        for r in app.url_map.iter_rules()
        if r.rule.startswith("/admin/")
        and "GET" in (r.methods or ())
        and r.endpoint not in SKIP_ENDPOINTS
    ]
    return sorted(rules, key=lambda r: r.rule)


def admin_links(body: str) -> Iterator[str]:
    for href in HREF.findall(body):
        href = html.unescape(href)
        if href.startswith(BASE_URL):
            href = href[len(BASE_URL) :]
        if href.startswith("/admin/"):
            yield href


def discover_links(adapter: MapAdapter, bodies: list[str]) -> dict[str, str]:
    """Return, per endpoint, the first link to it on the pages seen that names an id."""
    found: dict[str, str] = {}
    for body in bodies:
        for href in admin_links(body):
            parts = urlsplit(href)
            try:
                endpoint, args = adapter.match(parts.path, method="GET")
            except HTTPException:
                continue
            if endpoint not in found and (args or "id=" in parts.query):
                found[endpoint] = href
    return found


def id_from_dataset(app: Flask, name: str, store_id: int | None) -> str | None:
    if name not in ID_QUERIES:
        return None
    sql = ID_QUERIES[name]
    if sql is None:
        return "csv"
    scoped = store_id is not None
    sql = sql.format(
        store=f"store_id = {int(store_id)}" if scoped else "TRUE",
        store_u=f"u.store_id = {int(store_id)}" if scoped else "TRUE",
    )
    with app.app_context():
        value = db.session.scalar(text(sql))
        db.session.remove()
    return None if value is None else str(value)


def list_variants(endpoint: str, url: str, body: str, term: str, deep: int) -> list[Target]:
    """Return the deep page, sorts and search of a list page, from its own links and form."""
    out: list[Target] = []
    pages, sorts = set(), []
    for href in admin_links(body):
        parts = urlsplit(href)
        if parts.path != urlsplit(url).path:
            continue
        query = dict(parse_qsl(parts.query))
        if query.get("page", "").isdigit():
            pages.add(int(query["page"]))
        if "sort" in query and "search" not in query and "page" not in query:
            key = urlencode({k: v for k, v in query.items() if k in ("sort", "desc")})
            if key not in sorts:
                sorts.append(key)
    if pages and max(pages) > 1:
        page = min(max(pages), deep)
        out.append(Target(endpoint, "deep page", f"{url}?page={page}"))
    out += [Target(endpoint, f"sort {key}", f"{url}?{key}") for key in sorts]
    if match := SEARCH_INPUT.search(body):
        out.append(Target(endpoint, "search", f"{url}?{urlencode({match.group(1): term})}"))
    return out


def targets(app: Flask, staff: Staff, term: str, deep: int = 200) -> list[Target]:
    """Fetch every argument-free /admin/ GET route once, then build the list of URLs to measure:
    each route, and for lists their deep page, sorts and search; routes with ids get theirs."""
    adapter = app.url_map.bind("bench.m4s.test", url_scheme="https")
    rules = admin_rules(app)
    found: list[Target] = []
    bodies: list[str] = []
    for rule in rules:
        if rule.arguments:
            continue
        url = adapter.build(rule.endpoint, {})
        status, _s, body = get(staff, url)
        found.append(Target(rule.endpoint, "default", url))
        bodies.append(body)
        if status == 200 and body:
            found += list_variants(rule.endpoint, url, body, term, deep)
    links = discover_links(adapter, bodies)
    for rule in rules:
        if rule.endpoint in links:  # a page with an id, or a details/edit view with ?id=
            found.append(Target(rule.endpoint, "linked id", links[rule.endpoint]))
        elif rule.arguments:
            values = {a: id_from_dataset(app, a, staff.store_id) for a in rule.arguments}
            if None in values.values():
                found.append(Target(rule.endpoint, "no id", ""))
            else:
                found.append(
                    Target(rule.endpoint, "dataset id", adapter.build(rule.endpoint, values))
                )
    return found


def search_term(app: Flask, store_id: int | None) -> str:
    """A customer's name from the staff member's store: what a manager would type."""
    where = f"AND store_id = {int(store_id)}" if store_id is not None else ""
    with app.app_context():
        name = db.session.scalar(
            text(f"SELECT name FROM users WHERE role = 'owner' {where} ORDER BY id LIMIT 1")  # noqa: S608
        )
        db.session.remove()
    return name or "王伟"
