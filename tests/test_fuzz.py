"""Every route, every role, generated input: no server error, and nothing written by a refused
request.

The targets are found, not listed: every URL rule of the app (so a new route is fuzzed without
editing this file), and every form that the pages show each role (its fields become the generated
request's fields). Hypothesis then sends M4S_FUZZ_CASES requests (5,000 by default) mixing real
values with the inputs that break parsers: huge and negative numbers, 1e309, NaN, 20-digit ids,
long and odd text. A request that is refused (a 4xx, or a form shown again with its errors) must
commit no write but its audit trail.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from portal.extensions import db

CASES = int(os.environ.get("M4S_FUZZ_CASES", "5000"))
ROLES = ("anonymous", "owner", "advisor", "manager", "admin")
# Endpoints that end the fuzzing client's own session, or that stream without end.
SKIP = {"static", "auth.logout", "notifications.stream"}
# Writes a refused request may still commit: who tried what (a new audit row), and when a
# session was last seen (that one column). Writes are named "table:insert", "table:delete" and
# "table.column" for each column an UPDATE sets, so a refused request that starts, ends or
# otherwise changes a session is caught.
MAY_WRITE_WHEN_REFUSED = {"audit_events:insert", "login_sessions.last_seen_at"}
WRITE = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)
SET_CLAUSE = re.compile(r"\bSET\s+(.*?)(?:\s+WHERE\b|\s+RETURNING\b|$)", re.IGNORECASE | re.DOTALL)
SET_COLUMN = re.compile(r'(?:^|,)\s*"?(\w+)"?\s*=')

BAD_NUMBERS = [
    "",
    "0",
    "-1",
    "1e309",
    "-1e309",
    "1e100",
    "nan",
    "inf",
    "99999999999999999999999",
    "9223372036854775808",
    "2147483648",
    "12.345",
    "1,000",
    "０１２",
    "0x10",
]
BAD_TEXT = ["x" * 20_000, "<script>alert(1)</script>", "' OR 1=1 --", "\x00", "😀" * 50, " "]
BAD_DATES = ["2026-13-45", "0000-00-00", "9999-12-31", "2026-02-30", "yesterday", "25:61"]
IDS = ["1", "2", "3", "5", "0", "99999999999999999999", "9223372036854775808", "2147483648"]


@dataclass(frozen=True)
class Target:
    role: str
    method: str
    path: str
    fields: tuple[tuple[str, str], ...] = field(default=())  # (name, an example value)


class _Forms(HTMLParser):
    """Collect each form's method, action and named fields (with their current values)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, str, list[tuple[str, str]]]] = []
        self._open: tuple[str, str, list[tuple[str, str]]] | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._open = (a.get("method", "get").upper(), a.get("action", ""), [])
            self.forms.append(self._open)
        elif tag in ("input", "select", "textarea", "button") and self._open and a.get("name"):
            if a["name"] != "csrf_token":
                self._open[2].append((a["name"], a.get("value", "")))

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = None


class Writes:
    """The tables whose writes were committed since the last reset (engine events)."""

    def __init__(self, engine) -> None:
        self.pending: set[str] = set()
        self.committed: set[str] = set()
        self.engine = engine
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)
        event.listen(engine, "rollback", self._rollback)

    def _statement(self, conn, cursor, statement, params, context, executemany):
        self.pending |= written(statement)

    def _commit(self, conn):
        self.committed |= self.pending
        self.pending = set()

    def _rollback(self, conn):
        self.pending = set()

    def reset(self) -> None:
        self.pending, self.committed = set(), set()

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "commit", self._commit)
        event.remove(self.engine, "rollback", self._rollback)


def written(statement: str) -> set[str]:
    """Name what a SQL statement writes: {"t:insert"}, {"t:delete"} or {"t.col", ...}."""
    m = WRITE.match(statement)
    if not m:
        return set()
    verb, table = m.group(1).split()[0].lower(), m.group(2).lower()
    if verb != "update":
        return {f"{table}:{verb}"}
    clause = SET_CLAUSE.search(statement)
    columns = SET_COLUMN.findall(clause.group(1)) if clause else []
    return {f"{table}.{col.lower()}" for col in columns} or {f"{table}:update"}


