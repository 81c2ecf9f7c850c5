"""The new-car leads of the group dataset (issue 17): about 2 per customer in all, each with its
steps and its first-contact task, added to a built group in a few statements.

    python -m bench.group_leads --database-url postgresql+psycopg://.../bench_group_100k

Runs on a dataset from `python -m bench.generate --group`, once: it stops if the group already
has about that many leads (the generator gives 7 % of customers one). Everything is INSERT ...
SELECT on the server, derived from the rows the group already holds and from hashes of their
ids (never random()), so it takes seconds where a Python loop over the customers would take
minutes, and the same group always gets the same leads:

- per customer 0 to 1.75 times the average of new leads, plus one (`--per-customer`: 2.0 in
  all, the generator's counted), at the customer's store, spread over their history (from
  the day they joined, ten years at most, to now);
- closed mostly: delivered (won) about 25 %, lost about 55 % with a reason, and about 17 %
  invalid (lost as unreachable or other: the model has no merged or invalid state); about 3 %
  of all leads active now (open, a few awaiting a lost approval), created in the last two
  months, and only for customers with no active lead at their store (the unique partial index
  uq_crm_leads_active_customer_store holds at most one);
- sources weighted as a Chinese dealer's (walk-ins, calls, Autohome, Dongchedi, Yiche, the
  website, referrals, campaigns...), a model of the store's brand, a timeframe and its grade
  (as crm.leads grades them), a budget in fen, an advisor of the store (by the lead's id) and
  the brand as the app sets it (the model's brand, else the store's one brand);
- each lead's events (created; the stage reached at first contact, or delivered; lost
  approved, or lost asked) and its first-contact task (done at the first contact, or given up
  when the lead closed unreached; open only for an open lead not yet reached).

The ids are explicit (after the largest), the sequences are moved past them and the tables
analysed. Not in `make bench-group` (bench.group_calls is not either): run it after the
generator. On SQLite (the tests' tiny group) the same statements run, with hashtext made a
Python function and the few time conversions spelled for SQLite.
"""

from __future__ import annotations

import argparse
import sys
import time as clock
import zlib

from sqlalchemy import Connection, create_engine, event, text

from bench.database import engine_url, fix_sequences
from bench.group import BRANDS
from crm.models import Lead, LeadEvent, Task
from portal.demo.people import MODELS
from portal.timeutil import now

ACTIVE_SHARE = 0.03  # of all leads, active now (open or awaiting a lost approval)
# Weights in per cent; _pick turns them into a CASE over a hash modulo 100.
SOURCES = (
    ("walk_in", 20),
    ("phone", 15),
    ("autohome", 15),
    ("dongchedi", 12),
    ("yiche", 8),
    ("portal", 12),
    ("referral", 8),
    ("campaign", 5),
    ("trade_in", 3),
    ("import", 2),
)
TIMEFRAMES = (("7d", 10), ("15d", 15), ("30d", 25), ("90d", 25), ("later", 25))
GRADE = "CASE timeframe WHEN '7d' THEN 'H' WHEN '15d' THEN 'A' WHEN '30d' THEN 'B' ELSE 'C' END"
# A closed lead, in per mille: won 25 %, lost 55 %, invalid 17 % of all (3 % are active).
OUTCOMES = (("won", 258), ("lost", 567), ("invalid", 175))
STAGES = {  # the stage a lead of each kind had reached
    "open": (("new", 20), ("contacted", 35), ("visited", 20), ("test_drive", 12), ("quote", 9),
             ("order", 4)),
    "lost_pending": (("contacted", 50), ("visited", 25), ("test_drive", 15), ("quote", 10)),
    "lost": (("new", 8), ("contacted", 37), ("visited", 22), ("test_drive", 15), ("quote", 12),
             ("order", 6)),
    "invalid": (("new", 70), ("contacted", 30)),
}  # fmt: skip
LOST_REASONS = {
    "lost": (("competitor", 30), ("elsewhere", 25), ("postponed", 20), ("budget", 20),
             ("other", 5)),
    "invalid": (("unreachable", 70), ("other", 30)),
}  # fmt: skip
CLOSING_DAYS = {"won": (7, 84), "lost": (3, 58), "invalid": (1, 5), "lost_pending": (1, 10)}

