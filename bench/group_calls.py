"""The call centre of the group dataset (issue 18): agents, three years of task history, each
person's open day, invitations and caller IDs, added to a built group in a few statements.

    python -m bench.group_calls --database-url postgresql+psycopg://.../bench_group_100k

Runs on a dataset from `python -m bench.generate --group` (PostgreSQL), once: it stops if the
group already has agents. Everything is INSERT ... SELECT on the server, derived from the rows
the group already holds, so it takes seconds where a Python loop over the customers would take
minutes, and the same group always gets the same call centre:

- per store, call-centre agents (a third of its advisors, at least 2; login agent_login());
- the post-service call of every job finished since go-live (3 years) up to 10 days ago, done
  by an agent (so the nightly job's window meets causes it has already made), and the done
  follow-ups of every open lead;
- per agent and advisor an open day: 3 left from yesterday (flagged overdue), 18 due today,
  6 later this week, some with failed tries (callbacks);
- showroom invitations for today, and a year of caller IDs per agent.
"""

from __future__ import annotations

import argparse
import sys
import time as clock

from sqlalchemy import create_engine, text

from bench.database import engine_url

# 136 + the store's index (0-based, as manager_login) + the agent's number.
AGENTS = """
INSERT INTO users (role, name, phone, password_hash, store_id, is_active, failed_logins,
                   password_changed_at, must_change_password, session_version, created_at,
                   remind_inapp, remind_email)
SELECT 'agent', '坐席' || s.id || '-' || k, '136' || lpad((s.id - 1)::text, 4, '0')
       || lpad(k::text, 4, '0'), m.password_hash, s.id, true, 0, :now, false, 1, :now, true, true
FROM stores s
JOIN users m ON m.store_id = s.id AND m.role = 'manager'
CROSS JOIN LATERAL generate_series(
    1, greatest(2, (SELECT count(*) FROM users a WHERE a.store_id = s.id
                    AND a.role = 'advisor') / 3)::int) AS k
"""
AGENT_ARRAYS = """
CREATE TEMP TABLE bench_agents AS
SELECT store_id, array_agg(id ORDER BY id) AS ids FROM users WHERE role = 'agent'
GROUP BY store_id
"""
POST_SERVICE_DONE = """
INSERT INTO crm_tasks (customer_id, store_id, owner_id, kind, priority, status, due_at, done_at,
                       outcome, note, attempts, rule, cause, ask_reason, created_at)
SELECT v.owner_id, r.store_id, a.ids[1 + r.id % cardinality(a.ids)], 'post_service', 2, 'done',
       r.completed_at + interval '3 days',
       r.completed_at + interval '3 days' + (r.id % 480) * interval '1 minute',
       CASE WHEN r.id % 9 = 0 THEN 'no_answer' ELSE 'reached' END, '', (r.id % 3)::int,
       'post_service', 'record:' || r.id, '', r.completed_at + interval '3 days'
FROM service_records r
JOIN vehicles v ON v.id = r.vehicle_id
JOIN bench_agents a ON a.store_id = r.store_id
WHERE r.completed_at >= :now - interval '3 years' AND r.completed_at < :now - interval '10 days'
"""
FOLLOW_UPS_DONE = """
INSERT INTO crm_tasks (lead_id, customer_id, store_id, owner_id, kind, priority, status, due_at,
                       done_at, outcome, note, attempts, rule, cause, ask_reason, created_at)
SELECT l.id, l.customer_id, l.store_id, l.advisor_id, 'follow_up', 2, 'done', d.at, d.at,
       'reached', '', 0, 'follow_up_' || l.grade,
       'lead:' || l.id || ':' || to_char(d.at, 'YYYYMMDD"T"HH24MISS'), '', d.at
FROM crm_leads l
CROSS JOIN LATERAL (
    SELECT l.first_contact_at + n * interval '4 days' AS at FROM generate_series(1, 4) n
) d
WHERE l.state = 'open' AND l.first_contact_at IS NOT NULL AND d.at < :now - interval '1 day'
"""
# Each agent and advisor: n = 1..27; 1-3 overdue from yesterday, 4-21 today, 22-27 later.
OPEN_DAY = """
WITH people AS (
    SELECT u.id, u.role, u.store_id FROM users u WHERE u.role IN ('agent', 'advisor')
), customers AS (
    SELECT store_id, array_agg(id ORDER BY id) AS ids FROM users WHERE role = 'owner'
    GROUP BY store_id
)
INSERT INTO crm_tasks (customer_id, store_id, owner_id, kind, priority, status, due_at,
                       overdue_at, note, attempts, ask_reason, created_at)
SELECT c.ids[1 + (p.id::bigint * 7919 + n * 104729) % cardinality(c.ids)], p.store_id, p.id,
       CASE WHEN p.role = 'agent'
            THEN (ARRAY['post_service', 'renewal', 'maintenance_due', 'no_show',
                        'appointment_confirm', 'complaint_callback'])[1 + n % 6]
            ELSE (ARRAY['follow_up', 'trade_in', 'appointment_confirm'])[1 + n % 3] END,
       1 + n % 3, 'open',
       CASE WHEN n <= 3 THEN :day_start - interval '5 hours'
            WHEN n <= 21 THEN :day_start + interval '9 hours' + (n - 4) * interval '30 minutes'
            ELSE :day_start + (n - 20) * interval '1 day' END,
       CASE WHEN n <= 3 THEN :day_start - interval '2 hours' END,
       '', (n % 4 = 0)::int, '', :now - interval '1 day'
FROM people p JOIN customers c ON c.store_id = p.store_id
CROSS JOIN generate_series(1, 27) n
"""
INVITATIONS = """
INSERT INTO crm_invitations (lead_id, customer_id, store_id, agent_id, advisor_id, kind,
                             starts_at, status, note, created_at)
SELECT l.id, l.customer_id, l.store_id, a.ids[1 + l.id % cardinality(a.ids)], l.advisor_id,
       CASE WHEN l.id % 3 = 0 THEN 'test_drive' ELSE 'visit' END,
       :day_start + interval '10 hours' + (l.id % 16) * interval '30 minutes', 'invited', '',
       :now - interval '1 day'
FROM crm_leads l JOIN bench_agents a ON a.store_id = l.store_id
WHERE l.state = 'open' AND l.id % 4 = 0
"""
POPS = """
INSERT INTO crm_screen_pops (agent_id, phone, at)
SELECT u.id, o.phone, :now - (n * interval '17 hours')
FROM users u
CROSS JOIN generate_series(1, 500) n
JOIN users o ON o.id = (SELECT min(id) FROM users WHERE role = 'owner')
                        + (u.id::bigint * 31 + n * 977)
                        % (SELECT count(*) FROM users WHERE role = 'owner')
WHERE u.role = 'agent' AND o.phone IS NOT NULL
"""
STEPS = (
    ("agents", AGENTS),
    ("", AGENT_ARRAYS),
    ("post-service calls done", POST_SERVICE_DONE),
    ("follow-ups done", FOLLOW_UPS_DONE),
    ("open tasks", OPEN_DAY),
    ("invitations today", INVITATIONS),
    ("caller IDs", POPS),
)