def _login(app, role):
    client = app.test_client()
    if role != "anonymous":
        r = client.post(
            "/login", data={"login": DEMO_LOGINS[role], "password": DEMO_PASSWORD[role]}
        )
        assert r.status_code == 303, (role, r.status_code)
    return client


def _example_path(rule) -> str | None:
    values = dict.fromkeys(rule.arguments, "1")
    try:
        return rule.build(values, append_unknown=False)[1]
    except Exception:  # a converter that refuses "1" (e.g. a fixed set of values)
        return None


def _forms_on(page, path: str, role: str) -> list[Target]:
    """The forms a page shows, as targets (GET forms' fields become query arguments)."""
    parser = _Forms()
    parser.feed(page.get_data(as_text=True))
    found = []
    for method, action, fields in parser.forms:
        action_path = urlsplit(action).path or path
        if not action_path.startswith("/static") and method in ("GET", "POST"):
            found.append(Target(role, method, action_path, tuple(fields)))
    return found


def _discover(app, clients) -> list[Target]:
    """Every rule for every role, plus every form each role is shown on those pages."""
    targets: set[Target] = set()
    for rule in app.url_map.iter_rules():
        path = None if rule.endpoint in SKIP else _example_path(rule)
        if path is None:
            continue
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        for role, client in clients.items():
            targets.update(Target(role, method, rule.rule) for method in methods)
            if "GET" in methods:
                page = client.get(path)
                if page.status_code == 200 and "html" in (page.content_type or ""):
                    targets.update(_forms_on(page, path, role))
    # One target per role, method, route shape and set of fields (not one per stock line).
    unique: dict[tuple, Target] = {}
    for t in sorted(targets, key=lambda t: (t.role, t.method, t.path, t.fields)):
        shape = (t.role, t.method, re.sub(r"/\d+", "/N", t.path), tuple(n for n, _ in t.fields))
        unique.setdefault(shape, t)
    return list(unique.values())


def _fill_rule(path: str) -> st.SearchStrategy[str]:
    """A path whose <converter:arg> parts are replaced by generated values."""
    parts = re.split(r"(<[^>]+>)", path)
    pieces = []
    for part in parts:
        if part.startswith("<"):
            conv = part[1:-1].split(":")[0] if ":" in part else "string"
            if conv in ("int", "id"):
                pieces.append(st.sampled_from(IDS))
            else:
                pieces.append(
                    st.one_of(
                        st.sampled_from(["1", "abc", "x" * 300, "%2e%2e", "zh_CN", "en"]),
                        st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=20)
                        .map(lambda s: s.replace("/", "") or "a")
                        .map(lambda s: re.sub(r"[?#%]", "", s) or "a"),
                    )
                )
        else:
            pieces.append(st.just(part))
    return st.tuples(*pieces).map("".join)


def _value(example: str) -> st.SearchStrategy[str]:
    return st.one_of(
        st.just(example),
        st.sampled_from(BAD_NUMBERS + BAD_DATES + BAD_TEXT + IDS),
        st.integers(min_value=-(10**25), max_value=10**25).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.text(max_size=40),
    )


@st.composite
def _requests(draw, targets: list[Target]):
    forms = [t for t in targets if t.fields]
    bare = [t for t in targets if not t.fields]
    # Forms carry most of the input: three requests in four go to one.
    target = draw(st.sampled_from(forms) if draw(st.integers(0, 3)) else st.sampled_from(bare))
    path = draw(_fill_rule(target.path))
    names = list(target.fields) + [("page", "1"), ("q", ""), ("sort", "0")]
    chosen = draw(st.lists(st.sampled_from(names), max_size=len(names), unique=True))
    data = {name: draw(_value(example)) for name, example in chosen}
    return target, path, data


