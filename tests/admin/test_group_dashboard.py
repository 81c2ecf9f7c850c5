"""The group's comparison of stores: the figures per store, who compares which stores, the
page with its charts and median, the group roles' accounts and their database rules."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError

from admin import group_stats
from crm import complaints
from crm import leads as crm_leads
from crm.models import WON
from crm.quality_models import DELIVERY, Survey
from portal.extensions import db
from portal.models import User
from portal.timeutil import now
from shop.models import Order
from tests.crm.quality_data import delivered_order
from tests.test_access_matrix import _usedcar_samples

URL = "/admin/group_dashboard/"
TZ = "Asia/Shanghai"


def _period(key: str) -> group_stats.Period:
    return group_stats.period(key, now().astimezone(ZoneInfo(TZ)).date(), TZ)


def _lead(store, phone: str, minutes: float, won: bool = False):
    lead = crm_leads.capture(
        crm_leads.Inquiry(name="客户", phone=phone, store=store, source="phone")
    ).lead
    lead.created_at = now() - timedelta(minutes=30)
    lead.first_contact_at = lead.created_at + timedelta(minutes=minutes)
    if won:
        lead.state = WON
    return lead


def _order(owner, store, total: int, refunded: int = 0, paid_at=None) -> None:
    db.session.add(
        Order(
            number=f"T{owner.id}{total}",
            user_id=owner.id,
            store_id=store.id,
            status="paid",
            stock_state="sold",
            delivery="pickup",
            payment="store",
            total_fen=total,
            refunded_fen=refunded,
            hold_expires_at=now(),
            paid_at=paid_at or now(),
        )
    )


def _world(f):
    """Stores A and B in region South, C outside it; store A has one of every figure."""
    a, b, c = f.store("A"), f.store("B"), f.store("C")
    south = f.region("South", (a, b))
    owner = f.owner(a)
    done, missed, waiting = (f.booking(owner, a, days=d) for d in (1, 2, 3))
    done.status, missed.status = "completed", "no_show"
    old = f.booking(owner, a, days=4)  # made last month: not this month's
    old.created_at = _period("last_month").start + timedelta(days=1)
    f.booking(owner, b)
    _lead(a, "13655550101", 4, won=True)
    _lead(a, "13655550102", 10)
    for booking, nps, csi in ((done, 10, 80), (missed, 3, 60)):
        db.session.add(
            Survey(
                booking_id=booking.id,
                customer_id=owner.id,
                store_id=a.id,
                answered_at=now(),
                nps=nps,
                csi=csi,
            )
        )
    complaints.open_complaint(
        owner, a, source="phone", category="waiting", severity="medium", description="等太久"
    )
    _order(owner, a, 12_345, refunded=345)
    _order(owner, b, 50_000, paid_at=_period("last_month").start + timedelta(hours=1))
    db.session.commit()
    _usedcar_samples(db, owner, f.advisor(a))  # approved (vetted) and listed in store A
    return a, b, c, south


def test_figures_per_store_for_the_period(f):
    a, b, c, _south = _world(f)
    # Store C's only survey is a delivery's (sales satisfaction): not in the after-sales CSI.
    delivered = delivered_order(c, f.advisor(c), phone="13655550199")
    survey = Survey(kind=DELIVERY, sales_order_id=delivered.id, customer_id=delivered.customer_id,
                    store_id=c.id, answered_at=now(), nps=0, csi=0)  # fmt: skip
    db.session.add(survey)
    db.session.commit()
    month = _period("month")
    rows = {r.name: r for r in group_stats.figures(f.hq(), month.start, month.end)}
    assert set(rows) == {"A", "B", "C"}
    fa = rows["A"]
    assert (fa.bookings, fa.came, fa.no_show, fa.show_rate) == (3, 1, 1, 0.5)
    assert fa.contact_minutes == pytest.approx(7, abs=0.01)  # median of 4 and 10 minutes
    assert (fa.leads, fa.won, fa.conversion) == (2, 1, 0.5)
    assert (fa.surveys, fa.nps, fa.csi) == (2, 0.0, 70.0)  # one promoter, one detractor
    assert (fa.complaints, fa.sales_fen, fa.vetted) == (1, 12_000, 1)
    assert (rows["C"].surveys, rows["C"].nps, rows["C"].csi) == (0, None, None)
    fb = rows["B"]
    assert (fb.bookings, fb.show_rate, fb.contact_minutes, fb.sales_fen) == (1, None, None, 0)
    last = _period("last_month")
    before = {r.name: r for r in group_stats.figures(f.hq(), last.start, last.end)}
    assert (before["A"].bookings, before["B"].sales_fen) == (1, 50_000)


def test_each_role_compares_its_own_stores(f):
    a, _b, _c, south = _world(f)
    month = _period("month")

    def names(user):
        return [r.name for r in group_stats.figures(user, month.start, month.end)]

    assert names(f.hq()) == names(f.admin()) == ["A", "B", "C"]
    assert names(f.regional(south)) == ["A", "B"]
    assert names(f.regional(f.region("Empty"))) == []
    assert names(f.manager(a)) == names(f.advisor(a)) == names(f.owner(a)) == []
    lapsed = f.hq(is_active=False)
    assert names(lapsed) == []


def test_the_period_names(f):
    today = date(2026, 3, 15)
    month = group_stats.period("month", today, TZ)
    assert (month.first, month.last) == (date(2026, 3, 1), today)
    last = group_stats.period("last_month", today, TZ)
    assert (last.first, last.last) == (date(2026, 2, 1), date(2026, 2, 28))
    ninety = group_stats.period("90d", today, TZ)
    assert (ninety.first, ninety.last) == (today - timedelta(days=89), today)
    assert month.start.isoformat() == "2026-02-28T16:00:00+00:00"  # midnight in Shanghai


@pytest.fixture
def every_figure(app, monkeypatch):
    """Show figures of any size: these tests read a one-order store's sales on the page."""
    monkeypatch.setitem(app.config, "GROUP_MIN_CELL", 1)


