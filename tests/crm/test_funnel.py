"""The sales funnel page's figures on constructed leads with known answers."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crm import board, stats
from crm import funnel as svc
from crm.models import Lead
from crm.pipeline_models import Quote, SalesOrder
from portal.extensions import db
from portal.models import User
from portal.timeutil import set_clock

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 15, 4, 0, tzinfo=UTC)  # 12:00 on 15 December in Shanghai
_n = itertools.count(1)


def _customer() -> User:
    n = next(_n)
    u = User(role="owner", name=f"客户 {n}", phone=f"139{n:08d}", password_hash="x")
    db.session.add(u)
    db.session.flush()
    return u


def _lead(store, advisor=None, *, source="portal", model="", stage="new", state="open", **kw):
    minutes = kw.pop("contact_after", None)
    created = kw.pop("created", NOW - timedelta(days=2))
    lead = Lead(
        customer_id=_customer().id,
        store_id=store.id,
        advisor_id=advisor.id if advisor else None,
        source=source,
        model_interest=model,
        stage=stage,
        state=state,
        created_at=created,
        first_contact_at=created + timedelta(minutes=minutes) if minutes is not None else None,
        **kw,
    )
    db.session.add(lead)
    db.session.flush()
    return lead


def _order(store, advisor, *, signed, due=None, delivered=None):
    lead = _lead(store, advisor, stage="delivered" if delivered else "order")
    quote = Quote(
        lead_id=lead.id,
        store_id=store.id,
        version=1,
        author_id=advisor.id,
        brand="丰田",
        series="凯美瑞",
        status="accepted",
        valid_until=date(2027, 1, 31),
    )
    db.session.add(quote)
    db.session.flush()
    db.session.add(
        SalesOrder(
            number=f"SO{next(_n)}",
            lead_id=lead.id,
            quote_id=quote.id,
            store_id=store.id,
            customer_id=lead.customer_id,
            advisor_id=advisor.id,
            stage="delivered" if delivered else "ordered",
            total_fen=200_000_00,
            deposit_fen=5_000_00,
            delivery_date=due,
            signed_at=signed,
            delivered_at=delivered,
        )
    )
    db.session.flush()


@pytest.fixture
def two_stores(f):
    set_clock(lambda: NOW)
    here, there = f.store(), f.store()
    wang, li = f.advisor(here, name="王伟"), f.advisor(here, name="李娜")
    return here, there, wang, li, f.manager(here), f.advisor(there)


def _funnel(viewer, by, key="30d"):
    rows = svc.funnel_by(viewer, board.period(key, SHANGHAI), by)
    return {r.key: [r.reached[s] for s in board.FUNNEL] for r in rows}, rows


def test_the_funnel_counts_each_source_advisor_and_model_up_to_the_stage_reached(f, two_stores):
    here, there, wang, li, manager, stranger = two_stores
    _lead(here, wang, source="portal", model="凯美瑞", stage="delivered", state="won")
    _lead(here, wang, source="portal", model="凯美瑞", stage="quote", state="lost")
    _lead(here, li, source="phone", model="RAV4", stage="contacted")
    _lead(here, None, source="phone", model="", stage="new")
    _lead(here, li, source="walk_in", model="凯美瑞 ", stage="order")
    _lead(here, wang, stage="order", created=NOW - timedelta(days=40))  # before the period
    _lead(there, stranger, source="portal", model="凯美瑞", stage="order")  # another store
    db.session.commit()

    #            leads contacted drive quote order delivered
    by_source, rows = _funnel(manager, svc.SOURCE)
    assert by_source == {
        "portal": [2, 2, 2, 2, 1, 1],
        "phone": [2, 1, 0, 0, 0, 0],
        "walk_in": [1, 1, 1, 1, 1, 0],
    }
    assert [(r.key, r.conversion) for r in rows] == [  # most leads first, then by name
        ("phone", 0.0),
        ("portal", 50.0),
        ("walk_in", 100.0),
    ]
    assert _funnel(manager, svc.ADVISOR)[0] == {
        "王伟": [2, 2, 2, 2, 1, 1],
        "李娜": [2, 2, 1, 1, 1, 0],
        "": [1, 0, 0, 0, 0, 0],
    }
    namesake = f.advisor(here, name="王伟")  # the same name, another person: another row
    _lead(here, namesake, source="phone", stage="contacted")
    db.session.commit()
    advisors = _funnel(manager, svc.ADVISOR)[1]
    assert sorted((r.key, r.leads) for r in advisors if r.key == "王伟") == [
        ("王伟", 1),
        ("王伟", 2),
    ]
    assert _funnel(manager, svc.MODEL)[0] == {
        "凯美瑞": [3, 3, 3, 3, 2, 1],
        "RAV4": [1, 1, 0, 0, 0, 0],
        "": [2, 1, 0, 0, 0, 0],
    }
    assert _funnel(manager, svc.SOURCE)[0]["phone"] == [3, 2, 0, 0, 0, 0]
    assert _funnel(manager, svc.SOURCE, "90d")[0]["portal"] == [3, 3, 3, 3, 2, 1]
    assert _funnel(stranger, svc.SOURCE)[0] == {"portal": [1, 1, 1, 1, 1, 0]}


def test_models_beyond_the_first_eleven_are_added_up_in_one_row(two_stores):
    here, _there, wang, _li, manager, _stranger = two_stores
    for n in range(14):  # model 0 has 14 leads, model 13 one
        for _ in range(14 - n):
            _lead(here, wang, model=f"车型 {n:02d}", stage="order" if n == 13 else "new")
    db.session.commit()
    by_model, rows = _funnel(manager, svc.MODEL)
    assert [r.key for r in rows] == [f"车型 {n:02d}" for n in range(11)] + ["…"]
    assert by_model["…"] == [3 + 2 + 1, 1, 1, 1, 1, 0]


def test_time_to_first_contact_per_advisor_and_source_against_the_store_target(two_stores):
    here, there, wang, li, manager, stranger = two_stores
    here.first_contact_minutes = 4
    for source, after in (("portal", 1), ("portal", 3), ("phone", 10)):
        _lead(here, wang, source=source, contact_after=after)
    for source, after in (("phone", 2), ("phone", 20), ("portal", None)):
        _lead(here, li, source=source, contact_after=after)
    _lead(there, stranger, source="portal", contact_after=500)
    _lead(here, wang, source="portal", contact_after=900, created=NOW - timedelta(days=40))
    db.session.commit()

    span = board.period("30d", SHANGHAI)
    report = stats.speed_report(manager, span.start_utc, span.end_utc)
    assert report.target_min == 4

    def table(rows):
        return {r.advisor: (r.leads, r.contacted, r.median_min, r.p90_min, r.on_time) for r in rows}

    assert table(report.by_advisor) == {
        "王伟": (3, 3, pytest.approx(3), pytest.approx(10), 2),
        "李娜": (3, 2, pytest.approx(2), pytest.approx(20), 1),
    }
    assert table(report.by_source) == {
        "portal": (3, 2, pytest.approx(1), pytest.approx(3), 2),
        "phone": (3, 3, pytest.approx(10), pytest.approx(20), 1),
    }
    theirs = stats.speed_report(stranger, span.start_utc, span.end_utc)
    assert theirs.target_min == 5 and table(theirs.by_source) == {
        "portal": (1, 1, pytest.approx(500), pytest.approx(500), 0)
    }


def test_the_order_chance_follows_the_documented_table():
    assert svc.order_chance("quote", "H") == pytest.approx(0.6)
    assert svc.order_chance("test_drive", "A") == pytest.approx(0.3)
    assert svc.order_chance("new", "C") == pytest.approx(0.03)
    assert svc.order_chance("order", "H") == 0  # already an order: counted as a delivery


def test_the_forecast_weighs_open_leads_and_dates_signed_orders(two_stores):
    here, there, wang, li, manager, stranger = two_stores
    _lead(here, wang, stage="quote", grade="H")  # 0.6 this month
    _lead(here, wang, stage="test_drive", grade="A")  # 0.3 this month
    _lead(here, li, stage="quote", grade="B")  # 0.2 this month, 0.2 next
    _lead(here, li, stage="contacted", grade="C")  # 0.06 / 3 = 0.02 next month
    _lead(here, li, stage="new", grade="H")  # 0.075 this month
    _lead(here, li, stage="quote", grade="H", state="lost")  # lost: nothing
    _lead(there, stranger, stage="quote", grade="H")  # another store: nothing
    local = datetime(2026, 12, 1, tzinfo=SHANGHAI).astimezone(UTC)  # the month's first instant
    _order(here, wang, signed=NOW - timedelta(days=12), due=date(2026, 12, 20))
    _order(here, wang, signed=local + timedelta(hours=1), due=date(2026, 12, 10))  # overdue
    _order(here, li, signed=local - timedelta(hours=1), due=date(2027, 1, 8))  # 30 Nov
    _order(here, li, signed=NOW - timedelta(days=1))  # no delivery date yet
    _order(here, li, signed=local - timedelta(days=40), due=date(2027, 2, 10))
    _order(
        here,
        wang,
        signed=local - timedelta(days=20),
        due=date(2026, 12, 2),
        delivered=local + timedelta(days=1),
    )
    _order(there, stranger, signed=NOW, due=date(2026, 12, 20))
    db.session.commit()

    outlook = svc.forecast(manager, board.period("this_month", SHANGHAI))
    assert (outlook.this_month, outlook.next_month) == (date(2026, 12, 1), date(2027, 1, 1))
    assert outlook.expected_orders == (pytest.approx(1.175), pytest.approx(0.22))
    assert outlook.expected_deliveries == (2, 1)
    assert outlook.undated_orders == 1
    assert (outlook.actual_orders, outlook.actual_deliveries) == (3, 1)
    theirs = svc.forecast(stranger, board.period("this_month", SHANGHAI))
    assert theirs.expected_orders == (pytest.approx(0.6), 0)
    assert (theirs.expected_deliveries, theirs.actual_orders) == ((1, 0), 1)


def test_the_page_draws_charts_with_numbers_and_refuses_an_unknown_period(client, auth, two_stores):
    here, there, wang, li, manager, stranger = two_stores
    _lead(here, wang, source="portal", model="凯美瑞", stage="quote", grade="H", contact_after=2)
    db.session.commit()
    auth.login(manager)
    page = client.get("/admin/sales_funnel/?period=90d")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    for chart in ("conversion-source", "conversion-advisor", "conversion-model", "speed-source"):
        assert f'id="{chart}"' in body
    assert 'id="forecast-table"' in body and "凯美瑞" in body and "王伟" in body
    assert 'id="funnel-error"' not in body
    bad = client.get("/admin/sales_funnel/?period=1900-13")
    text = bad.get_data(as_text=True)
    assert bad.status_code == 200 and 'id="funnel-error"' in text
    assert 'value="30d" selected' in text
    chinese = client.get("/admin/sales_funnel/", headers={"Accept-Language": "zh-CN"})
    words = chinese.get_data(as_text=True)
    assert "销售漏斗" in words and "报价 40 %）" in words and "H ×1.5" in words


def test_those_who_see_every_store_read_one_stores_funnel_at_a_time(f, client, auth, two_stores):
    here, there, wang, li, manager, stranger = two_stores
    _lead(here, wang, source="portal", model="凯美瑞", stage="quote", contact_after=2)
    _lead(there, stranger, source="phone", model="汉兰达", stage="new", contact_after=9)
    db.session.commit()
    auth.login(f.admin())
    first = min((here, there), key=lambda s: (s.name, s.id))
    body = client.get("/admin/sales_funnel/?period=90d").get_data(as_text=True)
    assert f'<option value="{first.id}" selected>' in body
    mine = client.get(f"/admin/sales_funnel/?period=90d&store={here.id}").get_data(as_text=True)
    assert "凯美瑞" in mine and "汉兰达" not in mine and "王伟" in mine
    theirs = client.get(f"/admin/sales_funnel/?period=90d&store={there.id}").get_data(as_text=True)
    assert "汉兰达" in theirs and "凯美瑞" not in theirs
    assert client.get("/admin/sales_funnel/?store=x").status_code == 200
