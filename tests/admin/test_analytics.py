"""The analytics page through the client: charts as inline SVG, store scoping, filters."""

from __future__ import annotations

import re
from datetime import timedelta

from portal.extensions import db
from portal.models import ServiceItem, ServiceRecord
from portal.timeutil import now

URL = "/admin/booking_analytics/"


def _repair(store, vehicle, fault, days_ago, part="刹车片"):
    db.session.add(
        ServiceRecord(
            vehicle_id=vehicle.id,
            store_id=store.id,
            mileage_km=20000,
            fault_category=fault,
            technician_note="复查",
            total_fen=45000,
            completed_at=now() - timedelta(days=days_ago),
            items=[ServiceItem(kind="part", description=part, quantity=1, unit_price_fen=45000)],
        )
    )
    db.session.commit()


def _world(f):
    a, b = f.store("A"), f.store("B")
    owner = f.owner(a)
    car = f.vehicle(owner, brand="丰田", series="凯美瑞")
    _repair(a, car, "brakes", 20)
    _repair(a, car, "brakes", 10)  # back within 30 days: a repeat
    _repair(b, car, "engine", 5, part="B店专用件")
    return a, b


def test_manager_sees_charts_of_own_store_only(f, client, auth):
    a, b = _world(f)
    auth.login(f.manager(a))
    html = client.get(URL + f"?store={b.id}").get_data(as_text=True)
    assert html.count("<svg") >= 8
    assert 'role="img"' in html and "<title" in html
    assert "刹车片" in html
    assert "B店专用件" not in html  # store B's parts, although the query asked for B
    assert re.search(r'id="repeat-count">1<', html)
    assert "<script>" not in html.replace("<script src", "")


def test_admin_picks_a_store_or_all(f, client, auth):
    a, b = _world(f)
    auth.login(f.admin())
    only_b = client.get(URL + f"?store={b.id}").get_data(as_text=True)
    assert "B店专用件" in only_b and "刹车片" not in only_b
    every = client.get(URL).get_data(as_text=True)
    assert "B店专用件" in every and "刹车片" in every


def test_bad_filters_get_a_message_and_defaults(f, client, auth):
    a, _ = _world(f)
    auth.login(f.manager(a))
    response = client.get(URL + "?start=2025-05-01&end=2025-01-01")
    assert response.status_code == 200
    assert "The period must start before it ends." in response.get_data(as_text=True)
    old = client.get(URL + "?start=2020-01-01&end=2020-01-31").get_data(as_text=True)
    assert "No data for this period." in old and "刹车片" not in old
    assert "Not a valid date value." in client.get(URL + "?start=yesterday").get_data(as_text=True)


def test_dates_out_of_range_get_a_message_not_an_error(f, client, auth):
    a, _ = _world(f)
    auth.login(f.manager(a))
    for query in ("?end=9999-12-31", "?start=0001-01-01&end=0001-01-02"):
        response = client.get(URL + query)
        assert response.status_code == 200
        assert "Pick a date between 2000-01-01 and 2099-12-31." in response.get_data(as_text=True)


def test_advisors_and_owners_may_not_see_it(f, client, auth):
    a, _ = _world(f)
    auth.login(f.advisor(a))
    assert client.get(URL).status_code == 403


def test_charts_escape_labels_and_print_every_value(app):
    from admin import charts

    with app.test_request_context():
        svg = str(charts.hbar([("<b>刹车片</b>", 12), ("机油", 3)], chart_id="c1", title="T&T"))
        empty = str(charts.columns([], chart_id="c2", title="Empty"))
        steps = str(charts.funnel([("a", 10), ("b", 5)], chart_id="c3", title="F"))
    assert "<b>" not in svg and "&lt;b&gt;刹车片&lt;/b&gt;" in svg
    assert '<title id="c1-t">T&amp;T</title>' in svg
    assert ">12<" in svg and ">3<" in svg and 'aria-labelledby="c1-t c1-d"' in svg
    assert "No data for this period." in empty
    assert "b: 5 (50 %)" in steps


def test_negative_values_draw_from_the_zero_line_the_other_way(app):
    """An NPS below zero gets a bar: a column hanging below the zero line, a bar to its left."""
    import re

    import pytest

    from admin import charts

    with app.test_request_context():
        cols = str(charts.columns([("1月", 40), ("2月", -20)], chart_id="n1", title="NPS"))
        bars = str(charts.hbar([("甲", 40), ("乙", -20)], chart_id="n2", title="NPS"))
    zero = float(re.search(r'<line x1="0" y1="([\d.]+)"', cols).group(1))
    (y1, h1), (y2, h2) = [
        (float(y), float(h))
        for y, h in re.findall(
            r'<rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"', cols
        )
    ]
    assert y1 + h1 == pytest.approx(zero) and y2 == pytest.approx(zero)  # up, then down
    assert h1 == pytest.approx(2 * h2) and h2 > 0
    (x1, w1), (x2, w2) = [
        (float(x), float(w))
        for x, w in re.findall(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', bars)
    ]
    assert x2 + w2 == pytest.approx(x1) and w1 == pytest.approx(2 * w2)  # left of zero
    assert ">-20<" in cols and ">-20<" in bars