def test_headquarters_see_every_store_with_charts_and_median(f, client, auth, every_figure):
    _world(f)
    auth.login(f.hq())
    html = client.get(URL).get_data(as_text=True)
    for name in ("A", "B", "C"):
        assert f">{name}</th>" in html
    assert "¥120.00" in html  # store A's shop sales net of the refund
    assert html.count("<svg") == 9  # one chart per figure
    assert html.count('class="m4s-reference"') >= 8  # the median line where there is one
    assert 'id="group-median"' in html
    assert "<script>" not in html.replace("<script src", "")


def test_a_period_is_chosen_and_a_wrong_one_is_said(f, client, auth, every_figure):
    _world(f)
    auth.login(f.hq())
    last = client.get(URL + "?period=last_month").get_data(as_text=True)
    assert "¥500.00" in last and "¥120.00" not in last
    wrong = client.get(URL + "?period=forever")
    assert wrong.status_code == 200
    text = wrong.get_data(as_text=True)
    assert "Unknown period; showing this month." in text and "¥120.00" in text


def test_a_regional_manager_sees_their_region_and_nothing_else(f, client, auth):
    a, _b, _c, south = _world(f)
    signed_in = auth.login(f.regional(south))
    assert signed_in.location == "/admin/"  # not the store's Today page: they have no store
    html = client.get(URL).get_data(as_text=True)
    assert ">A</th>" in html and ">B</th>" in html and ">C</th>" not in html
    home = client.get("/admin/")
    assert home.status_code == 302 and home.location.endswith(URL)
    for page in ("/admin/owners/", "/admin/queue/", "/admin/leads/", "/admin/shop_sales/"):
        assert client.get(page).status_code == 403, page


def test_store_staff_do_not_compare_stores(f, client, auth):
    a, *_ = _world(f)
    auth.login(f.manager(a))
    assert client.get(URL).status_code == 403


