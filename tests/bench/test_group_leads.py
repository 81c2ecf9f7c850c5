"""bench.group_leads on the tiny group: about 2 leads a customer, at most one active lead per
customer and store, every lead with its events and its first-contact task, once only, and the
app still captures leads afterwards.

On PostgreSQL (M4S_TEST_DATABASE_URL) the dataset goes into a database of its own beside the
test database (<name>_group_leads); on SQLite into a temporary file.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, func, select, text

from bench.database import bench_app
from bench.generate import generate_group
from bench.group import SCALES
from bench.group_leads import add_leads
from crm import leads as lead_svc
from crm.models import ACTIVE_STATES, Lead
from portal.extensions import db
from portal.models import Store, User
from portal.timeutil import set_clock
from tests.bench.group_db import GENERATOR_WARNINGS, dataset_url

WHEN = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
CUSTOMERS = SCALES["tiny"]

pytestmark = GENERATOR_WARNINGS


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    url = dataset_url(tmp_path_factory.mktemp("group"), "group_leads")
    set_clock(lambda: WHEN)
    try:
        generate_group(url, "tiny", seed=3, reset=True)
        engine = create_engine(url)
        with engine.connect() as conn:
            before = conn.execute(
                text("SELECT count(*) AS leads, max(id) AS last FROM crm_leads")
            ).one()
        counts = add_leads(url, log=lambda _line: None)
    finally:
        set_clock(None)
    with engine.connect() as conn:
        yield url, conn, before, counts
    engine.dispose()


def scalar(conn, sql: str, params: dict | None = None):
    return conn.scalar(text(sql), params)


def test_about_two_leads_a_customer_mostly_closed(grown):
    _url, conn, before, counts = grown
    total = scalar(conn, "SELECT count(*) FROM crm_leads")
    assert before.leads < 0.2 * CUSTOMERS  # the generator's few
    assert counts["leads"] == total - before.leads
    assert 1.8 < total / CUSTOMERS < 2.2
    states = dict(conn.execute(text("SELECT state, count(*) FROM crm_leads GROUP BY state")).all())
    assert 0.15 < states["won"] / total < 0.35
    assert 0.55 < states["lost"] / total < 0.85
    assert 0.01 < (states["open"] + states.get("lost_pending", 0)) / total < 0.07
    sources = scalar(conn, "SELECT count(DISTINCT source) FROM crm_leads")
    assert sources >= 8
    unreasoned = scalar(
        conn, "SELECT count(*) FROM crm_leads WHERE state = 'lost' AND lost_reason IS NULL"
    )
    assert unreasoned == 0
    spread = conn.execute(
        text("SELECT min(created_at), max(created_at) FROM crm_leads WHERE state = 'won'")
    ).one()
    first, last = (datetime.fromisoformat(str(t)[:19]) for t in spread)
    assert (last - first).days > 5 * 365  # over the customers' history, not one month


def test_at_most_one_active_lead_per_customer_and_store(grown):
    _url, conn, _before, _counts = grown
    pairs = (
        select(Lead.customer_id, Lead.store_id)
        .where(Lead.state.in_(ACTIVE_STATES))
        .group_by(Lead.customer_id, Lead.store_id)
        .having(func.count() > 1)
        .subquery()
    )
    twice = conn.scalar(select(func.count()).select_from(pairs))
    assert twice == 0


def test_every_lead_has_its_events_and_its_first_contact_task(grown):
    _url, conn, before, _counts = grown
    last = {"last": before.last}  # the generator's own leads are its business
    without_event = scalar(
        conn,
        "SELECT count(*) FROM crm_leads l WHERE NOT EXISTS (SELECT 1 FROM crm_lead_events e "
        "WHERE e.lead_id = l.id AND e.kind = 'created')",
    )
    without_task = scalar(
        conn,
        "SELECT count(*) FROM crm_leads l WHERE NOT EXISTS (SELECT 1 FROM crm_tasks t "
        "WHERE t.lead_id = l.id AND t.kind = 'first_contact')",
    )
    assert without_event == without_task == 0
    # A live task only on an open lead; a closed lead's task is done, when it closed or before.
    live_elsewhere = scalar(
        conn,
        "SELECT count(*) FROM crm_tasks t JOIN crm_leads l ON l.id = t.lead_id "
        "WHERE t.status IN ('open', 'awaiting') AND l.state <> 'open' AND l.id > :last",
        last,
    )
    assert live_elsewhere == 0
    assert scalar(conn, "SELECT count(*) FROM crm_tasks WHERE status = 'open'") > 0
    late = scalar(
        conn,
        "SELECT count(*) FROM crm_tasks t JOIN crm_leads l ON l.id = t.lead_id "
        "WHERE (t.done_at > l.updated_at OR l.first_contact_at < l.created_at) AND l.id > :last",
        last,
    )
    assert late == 0
    # The steps read in the order they happened, by id.
    unordered = scalar(
        conn,
        "SELECT count(*) FROM crm_lead_events a JOIN crm_lead_events b "
        "ON b.lead_id = a.lead_id AND b.id > a.id WHERE b.at < a.at",
    )
    assert unordered == 0
    closed = scalar(
        conn,
        "SELECT count(*) FROM crm_leads l WHERE l.state = 'lost' AND l.id > :last AND NOT EXISTS "
        "(SELECT 1 FROM crm_lead_events e WHERE e.lead_id = l.id AND e.kind = 'lost_approved')",
        last,
    )
    assert closed == 0


def test_running_again_refuses_and_adds_nothing(grown):
    url, conn, _before, _counts = grown
    total = scalar(conn, "SELECT count(*) FROM crm_leads")
    with pytest.raises(SystemExit, match="already has its leads"):
        add_leads(url, log=lambda _line: None)
    assert scalar(conn, "SELECT count(*) FROM crm_leads") == total


def test_the_app_captures_a_new_lead_afterwards(grown):
    url, conn, _before, _counts = grown
    last = scalar(conn, "SELECT max(id) FROM crm_leads")
    app = bench_app(url)
    with app.app_context():
        store = db.session.get(Store, 1)
        got = lead_svc.capture(
            lead_svc.Inquiry(name="新客户", phone="13912345678", store=store, source="walk_in")
        )
        db.session.commit()
        assert got.created and got.lead.id > last
        assert [t.kind for t in db.session.get(Lead, got.lead.id).tasks] == ["first_contact"]
        # A customer with an active lead at the store asks again: the same lead, none added.
        active = db.session.scalars(
            db.select(Lead).where(Lead.state == "open", Lead.id <= last).order_by(Lead.id)
        ).first()
        customer = db.session.get(User, active.customer_id)
        again = lead_svc.capture(
            lead_svc.Inquiry(
                name=customer.name,
                phone=customer.phone,
                store=active.store,
                source="phone",
            )
        )
        db.session.commit()
        assert not again.created and again.lead.id == active.id
        db.session.remove()
        db.engine.dispose()
