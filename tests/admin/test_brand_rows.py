"""The brand on the rows a manufacturer's officer counts: set when a lead, survey, complaint,
sales order or used car is created, and the officer's figures in a store selling two brands
are their brand's only (raw and with the daily rollup filled); brands' English names are
unique whatever their case, in the database too."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import column, event, insert, select, table, text
from sqlalchemy.exc import IntegrityError

from admin import daily_stats, group_stats
from crm import complaints, surveys
from crm import leads as crm_leads
from crm.models import Lead
from crm.quality_models import SERVICE, Complaint, Survey
from portal.extensions import db
from portal.models import Brand, UsedCarRequest
from portal.services import brands
from portal.services import usedcars as usedcar_svc
from portal.timeutil import now
from tests.crm.quality_data import delivered_order, finished_job
from tests.portal.test_usedcars import REPORT, submit

URL = "/admin/group_dashboard/"


def _stores(f):
    """Group store A selling BYD and Toyota; 4S store B selling Toyota only."""
    a, b = f.store("A"), f.store("B")
    byd = f.brand("BYD", (a,), name="比亚迪", name_en="BYD")
    toyota = f.brand("TOYOTA", (a, b), name="丰田", name_en="Toyota")
    return a, b, byd, toyota


def _lead(store, phone: str, model: str) -> Lead:
    inquiry = crm_leads.Inquiry(
        name="客户", phone=phone, store=store, source="phone", model_interest=model
    )
    return crm_leads.capture(inquiry).lead


def _answered_job(store, advisor, make: str):
    """A finished job on a car of the make, its survey sent by the worker and answered."""
    booking = finished_job(store, advisor)
    booking.vehicle.brand = make
    db.session.commit()
    surveys.send_due()
    survey = db.session.scalar(select(Survey).where(Survey.booking_id == booking.id))
    survey.answered_at, survey.nps, survey.csi = now(), 9, 80
    db.session.commit()
    return booking, survey


def _vetted(owner, advisor, make: str) -> UsedCarRequest:
    car = submit(owner, brand=make)
    usedcar_svc.start_review(advisor, car, advisor)
    usedcar_svc.approve(advisor, car, **REPORT)
    db.session.commit()
    return car


def _world(f):
    """Store A has one of each figure for BYD and for Toyota, and rows of no known brand;
    store B (Toyota only) has a lead whose model nobody named."""
    a, b, byd, toyota = _stores(f)
    adv = f.advisor(a)
    rows = {
        "lead_byd": _lead(a, "13655550101", "比亚迪 汉EV"),
        "lead_toyota": _lead(a, "13655550102", " toyota Camry"),
        "lead_none": _lead(a, "13655550103", ""),  # A sells two brands: which one is unknown
        "lead_b": _lead(b, "13655550104", ""),  # B sells Toyota only: a Toyota lead
    }
    db.session.commit()
    job_byd, rows["survey_byd"] = _answered_job(a, adv, "BYD")
    job_toyota, rows["survey_toyota"] = _answered_job(a, adv, "丰田")
    owner = job_byd.owner
    rows["complaint_byd"] = complaints.open_complaint(
        owner, a, source="phone", category="waiting", severity="medium", description="等太久",
        booking=job_byd,
    )  # fmt: skip
    rows["complaint_none"] = complaints.open_complaint(
        owner, a, source="phone", category="price", severity="low", description="价格"
    )
    rows["order_toyota"] = delivered_order(a, adv, phone="13655550105")  # a 丰田 凯美瑞
    rows["car_byd"] = _vetted(owner, adv, "比亚迪")
    rows["car_toyota"] = _vetted(owner, adv, "TOYOTA")
    rows["car_other"] = _vetted(owner, adv, "大众")  # a make the group does not sell
    db.session.commit()
    return a, b, byd, toyota, rows


def test_each_row_gets_its_brand_when_it_is_created(f):
    _a, _b, byd, toyota, rows = _world(f)
    got = {name: row.brand_id for name, row in rows.items()}
    got["order_lead"] = rows["order_toyota"].lead.brand_id
    assert got == {
        "lead_byd": byd.id,
        "lead_toyota": toyota.id,
        "lead_none": None,
        "lead_b": toyota.id,
        "survey_byd": byd.id,
        "survey_toyota": toyota.id,
        "complaint_byd": byd.id,
        "complaint_none": None,
        "order_toyota": toyota.id,
        "order_lead": toyota.id,  # it named no model: the car quoted
        "car_byd": byd.id,
        "car_toyota": toyota.id,
        "car_other": None,
    }
    surveys.send_due()  # the delivery's survey is sent after the world's jobs' surveys
    delivery = db.session.scalar(
        select(Survey).where(Survey.sales_order_id == rows["order_toyota"].id)
    )
    assert delivery.brand_id == toyota.id  # the delivery's survey: the car sold


def test_a_repeated_inquiry_naming_the_model_gives_the_lead_its_brand(f):
    a, _b, byd, _toyota = _stores(f)
    lead = _lead(a, "13655550111", "")
    assert lead.brand_id is None
    again = _lead(a, "13655550111", "BYD 海豹")
    assert again.id == lead.id and lead.brand_id == byd.id


def test_a_brand_is_read_off_the_text_longest_name_first(f):
    f.brand("MB", name="奔驰", name_en="Mercedes")
    amg = f.brand("AMG", name="梅赛德斯-AMG", name_en="Mercedes-AMG")
    assert brands.brand_of("mercedes-amg GT") == amg.id
    assert brands.brand_of("  ") is None and brands.brand_of(None) is None


def _figures(user) -> dict[str, group_stats.StoreFigures]:
    start, end = now() - timedelta(days=1), now() + timedelta(days=1)
    return {r.name: r for r in group_stats.figures(user, start, end)}


def _seen(row: group_stats.StoreFigures) -> tuple:
    return (row.leads, row.surveys, row.csi_answers, row.complaints, row.orders, row.vetted)


def test_an_officer_counts_only_their_brands_rows_in_a_store_selling_two(f):
    a, b, byd, toyota, rows = _world(f)
    by_byd = _figures(f.manufacturer(byd))
    assert set(by_byd) == {"A"}
    assert _seen(by_byd["A"]) == (1, 1, 1, 1, 0, 1)
    assert by_byd["A"].sales_fen == 0
    by_toyota = _figures(f.manufacturer(toyota))
    assert _seen(by_toyota["A"]) == (2, 1, 1, 0, 1, 1)  # a lead and the order's lead
    assert by_toyota["A"].sales_fen == rows["order_toyota"].total_fen  # new-car sales
    assert _seen(by_toyota["B"]) == (1, 0, 0, 0, 0, 0)
    hq = _figures(f.hq())
    # Headquarters: every row of the store, and the shop's sales (none here), not cars'.
    assert _seen(hq["A"]) == (4, 2, 2, 2, 0, 3)
    assert _seen(hq["B"]) == (1, 0, 0, 0, 0, 0)


def test_an_officers_time_to_first_contact_is_of_their_brands_leads(f):
    _a, _b, byd, toyota, rows = _world(f)
    sold = rows["order_toyota"].lead  # a lead that named no model, quoted a 丰田
    for lead, minutes in ((rows["lead_byd"], 4), (rows["lead_toyota"], 30),
                          (rows["lead_none"], 60), (sold, 50)):  # fmt: skip
        lead.first_contact_at = lead.created_at + timedelta(minutes=minutes)
    db.session.commit()
    assert _figures(f.manufacturer(byd))["A"].contact_minutes == pytest.approx(4, abs=0.01)
    assert _figures(f.manufacturer(toyota))["A"].contact_minutes == pytest.approx(40, abs=0.01)
    assert _figures(f.hq())["A"].contact_minutes == pytest.approx(40, abs=0.01)  # 4 30 50 60


def _older(rows, days: int) -> None:
    """Move every row of the world `days` back, so that the daily rollup counts them."""
    then = now() - timedelta(days=days)
    for row in rows.values():
        if isinstance(row, Lead | Complaint):
            row.created_at = then
        elif isinstance(row, Survey):
            row.answered_at = then
        elif isinstance(row, UsedCarRequest):
            for move in row.transitions:
                move.at = then
        else:
            row.signed_at = then
    db.session.commit()


def test_with_the_rollup_filled_an_officer_still_counts_their_brand_only(f):
    """The rollup counts every row of a store; an officer's figures are counted raw."""
    a, _b, byd, toyota, rows = _world(f)
    _older(rows, 3)
    daily_stats.refresh_daily_stats()
    db.session.commit()

    def seen(user) -> dict[str, tuple]:
        return {r.name: _seen(r) for r in daily_stats.period_figures(user, "90d", now())}

    assert seen(f.manufacturer(byd)) == {"A": (1, 1, 1, 1, 0, 1)}
    assert seen(f.manufacturer(toyota))["A"] == (2, 1, 1, 0, 1, 1)
    assert seen(f.hq())["A"] == (4, 2, 2, 2, 0, 3)  # from the rollup: every row