def test_the_page_issues_the_same_statements_for_more_stores(f, client, auth, app):
    _world(f)
    auth.login(f.hq())

    def statements() -> int:
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get(URL).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    few = statements()
    for i in range(4):
        store = f.store(f"D{i}")
        f.booking(f.owner(store), store)
    assert statements() == few <= 20


def test_the_database_keeps_the_group_roles_storeless_and_regions_regional(f):
    region = f.region()
    for bad in (
        {"role": "region"},  # a regional manager without a region
        {"role": "hq", "region_id": region.id},  # a region for someone else
        {"role": "hq", "store_id": f.store().id},  # the group's roles have no store
    ):
        db.session.add(User(name="x", phone="13711112222", password_hash="x", **bad))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_an_admin_creates_headquarters_and_regional_accounts(f, client, auth):
    region = f.region("East")
    auth.login(f.admin())
    form = client.get("/admin/staff/new/").get_data(as_text=True)
    assert "Regional manager" in form and "East" in form
    base = {"name": "区域经理", "store": "0", "phone": "", "department": ""}
    refused = client.post(
        "/admin/staff/new/", data=base | {"role": "region", "region": "0", "email": "r@x.cn"}
    )
    assert refused.status_code == 200
    assert "A regional manager needs a region." in refused.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "r@x.cn")) is None
    for role, email, region_id in (("region", "r@x.cn", region.id), ("hq", "h@x.cn", 0)):
        data = base | {"role": role, "region": str(region_id), "email": email}
        assert client.post("/admin/staff/new/", data=data).status_code == 302
    made = {u.role: u for u in db.session.scalars(select(User).where(User.email.like("%@x.cn")))}
    assert made["region"].region_id == region.id and made["region"].store_id is None
    assert made["hq"].region_id is None and made["hq"].store_id is None


def test_a_manager_cannot_create_group_roles(f, client, auth):
    store = f.store()
    auth.login(f.manager(store))
    form = client.get("/admin/staff/new/").get_data(as_text=True)
    assert "Regional manager" not in form
    data = {"name": "x", "role": "hq", "store": str(store.id), "email": "m@x.cn"}
    client.post("/admin/staff/new/", data=data)
    assert db.session.scalar(select(User).where(User.email == "m@x.cn")) is None


def test_the_demo_has_headquarters_and_a_regional_manager(app, db):
    from portal.demo import DEMO_LOGINS, load_demo
    from portal.models.accounts import HQ, REGION

    load_demo(owners=6)
    db.session.commit()
    hq = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[HQ]))
    regional = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[REGION]))
    assert hq.role == HQ and regional.role == REGION and regional.region is not None
    assert len(regional.region.stores) >= 2


def test_a_chart_of_many_stores_shows_the_highest_and_lowest_ten_and_the_table_all(
    f, client, auth, every_figure
):
    from admin.group import CHART_ENDS, chart_rows

    values = [(f"S{i:02d}", float(i)) for i in range(25)] + [("none", None)]
    rows, known = chart_rows(values)
    assert known == 25 and len(rows) == 2 * CHART_ENDS
    assert [v for _n, v in rows] == [*range(24, 14, -1), *range(9, -1, -1)]
    few = values[:12]
    assert chart_rows(few) == (few, 12)  # a small group: every store, in the table's order

    stores = [f.store(f"店{i:02d}") for i in range(25)]
    owner = f.owner(stores[3])
    f.booking(owner, stores[3], vehicle=f.vehicle(owner))
    auth.login(f.hq())
    html = client.get(URL).get_data(as_text=True)
    assert all(f">店{i:02d}</th>" in html for i in range(25))  # the table lists every store
    bookings = html.split('id="measure-bookings"')[1].split("</section>")[0]
    assert "the highest and lowest 10 of 25 stores" in bookings
    assert bookings.count("店03") >= 1 and bookings.count("<g><title>") == 20