# Epoch seconds from a timestamp and back, and the numbers 1..:kmax, in each dialect.
DIALECT = {
    "postgresql": {
        "epoch": "CAST(extract(epoch FROM {}) AS bigint)",
        "stamp": "to_timestamp({})",
        "series": "generate_series(1, :kmax) AS n(k)",
        "fence": "OFFSET 0",
    },
    "sqlite": {
        "epoch": "CAST(strftime('%s', {}) AS integer)",
        "stamp": "strftime('%Y-%m-%d %H:%M:%S.000000', {}, 'unixepoch')",
        "fence": "",
        "series": "(WITH RECURSIVE s(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM s "
        "WHERE k < :kmax) SELECT k FROM s) AS n",
    },
}


def _h(key: str, salt: str) -> str:
    """SQL of a non-negative 31-bit hash of the key, one stream per salt."""
    return f"(hashtext({key} || '{salt}') & 2147483647)"


def _pick(expr: str, pairs: tuple) -> str:
    """SQL of a CASE giving each value for its share of expr's range (the weights' sum)."""
    arms, edge = [], 0
    for value, weight in pairs[:-1]:
        edge += weight
        arms.append(f"WHEN {expr} < {edge} THEN '{value}'")
    return f"CASE {' '.join(arms)} ELSE '{pairs[-1][0]}' END"


def _later(a: str, b: str) -> str:
    return f"CASE WHEN {a} > {b} THEN {a} ELSE {b} END"


def _earlier(a: str, b: str) -> str:
    return f"CASE WHEN {a} < {b} THEN {a} ELSE {b} END"


def _by_kind(table: dict, modulo: str) -> str:
    return (
        "CASE kind "
        + " ".join(f"WHEN '{kind}' THEN {_pick(modulo, pairs)}" for kind, pairs in table.items())
        + " END"
    )


STORE_INFO = """
CREATE TEMP TABLE bench_store_info AS
SELECT s.id AS store_id,
       (SELECT count(*) FROM users a WHERE a.store_id = s.id AND a.role = 'advisor'
        AND a.is_active) AS n_adv,
       (SELECT min(m.id) FROM users m WHERE m.store_id = s.id AND m.role = 'manager') AS manager_id,
       (SELECT count(*) FROM bench_store_models bm WHERE bm.store_id = s.id) AS n_models
FROM stores s
"""
ADVISORS = """
CREATE TEMP TABLE bench_advisors AS
SELECT store_id, id AS advisor_id, row_number() OVER (PARTITION BY store_id ORDER BY id) AS k
FROM users WHERE role = 'advisor' AND is_active AND store_id IS NOT NULL
"""