def agent_login(store_index: int, k: int) -> str:
    """Return the mobile number of the k-th agent (1-based) of the i-th store (0-based)."""
    return f"136{store_index:04d}{k:04d}"


def add_call_centre(database_url: str, log=print) -> dict[str, int]:
    """Add the call centre to a built group; return the rows each step inserted."""
    engine = create_engine(engine_url(database_url))
    counts: dict[str, int] = {}
    started = clock.perf_counter()
    with engine.begin() as conn:
        if conn.scalar(text("SELECT count(*) FROM users WHERE role = 'agent'")):
            raise SystemExit("this group already has its call centre")
        at = conn.scalar(text("SELECT now()"))
        # Today in Shanghai (the group's zone but for 3 stores), as a UTC instant.
        day_start = conn.scalar(
            text(
                "SELECT date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai') "
                "AT TIME ZONE 'Asia/Shanghai'"
            )
        )
        params = {"now": at, "day_start": day_start}
        for what, sql in STEPS:
            n = conn.execute(text(sql), params).rowcount
            if what:
                counts[what] = n
                log(f"  {clock.perf_counter() - started:6.1f} s  {n} {what}")
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "ANALYZE users, crm_tasks, crm_invitations, crm_screen_pops"
        )
    engine.dispose()
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.group_calls", description=__doc__)
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args(argv)
    add_call_centre(args.database_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
