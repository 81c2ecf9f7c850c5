"""Customer value (RFM): known answers on constructed data, a rerun that changes nothing, band
editing that refuses bad input without changing anything, and the segment field."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm import customer_value, segments, value_bands
from crm.value_bands import BandInput
from crm.value_models import CustomerValue, ValueBand
from portal.errors import NotAllowed, NotFound, ValidationError
from portal.models import ServiceRecord
from portal.timeutil import now
from portal.worker.jobs import JOBS, run_job
from shop.models import Order


def visit(db, f, owner, at, fen):
    car = f.vehicle(owner)
    db.session.add(
        ServiceRecord(
            vehicle_id=car.id, store_id=owner.store_id, mileage_km=1, total_fen=fen, completed_at=at
        )
    )


def order(db, owner, at, fen, status="paid", refunded=0):
    db.session.add(
        Order(
            number=f"V{owner.id}-{at:%j%H%M%S%f}",
            user_id=owner.id,
            store_id=owner.store_id,
            status=status,
            stock_state="sold",
            delivery="pickup",
            payment="store",
            total_fen=fen,
            refunded_fen=refunded,
            created_at=at,
            hold_expires_at=at,
        )
    )


@pytest.fixture
def world(f, db):
    """Two stores; in store A one customer per default band, one with nothing, one closed."""
    at = now()
    ago = lambda days, hours=0: at - timedelta(days=days, hours=hours)  # noqa: E731
    store, other = f.store(), f.store()
    core, important, regular, at_risk, idle = (f.owner(store) for _ in range(5))
    closed = f.owner(store, is_active=False)
    elsewhere = f.owner(other)
    for days in (40, 100, 150):
        visit(db, f, core, ago(days), 300_000)
    order(db, core, ago(5), 300_000)
    visit(db, f, important, ago(200, 12), 200_000)  # 200.5 days: 200 whole days
    visit(db, f, important, ago(300), 150_000)
    order(db, regular, ago(30), 50_000, refunded=10_000)  # counts net of the refund
    order(db, regular, ago(3), 90_000, status="cancelled")  # never paid: not counted
    order(db, regular, ago(2), 90_000, status="pending")
    visit(db, f, regular, ago(1), 0)  # a free check is not a paid visit
    visit(db, f, at_risk, ago(500), 100_000)
    visit(db, f, at_risk, ago(800), 999_999)  # outside the 24 months
    visit(db, f, closed, ago(10), 500_000)
    order(db, elsewhere, ago(10), 2_000_000)
    db.session.commit()
    people = dict(
        core=core, important=important, regular=regular, at_risk=at_risk, idle=idle, closed=closed
    )
    return {"at": at, "store": store, "other": other, "elsewhere": elsewhere, **people}


def values(db):
    rows = db.session.scalars(select(CustomerValue)).all()
    return {
        v.customer_id: (
            v.store_id,
            v.recency_days,
            v.frequency,
            v.monetary_fen,
            v.band.name_zh if v.band else None,
        )
        for v in rows
    }


def test_recency_frequency_spend_and_band_have_the_known_answer(world, db):
    w = world
    result = customer_value.refresh_values(at=w["at"])
    db.session.commit()
    assert result == {"customers": 6, "stores_seeded": 2}
    s, o = w["store"].id, w["other"].id
    assert values(db) == {
        w["core"].id: (s, 5, 4, 1_200_000, "核心客户"),
        w["important"].id: (s, 200, 2, 350_000, "重要客户"),
        w["regular"].id: (s, 30, 1, 40_000, "一般客户"),
        w["at_risk"].id: (s, 500, 1, 100_000, "流失风险"),
        w["idle"].id: (s, None, 0, 0, None),
        w["elsewhere"].id: (o, 10, 1, 2_000_000, "一般客户"),  # one order: not core, however big
    }
    band = db.session.get(CustomerValue, w["elsewhere"].id).band
    assert band.store_id == o


def test_a_rerun_changes_nothing_and_a_new_order_is_counted(world, db):
    w = world
    customer_value.refresh_values(at=w["at"])
    db.session.commit()
    first = values(db)
    bands_before = db.session.scalar(select(ValueBand.id).order_by(ValueBand.id.desc()).limit(1))
    assert customer_value.refresh_values(at=w["at"])["stores_seeded"] == 0
    db.session.commit()
    assert values(db) == first
    assert db.session.scalar(select(ValueBand.id).order_by(ValueBand.id.desc())) == bands_before
    order(db, w["idle"], w["at"] - timedelta(days=1), 20_000)
    db.session.commit()
    customer_value.refresh_values(at=w["at"])
    db.session.commit()
    assert values(db)[w["idle"].id] == (w["store"].id, 1, 1, 20_000, "一般客户")


def test_the_nightly_job_is_registered_and_runs(world, db):
    job = next(j for j in JOBS if j.name == "customer-value")
    assert job.every_seconds == 86400
    run = run_job(job, worker="test")
    assert run.status == "ok", run.result
    assert "customers=6" in run.result
    assert run_job(job, worker="another") is None  # the slot is taken: one run a night


def test_the_report_gives_each_bands_share(world, db):
    w = world
    customer_value.refresh_values(at=w["at"])
    db.session.commit()
    found = customer_value.value_report(w["store"])
    shares = {(r.band.name_zh if r.band else None): r for r in found.rows}
    assert found.customers == 5 and found.revenue_fen == 1_690_000
    assert shares["核心客户"].customers == 1
    assert shares["核心客户"].customer_share == pytest.approx(20.0)
    assert shares["核心客户"].revenue_share == pytest.approx(100 * 1_200_000 / 1_690_000)
    assert shares[None].customers == 1 and shares[None].revenue_fen == 0
    # The top third (2 of 5, rounded up) by spend: core and important.
    assert found.top_third_share == pytest.approx(100 * 1_550_000 / 1_690_000)


def _bands(db, store):
    return {b.name_zh: b for b in customer_value.bands(store.id)}


def _form(band: ValueBand, **change) -> BandInput:
    spend = f"{band.spend_min_fen // 100}"
    data = dict(
        name_zh=band.name_zh,
        name_en=band.name_en,
        position=str(band.position),
        recency_min_days="" if band.recency_min_days is None else str(band.recency_min_days),
        recency_max_days="" if band.recency_max_days is None else str(band.recency_max_days),
        frequency_min=str(band.frequency_min),
        spend_min_yuan=spend,
    )
    return BandInput(**{**data, **change})


@pytest.mark.parametrize(
    "change, message",
    [
        ({"name_zh": "  "}, "Chinese name"),
        ({"name_en": "x" * 31}, "at most 30"),
        ({"position": "0"}, "from 1 to 99"),
        ({"position": ""}, "from 1 to 99"),
        ({"recency_max_days": "abc"}, "from 0 to 730"),
        ({"recency_max_days": "731"}, "from 0 to 730"),
        ({"recency_min_days": "²"}, "from 0 to 730"),
        ({"recency_min_days": "200", "recency_max_days": "100"}, "cannot be more"),
        ({"frequency_min": "-1"}, "from 0 to 10000"),
        ({"spend_min_yuan": "1.234"}, "two decimals"),
        ({"spend_min_yuan": "ten"}, "amount in yuan"),
        ({"name_zh": "重要客户"}, "already has a band"),
    ],
)
def test_bad_band_input_is_refused_and_changes_nothing(world, f, db, change, message):
    w = world
    customer_value.refresh_values(at=w["at"])
    db.session.commit()
    manager = f.manager(w["store"])
    core = _bands(db, w["store"])["核心客户"]
    before = values(db), _form(core)
    with pytest.raises(ValidationError) as err:
        value_bands.update_band(manager, core.id, _form(core, **change))
    db.session.rollback()
    assert message in err.value.message
    assert (values(db), _form(db.session.get(ValueBand, core.id))) == before


def test_only_the_stores_managers_edit_bands_and_changes_reband_at_once(world, f, db):
    w = world
    customer_value.refresh_values(at=w["at"])
    db.session.commit()
    bands = _bands(db, w["store"])
    with pytest.raises(NotAllowed):
        value_bands.update_band(
            f.advisor(w["store"]), bands["核心客户"].id, _form(bands["核心客户"])
        )
    with pytest.raises(NotFound):  # another store's manager: no such band
        value_bands.update_band(
            f.manager(w["other"]), bands["核心客户"].id, _form(bands["核心客户"])
        )
    manager = f.manager(w["store"])
    # Core now needs 5 visits: the core customer (4) falls to important at once.
    value_bands.update_band(
        manager, bands["核心客户"].id, _form(bands["核心客户"], frequency_min="5")
    )
    db.session.commit()
    assert values(db)[w["core"].id][4] == "重要客户"
    # A catch-all band last: the idle customer gets it; removing it puts them back in none.
    extra = value_bands.add_band(manager, BandInput("沉睡客户", "Dormant", "9", "", "", "0", "0"))
    db.session.commit()
    assert values(db)[w["idle"].id][4] == "沉睡客户"
    value_bands.remove_band(manager, extra.id)
    db.session.commit()
    assert values(db)[w["idle"].id][4] is None
    for name in ("核心客户", "重要客户", "一般客户"):
        value_bands.remove_band(manager, _bands(db, w["store"])[name].id)
    with pytest.raises(ValidationError, match="at least one"):
        value_bands.remove_band(manager, _bands(db, w["store"])["流失风险"].id)


def test_value_band_is_a_segment_field(world, db):
    w = world
    customer_value.refresh_values(at=w["at"])
    db.session.commit()
    bands = _bands(db, w["store"])
    rule = {
        "field": "value_band",
        "op": "in",
        "value": [bands["核心客户"].id, bands["重要客户"].id],
    }
    ids = set(db.session.scalars(segments.members(w["store"], rule)))
    assert ids == {w["core"].id, w["important"].id}
    assert segments.count(w["store"], {"not": rule}) == 3
    for bad in ([], ["核心客户"], "x", [0]):
        with pytest.raises(ValidationError):
            segments.validate({"field": "value_band", "op": "in", "value": bad})


def test_pages_report_edit_and_count_live(world, f, db, client, auth):
    w = world
    customer_value.refresh_values(at=w["at"])
    db.session.commit()
    core = _bands(db, w["store"])["核心客户"]
    auth.login(f.manager(w["store"]))
    page = client.get("/admin/customer_value/", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="value-customers"' in html and 'id="value-revenue"' in html
    assert "Core" in html and "At risk" in html and 'id="band-form"' in html
    bad = _form(core, recency_min_days="9", recency_max_days="1").__dict__
    sent = client.post(f"/admin/customer_value/bands/{core.id}", data={**bad, "verb": "save"})
    assert sent.status_code == 303
    shown = client.get("/admin/customer_value/", headers={"Accept-Language": "en"})
    assert "cannot be more than the most" in shown.get_data(as_text=True)
    assert db.session.get(ValueBand, core.id).recency_min_days is None
    # The segment editor names the store's bands by number, and its live count (htmx) counts
    # the band's members.
    editor = client.get("/admin/segments/new", headers={"Accept-Language": "en"})
    assert f"<code>{core.id}</code> Core" in editor.get_data(as_text=True)
    rule = f'{{"field": "value_band", "op": "in", "value": [{core.id}]}}'
    live = client.post(
        "/admin/segments/preview",
        data={"rule": rule, "store": str(w["store"].id), "name": "core"},
        headers={"HX-Request": "true", "Accept-Language": "en"},
    )
    assert live.status_code == 200 and "<html" not in live.get_data(as_text=True)
    assert 'id="preview-count">1 customers match<' in live.get_data(as_text=True)


def test_advisors_do_not_see_the_report(world, f, client, auth):
    auth.login(f.advisor(world["store"]))
    assert client.get("/admin/customer_value/").status_code == 403


def test_the_customer_card_shows_the_band_to_the_store_only(world, f, db, client, auth):
    w = world
    customer_value.refresh_values(at=w["at"])
    db.session.commit()
    auth.login(f.manager(w["store"]))
    page = client.get(f"/admin/crm_customers/{w['core'].id}").get_data(as_text=True)
    card = page.split('id="profile-value"')[1].split("</p>")[0]
    assert "Core" in card or "核心客户" in card
    assert "4 paid visits or orders" in card and "last 5 days ago" in card
    auth.logout()
    auth.login(f.advisor(w["other"]))  # another store: no card at all
    assert client.get(f"/admin/crm_customers/{w['core'].id}").status_code == 404
    auth.logout()
    from crm import leads

    core = w["core"]
    inquiry = leads.Inquiry(name=core.name, phone=core.phone, store=w["other"], source="phone")
    leads.capture(inquiry)
    db.session.commit()
    auth.login(f.manager(w["other"]))  # sees the customer through its lead, not A's figures
    page = client.get(f"/admin/crm_customers/{core.id}")
    assert page.status_code == 200 and 'id="profile-value"' not in page.get_data(as_text=True)