def new_leads_sql(d: dict) -> str:
    """The CREATE of bench_new_leads: one row per new lead, its times in epoch seconds."""
    key = "CAST(s.customer_id AS text) || '.' || CAST(s.k AS text)"
    joined = d["epoch"].format("u.created_at")
    # Each level's columns computed once: PostgreSQL would otherwise inline the levels into one
    # projection and evaluate the time expressions dozens of times over (OFFSET 0 keeps them).
    fence = d["fence"]
    # A customer: how many new leads (mean :m_milli / 1000, spread 0.25x..1.75x), and whether
    # one is active now (only where none is).
    customers = f"""
SELECT u.id, u.store_id, {_later(joined, ":now - 3650 * 86400")} AS start_s,
       (:m_milli * (2 + 3 * ({_h("CAST(u.id AS text)", "#w")} % 5))
        + 8 * ({_h("CAST(u.id AS text)", "#n")} % 1000)) / 8000 AS n_new,
       CASE WHEN {_h("CAST(u.id AS text)", "#a")} % 1000 < :active_milli
            AND NOT EXISTS (SELECT 1 FROM crm_leads l WHERE l.customer_id = u.id
                            AND l.store_id = u.store_id AND l.state IN ('open', 'lost_pending'))
            THEN 1 ELSE 0 END AS active
FROM users u WHERE u.role = 'owner' AND u.store_id IS NOT NULL {fence}"""  # noqa: S608 (module constants)
    slots = f"""
SELECT :base + row_number() OVER (ORDER BY s.customer_id, s.k) AS id, s.*,
       {_h(key, "#1")} AS h1, {_h(key, "#2")} AS h2, {_h(key, "#3")} AS h3,
       {_h(key, "#4")} AS h4
FROM (SELECT c.id AS customer_id, c.store_id, c.start_s, n.k,
             CASE WHEN n.k = 1 AND c.active = 1 THEN 1 ELSE 0 END AS active
      FROM ({customers}) c CROSS JOIN {d["series"]}
      WHERE n.k <= CASE WHEN c.active = 1 AND c.n_new = 0 THEN 1 ELSE c.n_new END) s"""  # noqa: S608 (module constants)
    kinds = f"""
SELECT x.*, CASE WHEN active = 1 THEN CASE WHEN h1 % 6 = 0 THEN 'lost_pending' ELSE 'open' END
                 ELSE {_pick("h1 % 1000", OUTCOMES)} END AS kind
FROM ({slots}) x {fence}"""  # noqa: S608 (module constants)
    stages = f"""
SELECT y.*, CASE WHEN kind = 'won' THEN 'delivered' ELSE {_by_kind(STAGES, "h2 % 100")} END
            AS stage,
       CASE WHEN kind = 'lost_pending' THEN {_pick("h3 % 100", LOST_REASONS["lost"])}
            WHEN kind IN ('lost', 'invalid') THEN {_by_kind(LOST_REASONS, "h3 % 100")} END
            AS lost_reason
FROM ({kinds}) y {fence}"""  # noqa: S608 (module constants)
    created = f"""CASE
    WHEN kind IN ('open', 'lost_pending') AND stage = 'new' THEN :now - 3600 - h4 % (2 * 86400)
    WHEN kind IN ('open', 'lost_pending') THEN :now - 6 * 3600 - h4 % (60 * 86400)
    ELSE start_s + h4 % {_later(":now - 3 * 86400 - start_s", "1")} END"""
    created = _earlier(_later(created, "start_s"), ":now - 3600")
    timed = f"SELECT z.*, {created} AS created_s FROM ({stages}) z {fence}"  # noqa: S608 (module constants)
    contact = _earlier("created_s + 60 * (3 + (h2 / 1000000) % 237)", ":now - 60")
    contacted = (
        f"SELECT t.*, CASE WHEN stage <> 'new' THEN {contact} END AS fc_s FROM ({timed}) t {fence}"  # noqa: S608 (module constants)
    )
    days = " ".join(
        f"WHEN '{kind}' THEN {low} + (h3 / 1000000) % {span}"
        for kind, (low, span) in CLOSING_DAYS.items()
    )
    closed = _later(
        _earlier(f"created_s + 86400 * (CASE kind {days} END)", ":now - 600"),
        "COALESCE(fc_s, created_s)",
    )
    model = "COALESCE(bm.model, '新车')"
    return f"""
CREATE TEMP TABLE bench_new_leads AS
SELECT v.id, v.customer_id, v.store_id, v.kind, v.stage, v.lost_reason,
       CASE WHEN v.kind = 'invalid' THEN 'lost' ELSE v.kind END AS state,
       {_pick("(v.h1 / 1000) % 100", SOURCES)} AS source,
       {_pick("(v.h1 / 100000) % 100", TIMEFRAMES)} AS timeframe,
       CASE WHEN (v.h2 / 3100) % 10 = 0 THEN NULL
            ELSE (10 + (v.h2 / 100) % 31) * 1000000 END AS budget_fen,
       (v.h4 / 1000) % 10 < 4 AS wants_test_drive,
       a.advisor_id, si.manager_id, {model} AS model, bm.brand_id,
       v.created_s, v.fc_s,
       CASE WHEN v.kind <> 'open' THEN {closed} END AS closed_s
FROM ({contacted}) v
LEFT JOIN bench_store_info si ON si.store_id = v.store_id
LEFT JOIN bench_advisors a ON a.store_id = v.store_id AND a.k = 1 + v.id % NULLIF(si.n_adv, 0)
LEFT JOIN bench_store_models bm ON bm.store_id = v.store_id
     AND bm.k = 1 + (v.h3 / 100) % NULLIF(si.n_models, 0)
"""  # noqa: S608 (module constants)