def _refused(response, method: str) -> bool:
    if response.status_code >= 400:
        return True
    if method == "POST" and response.status_code == 200 and response.mimetype == "text/html":
        body = response.get_data(as_text=True)  # a download (the privacy zip) is not a form
        return 'class="error"' in body or "has-error" in body
    return False


@pytest.fixture
def fuzz_world(app, db):
    from portal.demo import load_demo
    from shop.demo import load_demo as load_shop_demo
    from workshop_video.cli import load_video_demo

    load_demo(owners=12)
    db.session.commit()
    load_shop_demo()
    db.session.commit()
    load_video_demo()
    db.session.commit()
    from crm.demo import load_crm_demo

    load_crm_demo()
    db.session.commit()
    clients = {role: _login(app, role) for role in ROLES}
    writes = Writes(db.engine)
    yield clients, _discover(app, clients), writes
    writes.close()


def test_generated_input_never_answers_500_and_refusals_write_nothing(app, fuzz_world):
    clients, targets, writes = fuzz_world
    assert len(targets) > 200, "discovery found too few routes and forms"
    failures: list[str] = []
    accepted_writes: list[set[str]] = []  # proves the write detector sees real commits

    @settings(
        max_examples=CASES,
        deadline=None,
        derandomize=os.environ.get("M4S_FUZZ_RANDOM") != "1",
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    @given(_requests(targets))
    def one(request):
        target, path, data = request
        client = clients[target.role]
        writes.reset()
        where = f"{target.role} {target.method} {path} {sorted(data)!r}"
        try:
            if target.method == "GET":
                response = client.get(path, query_string=data)
            else:
                response = client.open(path, method=target.method, data=data)
        except Exception as exc:  # TESTING propagates what would have been a 500
            failures.append(f"{type(exc).__name__}: {exc} <- {where} {data!r}"[:600])
            db.session.rollback()
            return
        if response.status_code >= 500:
            failures.append(f"{response.status_code} {where} {data!r}"[:600])
        elif response.status_code in (302, 303) and writes.committed:
            accepted_writes.append(writes.committed - MAY_WRITE_WHEN_REFUSED)
        if response.status_code < 500 and _refused(response, target.method):
            wrote = writes.committed - MAY_WRITE_WHEN_REFUSED
            if wrote:
                failures.append(f"refused but wrote {sorted(wrote)}: {where}"[:600])
        if target.role != "anonymous" and "/login" in response.headers.get("Location", ""):
            clients[target.role] = _login(app, target.role)  # a POST ended the session

    one()
    assert not failures, "\n".join(failures[:30])
    assert any(accepted_writes), "no accepted request committed a write: the detector is blind"


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_a_refused_request_may_only_touch_last_seen_of_a_session(dialect):
    """The allowance is one column: starting, ending or editing a session is a write."""
    from sqlalchemy import delete, insert, update
    from sqlalchemy.dialects import postgresql, sqlite

    from portal.models import AuditEvent, LoginSession
    from portal.timeutil import now

    engine_dialect = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}[dialect]

    def names(stmt) -> set[str]:
        return written(str(stmt.compile(dialect=engine_dialect)))

    touch = update(LoginSession).where(LoginSession.id == "k").values(last_seen_at=now())
    assert names(touch) == {"login_sessions.last_seen_at"}
    assert not names(touch) - MAY_WRITE_WHEN_REFUSED
    assert not names(insert(AuditEvent).values(action="x")) - MAY_WRITE_WHEN_REFUSED
    refused_writes = [
        update(LoginSession).where(LoginSession.id == "k").values(revoked_at=now()),
        update(LoginSession).values(last_seen_at=now(), user_agent="x"),
        insert(LoginSession).values(id="k", user_id=1),
        delete(LoginSession).where(LoginSession.id == "k"),
        delete(AuditEvent),
    ]
    for stmt in refused_writes:
        assert names(stmt) - MAY_WRITE_WHEN_REFUSED, str(stmt)
    assert names(LoginSession.__table__.select()) == set()
