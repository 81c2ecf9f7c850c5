"""The sales pipeline's verbs: test drives, quotes with approval, orders to delivery, the board."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from crm import board, delivery
from crm import leads as svc
from crm import orders as order_svc
from crm import quotes as quote_svc
from crm import test_drives as drive_svc
from crm.models import PHONE, LeadEvent
from crm.pipeline_models import DriveBooking, Quote, SalesSettings
from portal.errors import Conflict, NotAllowed, ValidationError
from portal.models import Vehicle
from portal.timeutil import set_clock
from tests import factories

LICENCE = "110101199003074477"
NEXT_YEAR = date.today().replace(year=date.today().year + 2)


def lead_of(store, phone="13812340000"):
    return svc.capture(svc.Inquiry(name="冯女士", phone=phone, store=store, source=PHONE)).lead


@pytest.fixture
def shop(f, db):
    store = f.store()
    adv = f.advisor(store)
    lead = lead_of(store)
    car = drive_svc.add_car(f.manager(store), store, "丰田", "丰田 凯美瑞", "Toyota Camry", "")
    db.session.commit()
    return store, adv, lead, car


def tomorrow_slot(store, index=1):
    day = datetime.now(UTC).date() + timedelta(days=1)
    return drive_svc.slots(store, day)[index]


def book(adv, lead, car, slot, **kw):
    args = {"licence_no": LICENCE, "licence_valid_until": NEXT_YEAR, "licence_seen": True}
    return drive_svc.book(adv, lead, car, slot.starts_at, **{**args, **kw})


# -- test drives --------------------------------------------------------------------------------


def test_slots_follow_the_store_hours_in_store_time(shop):
    store = shop[0]
    day = date(2026, 12, 4)
    slots = drive_svc.slots(store, day)
    assert [s.local.strftime("%H:%M") for s in slots][:3] == ["08:30", "09:30", "10:30"]
    assert slots[-1].local.strftime("%H:%M") == "16:30"  # 17:30 would end after 18:00
    assert slots[0].starts_at == datetime(2026, 12, 4, 0, 30, tzinfo=UTC)


def test_booking_checks_the_licence_moves_the_lead_and_shows_on_its_timeline(shop, db):
    store, adv, lead, car = shop
    slot = tomorrow_slot(store)
    drive = book(adv, lead, car, slot)
    db.session.commit()
    assert (drive.status, drive.licence_no, drive.licence_checked_by_id) == (
        "booked",
        LICENCE,
        adv.id,
    )
    assert lead.stage == "test_drive"
    kinds = [
        e.kind for e in db.session.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead.id))
    ]
    assert "drive_booked" in kinds
    assert drive_svc.mask_licence(LICENCE) == "110***********4477"


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"licence_no": "11010119900307447X"}, "licence_no"),  # wrong check character
        ({"licence_no": "12345"}, "licence_no"),
        ({"licence_valid_until": date(2020, 1, 1)}, "licence_valid_until"),
        ({"licence_valid_until": None}, "licence_valid_until"),
        ({"licence_seen": False}, "licence_seen"),
    ],
)
def test_a_booking_without_a_valid_licence_seen_is_refused(shop, db, kw, field):
    store, adv, lead, car = shop
    with pytest.raises(ValidationError) as err:
        book(adv, lead, car, tomorrow_slot(store), **kw)
    assert err.value.field == field
    db.session.rollback()
    assert db.session.scalar(select(func.count(DriveBooking.id))) == 0


def test_one_car_cannot_be_booked_twice_for_a_slot_and_cancelling_frees_it(shop, f, db):
    store, adv, lead, car = shop
    other = lead_of(store, "13812340001")
    slot = tomorrow_slot(store)
    first = book(adv, lead, car, slot)
    db.session.commit()
    with pytest.raises(Conflict):
        book(adv, other, car, slot)
    db.session.rollback()
    drive_svc.record_outcome(adv, first, "cancelled")
    db.session.commit()
    assert book(adv, other, car, slot).status == "booked"


def test_slots_must_be_the_stores_and_ahead(shop):
    store, adv, lead, car = shop
    slot = tomorrow_slot(store)
    with pytest.raises(ValidationError):
        drive_svc.book(
            adv, lead, car, slot.starts_at + timedelta(minutes=5), licence_no=LICENCE,
            licence_valid_until=NEXT_YEAR, licence_seen=True,
        )  # fmt: skip
    yesterday = drive_svc.slots(store, datetime.now(UTC).date() - timedelta(days=1))[0]
    with pytest.raises(ValidationError):
        book(adv, lead, car, yesterday)


def test_a_colleague_cannot_book_for_someone_elses_lead_and_another_store_car_is_refused(shop, f):
    store, adv, lead, car = shop
    colleague = f.advisor(store)
    assert lead.advisor_id == adv.id
    with pytest.raises(NotAllowed):
        book(colleague, lead, car, tomorrow_slot(store))
    elsewhere = f.store()
    foreign = drive_svc.add_car(f.manager(elsewhere), elsewhere, "本田", "本田 雅阁", "Accord", "")
    with pytest.raises(ValidationError):
        book(adv, lead, foreign, tomorrow_slot(store))


def test_an_outcome_is_logged_once_after_the_drive_starts(shop, db):
    store, adv, lead, car = shop
    slot = tomorrow_slot(store)
    drive = book(adv, lead, car, slot)
    db.session.commit()
    with pytest.raises(ValidationError):
        drive_svc.record_outcome(adv, drive, "driven")  # not started yet
    set_clock(lambda: slot.starts_at + timedelta(minutes=70))
    drive_svc.record_outcome(adv, drive, "driven", "喜欢，想看报价")
    db.session.commit()
    assert (drive.status, drive.outcome) == ("driven", "喜欢，想看报价")
    with pytest.raises(Conflict):
        drive_svc.record_outcome(adv, drive, "no_show")


# -- quotes -------------------------------------------------------------------------------------


def draft(**kw):
    base = {
        "brand": "丰田",
        "series": "凯美瑞",
        "vehicle_fen": 199_800_00,
        "insurance_fen": 5_600_00,
        "registration_fen": 500_00,
        "discount_fen": 3_000_00,
    }
    return quote_svc.Draft(**{**base, **kw})


def product(db, price_fen=1_280_00):
    from shop.models import Category, Product

    p = Product(
        sku=f"Q-{price_fen}", name="全车贴膜", category=Category(name="膜"), price_fen=price_fen
    )
    db.session.add(p)
    db.session.commit()
    return p


def test_quote_totals_are_integer_fen_from_the_lines(shop, db):
    store, adv, lead, _car = shop
    film = product(db)
    quote = quote_svc.make_quote(adv, lead, draft(accessories=((film.id, 2),)))
    db.session.commit()
    assert [line.kind for line in quote.lines] == [
        "vehicle", "accessory", "insurance", "registration", "discount",
    ]  # fmt: skip
    assert quote.subtotal_fen == 199_800_00 + 2 * 1_280_00 + 5_600_00 + 500_00
    assert quote.discount_fen == 3_000_00
    assert quote.total_fen == quote.subtotal_fen - 3_000_00
    assert (quote.status, quote.version, lead.stage) == ("draft", 1, "quote")


def test_a_discount_above_the_price_or_a_missing_price_is_refused(shop):
    _store, adv, lead, _car = shop
    with pytest.raises(ValidationError):
        quote_svc.make_quote(adv, lead, draft(vehicle_fen=1_000_00, discount_fen=50_000_00))
    with pytest.raises(ValidationError):
        quote_svc.make_quote(adv, lead, draft(vehicle_fen=0))


def test_a_new_version_replaces_the_open_one(shop, db):
    _store, adv, lead, _car = shop
    first = quote_svc.make_quote(adv, lead, draft())
    second = quote_svc.make_quote(adv, lead, draft(discount_fen=4_000_00))
    db.session.commit()
    db.session.refresh(first)
    assert (first.status, second.version, second.status) == ("superseded", 2, "draft")
    with pytest.raises(Conflict):
        quote_svc.accept(adv, first)


def test_a_discount_over_the_store_limit_waits_for_a_manager_and_one_decision_wins(shop, f, db):
    store, adv, lead, _car = shop
    db.session.add(SalesSettings(store_id=store.id, discount_limit_fen=2_000_00, slot_minutes=60))
    quote = quote_svc.make_quote(adv, lead, draft(discount_fen=8_000_00))
    db.session.commit()
    assert quote.status == "awaiting_approval"
    with pytest.raises(Conflict):
        quote_svc.accept(adv, quote)  # not before the manager says yes
    db.session.rollback()
    with pytest.raises(NotAllowed):
        quote_svc.decide(adv, quote, approve=True)
    manager = f.manager(store)
    quote_svc.decide(manager, quote, approve=True)
    db.session.commit()
    with pytest.raises(Conflict):
        quote_svc.decide(f.manager(store), quote, approve=False)
    db.session.rollback()
    assert (quote.status, quote.decided_by_id) == ("approved", manager.id)
    quote_svc.accept(adv, quote)
    assert quote.status == "accepted"


# -- orders -------------------------------------------------------------------------------------


def accepted_quote(adv, lead, db):
    quote = quote_svc.make_quote(adv, lead, draft())
    quote_svc.accept(adv, quote)
    db.session.commit()
    return quote


def test_an_order_goes_from_signed_to_delivered_and_the_car_is_the_customers(shop, db):
    store, adv, lead, _car = shop
    quote = accepted_quote(adv, lead, db)
    order = order_svc.sign(adv, quote, 20_000_00, None)
    db.session.commit()
    assert (order.stage, order.total_fen, lead.stage) == ("ordered", quote.total_fen, "order")
    with pytest.raises(ValidationError):
        order_svc.deliver(adv, order, "粤B12345")  # no skipping stages
    db.session.rollback()
    vin = factories.vin()
    order_svc.allocate(adv, order, vin.lower())
    order_svc.invoice(adv, order, "FP-00012345")
    delivery.tick_all(adv, order)
    vehicle = order_svc.deliver(adv, order, "粤b 12345")
    db.session.commit()
    assert (order.stage, order.vin, order.vehicle_id) == ("delivered", vin, vehicle.id)
    assert (vehicle.owner_id, vehicle.plate, vehicle.brand) == (
        lead.customer_id,
        "粤B12345",
        "丰田",
    )
    assert (lead.state, lead.stage) == ("won", "delivered")
    assert lead.customer.store_id == store.id


def test_an_order_refuses_a_bad_deposit_a_second_order_and_a_registered_vin(shop, f, db):
    store, adv, lead, _car = shop
    quote = accepted_quote(adv, lead, db)
    for deposit in (0, quote.total_fen + 1):
        with pytest.raises(ValidationError):
            order_svc.sign(adv, quote, deposit, None)
    order = order_svc.sign(adv, quote, 5_000_00, None)
    db.session.commit()
    with pytest.raises(Conflict):
        order_svc.sign(adv, quote, 5_000_00, None)
    db.session.rollback()
    taken = f.vehicle(f.owner(store))
    with pytest.raises(ValidationError):
        order_svc.allocate(adv, order, taken.vin)
    with pytest.raises(ValidationError):
        order_svc.allocate(adv, order, "NOT-A-VIN")
    db.session.rollback()
    assert order.stage == "ordered"
    assert db.session.scalar(select(func.count(Vehicle.id))) == 1


def test_a_quote_not_accepted_is_no_order(shop, db):
    _store, adv, lead, _car = shop
    quote = quote_svc.make_quote(adv, lead, draft())
    with pytest.raises(ValidationError):
        order_svc.sign(adv, quote, 1_000_00, None)


# -- the board ----------------------------------------------------------------------------------


def test_the_funnel_counts_each_stage_reached_in_the_period(shop, f, db):
    store, adv, lead, car = shop
    book(adv, lead, car, tomorrow_slot(store))
    second = lead_of(store, "13812340002")
    svc.mark_contacted(adv, second)
    lead_of(store, "13812340003")
    db.session.commit()
    manager = f.manager(store)
    span = board.period("this_month", board.ZoneInfo("Asia/Shanghai"))
    reached = dict(board.funnel(manager, span))
    assert (reached["new"], reached["contacted"], reached["test_drive"], reached["quote"]) == (
        3, 2, 1, 0,
    )  # fmt: skip
    rows = {r.name: r.total for r in board.pipeline(manager)}
    assert sum(rows.values()) == 3
    other_store = f.manager(f.store())
    assert board.funnel(other_store, span)[0] == ("new", 0)


def test_periods_start_at_local_midnight():
    from zoneinfo import ZoneInfo

    set_clock(lambda: datetime(2026, 12, 31, 17, 0, tzinfo=UTC))  # 1 Jan 01:00 in Shanghai
    try:
        span = board.period("this_month", ZoneInfo("Asia/Shanghai"))
        assert (span.start, span.end) == (date(2027, 1, 1), date(2027, 2, 1))
        assert span.start_utc == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
        last = board.period("last_month", ZoneInfo("Asia/Shanghai"))
        assert (last.start, last.end) == (date(2026, 12, 1), date(2027, 1, 1))
    finally:
        set_clock(None)


def test_quotes_of_a_lead_newest_first(shop, db):
    _store, adv, lead, _car = shop
    quote_svc.make_quote(adv, lead, draft())
    quote_svc.make_quote(adv, lead, draft())
    assert [q.version for q in quote_svc.quotes_of(lead)] == [2, 1]
    assert db.session.scalar(select(func.count(Quote.id))) == 2


def test_lost_reasons_count_the_leads_lost_in_the_period(shop, f, db):
    store, adv, lead, _car = shop
    other = lead_of(store, "13812340004")
    manager = f.manager(store)
    svc.request_lost(adv, lead, "budget")
    svc.decide_lost(manager, lead, approve=True)
    svc.request_lost(adv, other, "competitor")  # asked, not approved: not lost yet
    db.session.commit()
    span = board.period("30d", board.ZoneInfo("Asia/Shanghai"))
    assert board.lost_reasons(manager, span) == [("budget", 1)]
    assert board.actuals(manager, span)["lost"] == 1