def test_the_officers_dashboard_shows_their_brands_new_car_sales(f, client, auth):
    _a, _b, byd, _toyota = _stores(f)
    auth.login(f.manufacturer(byd))
    body = client.get(URL).get_data(as_text=True)
    assert "New-car sales" in body and "Shop sales" not in body


def test_headquarters_see_the_shops_sales(f, client, auth):
    _stores(f)
    auth.login(f.hq())
    body = client.get(URL).get_data(as_text=True)
    assert "Shop sales" in body and "New-car sales" not in body


def test_the_database_keeps_english_names_unique_whatever_the_case(f):
    byd = f.brand("BYD", name="比亚迪", name_en="BYD")
    assert byd.name_en_key == "byd"
    db.session.add(Brand(code="BYD2", name="比亚迪二", name_en=" byd "))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    byd.name_en = "BYD Auto"  # the key follows the name
    db.session.commit()
    assert db.session.scalar(select(Brand.name_en_key).where(Brand.id == byd.id)) == "byd auto"


def test_a_clash_found_only_by_the_database_is_said_plainly(f, client, auth):
    """Another administrator saves "GEELY" between the form's check and this save."""
    auth.login(f.admin())

    def clash(_mapper, connection, _target):
        connection.execute(
            insert(Brand.__table__).values(code="GEELY2", name="吉利二", name_en="GEELY",
                                           name_en_key="geely")
        )  # fmt: skip

    event.listen(Brand, "before_insert", clash)
    try:
        page = client.post(
            "/admin/brands/new/", data={"code": "GEELY", "name": "吉利", "name_en": "Geely"}
        )
    finally:
        event.remove(Brand, "before_insert", clash)
    assert page.status_code == 200
    assert "Another brand already has this English name" in page.get_data(as_text=True)
    assert db.session.scalar(select(Brand.id).where(Brand.name_en_key == "geely")) is None