def inserts(d: dict) -> tuple[tuple[str, str], ...]:
    """The INSERTs of the leads, their events and their tasks (ids after :base, :ebase, :tbase)."""
    stamp = d["stamp"].format
    leads = f"""
INSERT INTO crm_leads (id, customer_id, store_id, customer_store_id, advisor_id, source,
                       utm_source, utm_medium, utm_campaign, model_interest, brand_id,
                       budget_fen, timeframe, grade, wants_test_drive, note, stage, state,
                       lost_reason, lost_note, created_at, first_contact_at, updated_at)
SELECT id, customer_id, store_id, store_id, advisor_id, source, '', '', '', model, brand_id,
       budget_fen, timeframe, {GRADE}, wants_test_drive, '', stage, state, lost_reason, '',
       {stamp("created_s")}, {stamp("fc_s")}, {stamp("COALESCE(closed_s, fc_s, created_s)")}
FROM bench_new_leads
"""  # noqa: S608 (module constants)
    # Three event ids per lead, in the order they happened (the timeline reads them by id).
    events = f"""
INSERT INTO crm_lead_events (id, lead_id, kind, stage, actor_id, note, at)
SELECT :ebase + 3 * (id - :base) - 2, id, 'created', 'new', NULL, '', {stamp("created_s")}
FROM bench_new_leads
UNION ALL
SELECT :ebase + 3 * (id - :base) - 1, id, 'stage', stage, advisor_id, '',
       {stamp("CASE WHEN kind = 'won' THEN closed_s ELSE fc_s END")}
FROM bench_new_leads WHERE stage <> 'new'
UNION ALL
SELECT :ebase + 3 * (id - :base), id,
       CASE WHEN kind = 'lost_pending' THEN 'lost_asked' ELSE 'lost_approved' END, NULL,
       CASE WHEN kind = 'lost_pending' THEN advisor_id ELSE manager_id END, '',
       {stamp("closed_s")}
FROM bench_new_leads WHERE kind IN ('lost', 'invalid', 'lost_pending')
"""  # noqa: S608 (module constants)
    reached = "fc_s IS NOT NULL"
    tasks = f"""
INSERT INTO crm_tasks (id, lead_id, customer_id, store_id, owner_id, kind, priority, status,
                       due_at, done_at, outcome, note, attempts, ask_reason, created_at)
SELECT :tbase + id - :base, id, customer_id, store_id, advisor_id, 'first_contact', 1,
       CASE WHEN {reached} OR kind <> 'open' THEN 'done' ELSE 'open' END,
       {stamp("created_s + 7200")},
       CASE WHEN {reached} THEN {stamp("fc_s")}
            WHEN kind <> 'open' THEN {stamp("closed_s")} END,
       CASE WHEN {reached} THEN 'reached' WHEN kind <> 'open' THEN 'no_answer' END, '',
       CASE WHEN {reached} THEN 1 WHEN kind <> 'open' THEN 3 ELSE 0 END, '',
       {stamp("created_s")}
FROM bench_new_leads
"""  # noqa: S608 (module constants)
    return (("leads", leads), ("lead events", events), ("first-contact tasks", tasks))


def store_models(conn: Connection) -> list[dict]:
    """Each store's new models (its brand read off its name, as bench.group names stores) and
    their brand as the app sets it: the model's brand, else the store's one brand."""
    keys = sorted(
        (
            ((said or "").strip().lower(), brand_id)
            for brand_id, *names in conn.execute(text("SELECT id, code, name, name_en FROM brands"))
            for said in names
            if (said or "").strip()
        ),
        key=lambda pair: (-len(pair[0]), pair[0]),
    )
    only = dict(
        conn.execute(
            text(
                "SELECT store_id, min(brand_id) FROM store_brands GROUP BY store_id "
                "HAVING count(*) = 1"
            )
        ).all()
    )
    rows = []
    for store_id, name in conn.execute(text("SELECT id, name FROM stores ORDER BY id")):
        sold = max((b for b in BRANDS if name.startswith(b)), key=len, default=None)
        models = [f"{b}{series}" for b, series, _wmi in MODELS if b == sold]
        for k, model in enumerate(models, 1):
            named = next((bid for said, bid in keys if model.lower().startswith(said)), None)
            rows.append(
                {"store_id": store_id, "k": k, "model": model, "brand": named or only.get(store_id)}
            )
    return rows