def test_service_surveys_only_count_towards_csi(f):
    """A delivery survey carries the car's brand but is the sales satisfaction, not CSI."""
    a, _b, _byd, toyota = _stores(f)
    order = delivered_order(a, f.advisor(a), phone="13655550121")
    surveys.send_due()
    survey = db.session.scalar(select(Survey).where(Survey.sales_order_id == order.id))
    survey.answered_at, survey.nps, survey.csi = now(), 10, 100
    db.session.commit()
    assert survey.kind != SERVICE and survey.brand_id == toyota.id
    assert _figures(f.manufacturer(toyota))["A"].surveys == 0


def test_the_demo_rows_carry_brands_and_the_demo_officer_sees_their_brands(db, f):
    from crm.demo import load_crm_demo
    from crm.quality_demo import load_quality_demo
    from portal.demo import DEMO_LOGINS, load_demo
    from portal.models import User

    load_demo(owners=12)
    db.session.commit()
    load_crm_demo()
    db.session.commit()
    load_quality_demo()
    db.session.commit()
    for model in (Lead, Survey, Complaint, UsedCarRequest):
        assert db.session.scalar(select(model.id).where(model.brand_id.is_not(None)).limit(1))
    officer = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS["manufacturer"]))
    start, end = now() - timedelta(days=365), now() + timedelta(days=1)
    mine = group_stats.figures(officer, start, end)
    every = {r.store_id: r for r in group_stats.figures(f.hq(), start, end)}
    assert mine and all(r.surveys > 0 for r in mine)
    for row in mine:  # the officer's store sells two brands: fewer than all its surveys
        assert row.surveys < every[row.store_id].surveys
    assert sum(r.leads for r in mine) > 0


BRANDED = ("crm_leads", "crm_surveys", "crm_complaints", "crm_orders", "used_car_requests")


def _brands_kept() -> dict[str, list]:
    kept = {}
    for name in BRANDED:
        rows = table(name, column("id"), column("brand_id"))
        kept[name] = list(db.session.execute(select(rows.c.id, rows.c.brand_id).order_by("id")))
    return kept


def test_the_migration_gives_existing_rows_the_brand_the_services_give_new_ones(
    empty_database_app,
):
    """Rows made at the head, their brands dropped by the downgrade and derived again by the
    upgrade: each gets the brand it got when it was created; the English name key too."""
    from flask_migrate import downgrade, upgrade

    from tests import factories

    app = empty_database_app("brandrows")
    with app.app_context():
        upgrade()
        _world(factories)
        made = _brands_kept()
        assert sum(1 for rows in made.values() for _id, brand in rows if brand) >= 10
        db.session.remove()
        downgrade(revision="0065_brand22_brands")
        upgrade()
        assert _brands_kept() == made
        keys = db.session.execute(text("SELECT name_en_key FROM brands ORDER BY id")).all()
        assert [k for (k,) in keys] == ["byd", "toyota"]
        db.session.remove()
        db.engine.dispose()