def _hashtext(value: str) -> int:
    """hashtext for SQLite: a signed 32-bit hash of the text (not PostgreSQL's values)."""
    h = zlib.crc32(str(value).encode())
    return h - (1 << 32) if h >= 1 << 31 else h


def add_leads(database_url: str, per_customer: float = 2.0, log=print) -> dict[str, int]:
    """Bring the group's leads to about per_customer each; return the rows each step added."""
    engine = create_engine(engine_url(database_url))
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _functions(dbapi_conn, _record):
            dbapi_conn.create_function("hashtext", 1, _hashtext, deterministic=True)

    started = clock.perf_counter()
    try:
        with engine.begin() as conn:
            counts = _add(
                conn,
                per_customer,
                lambda what: log(f"  {clock.perf_counter() - started:6.1f} s  {what}"),
            )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("crm_leads", "crm_lead_events", "crm_tasks"):
                conn.exec_driver_sql(f"ANALYZE {table}")
        log(f"  {clock.perf_counter() - started:6.1f} s  analysed")
    finally:
        engine.dispose()
    return counts


def _add(conn: Connection, per_customer: float, step) -> dict[str, int]:
    customers = conn.scalar(text("SELECT count(*) FROM users WHERE role = 'owner'"))
    leads, active, base = conn.execute(
        text(
            "SELECT count(*), "
            "coalesce(sum(CASE WHEN state IN ('open', 'lost_pending') THEN 1 ELSE 0 END), 0), "
            "coalesce(max(id), 0) FROM crm_leads"
        )
    ).one()
    if not customers:
        raise SystemExit("this database has no customers: build the group first")
    if leads >= 0.9 * per_customer * customers:
        raise SystemExit(f"this group already has its leads ({leads / customers:.2f} each)")
    if conn.dialect.name == "postgresql":
        # The plan's long CASE expressions would take PostgreSQL's JIT most of a minute to
        # compile (46 s of 47 on the 10k group) for a statement that then runs in under 1 s.
        conn.execute(text("SET LOCAL jit = off"))
    wanted = per_customer * customers
    params = {
        "now": int(now().timestamp()),
        "base": base,
        "m_milli": round(1000 * (wanted - leads) / customers),
        "active_milli": max(
            0, min(1000, round(1000 * (ACTIVE_SHARE * wanted - active) / customers))
        ),
        "kmax": int(1.75 * (wanted - leads) / customers) + 2,
        "ebase": conn.scalar(text("SELECT coalesce(max(id), 0) FROM crm_lead_events")),
        "tbase": conn.scalar(text("SELECT coalesce(max(id), 0) FROM crm_tasks")),
    }
    conn.execute(
        text(
            "CREATE TEMP TABLE bench_store_models (store_id integer, k integer, "
            "model varchar(80), brand_id integer)"
        )
    )
    models = store_models(conn)
    if models:
        conn.execute(
            text("INSERT INTO bench_store_models VALUES (:store_id, :k, :model, :brand)"), models
        )
    for sql in (STORE_INFO, ADVISORS, new_leads_sql(DIALECT[conn.dialect.name])):
        conn.execute(text(sql), params)
    step("new leads planned")
    counts: dict[str, int] = {}
    for what, sql in inserts(DIALECT[conn.dialect.name]):
        counts[what] = conn.execute(text(sql), params).rowcount
        step(f"{counts[what]} {what}")
    fix_sequences(conn, (Lead.__table__, LeadEvent.__table__, Task.__table__))
    for table in ("bench_new_leads", "bench_advisors", "bench_store_info", "bench_store_models"):
        conn.execute(text(f"DROP TABLE {table}"))
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.group_leads", description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument(
        "--per-customer", type=float, default=2.0, help="leads per customer in all (2.0)"
    )
    args = parser.parse_args(argv)
    add_leads(args.database_url, args.per_customer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
