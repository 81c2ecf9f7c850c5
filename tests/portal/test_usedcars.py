"""Used cars: submission with photos, the vetting workflow, flags, the public list and leads."""

from __future__ import annotations

import io
import threading
from datetime import date

import pytest
from flask import url_for
from PIL import Image as PILImage
from sqlalchemy import func, select

from portal.errors import Conflict, NotAllowed, NotFound, ValidationError
from portal.models import (
    MileageReading,
    UsedCarEvent,
    UsedCarRequest,
    UsedCarTransition,
)
from portal.models.usedcars import (
    APPROVED,
    CHANGES_REQUESTED,
    LISTED,
    REJECTED,
    SOLD,
    STATUSES,
    SUBMITTED,
    UNDER_REVIEW,
    WITHDRAWN,
)
from portal.services import usedcars as svc
from portal.services.media import MAX_UPLOAD_BYTES
from tests import factories


def png(color=(200, 30, 30), size=(64, 48)) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    img = PILImage.new("RGB", (40, 30), (10, 120, 30))
    exif = PILImage.Exif()
    exif[0x8825] = {2: (22.0, 32.0, 0.0), 1: "N"}  # GPSInfo
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def bomb() -> bytes:
    out = io.BytesIO()
    PILImage.new("1", (9000, 9000)).save(out, format="PNG")  # 81 Mpx in a few kB
    return out.getvalue()


def submit(owner, **kw) -> UsedCarRequest:
    data = dict(
        vin=factories.vin(),
        brand="丰田",
        series="凯美瑞",
        model_year=2020,
        mileage_km=42_000,
        first_registered_on=date(2020, 6, 1),
        asking_price_fen=12_800_000,
        condition="好",
        accident_history="无",
        photos=[png()],
    )
    data.update(kw)
    return svc.submit_request(owner, **data)


REPORT = dict(
    grade="B",
    checked_items=["engine", "frame"],
    valuation_low_fen=11_000_000,
    valuation_high_fen=12_500_000,
)


@pytest.fixture
def shop(f, db):
    store = f.store()
    return {
        "store": store,
        "owner": f.owner(store),
        "advisor": f.advisor(store),
        "advisor2": f.advisor(store),
        "manager": f.manager(store),
        "other_advisor": f.advisor(f.store()),
    }


def bring_to(status: str, s) -> UsedCarRequest:
    """Return a committed request in the given status, moved there through the services."""
    from portal.extensions import db

    req = submit(s["owner"])
    adv, owner = s["advisor"], s["owner"]
    if status != SUBMITTED:
        svc.start_review(adv, req, adv)
    if status == CHANGES_REQUESTED:
        svc.request_changes(adv, req, "更多照片")
    elif status == REJECTED:
        svc.reject(adv, req, "泡水车")
    elif status in (APPROVED, LISTED, SOLD):
        svc.approve(adv, req, **REPORT)
        if status in (LISTED, SOLD):
            svc.list_car(adv, req)
        if status == SOLD:
            svc.mark_sold(adv, req)
    elif status == WITHDRAWN:
        svc.withdraw(owner, req)
    db.session.commit()
    assert req.status == status
    return req


# ---------------------------------------------------------------- submission and photos


def test_submit_records_photos_transition_and_event(shop, db):
    req = submit(shop["owner"], photos=[png(), jpeg_with_gps()])
    db.session.commit()
    assert req.status == SUBMITTED and req.store_id == shop["store"].id
    assert [p.position for p in req.photos] == [0, 1]
    image = req.photos[1].image
    with PILImage.open(io.BytesIO(image.data)) as img:
        assert img.format == "JPEG" and not img.getexif()  # EXIF (GPS) stripped
    assert [(t.from_status, t.to_status, t.actor_id) for t in req.transitions] == [
        (None, SUBMITTED, shop["owner"].id)
    ]
    assert [e.kind for e in req.events] == [SUBMITTED]


def test_submit_from_my_vehicle_takes_its_identity(shop, f, db):
    v = f.vehicle(shop["owner"], current_km=30_000)
    req = submit(shop["owner"], vehicle=v, vin="", brand="", series="", model_year=None)
    assert (req.vin, req.brand, req.vehicle_id) == (v.vin, v.brand, v.id)
    with pytest.raises(NotFound):
        submit(f.owner(shop["store"]), vehicle=v)


@pytest.mark.parametrize(
    ("photo", "message"),
    [
        (b"%PDF-1.4 not an image", "not a valid image"),
        (b"\xff" * (MAX_UPLOAD_BYTES + 1), "larger than"),
        ("bomb", "too large: at most 24 megapixels"),
    ],
    ids=["non-image", "oversized", "decompression-bomb"],
)
def test_bad_photos_are_refused_and_nothing_is_saved(shop, db, photo, message):
    photo = bomb() if photo == "bomb" else photo
    with pytest.raises(ValidationError, match=message) as err:
        submit(shop["owner"], photos=[png(), photo])
    assert err.value.field == "photos"
    db.session.rollback()
    assert db.session.scalar(select(func.count(UsedCarRequest.id))) == 0


def test_at_most_twelve_photos(shop, db):
    with pytest.raises(ValidationError, match="Up to 12"):
        submit(shop["owner"], photos=[png()] * 13)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"vin": "LSVAB"}, "vin"),
        ({"model_year": 1970}, "model_year"),
        ({"first_registered_on": date(2999, 1, 1)}, "first_registered_on"),
        ({"first_registered_on": date(2010, 1, 1)}, "first_registered_on"),
        ({"asking_price_fen": 0}, "asking_price"),
        ({"mileage_km": -1}, "mileage_km"),
    ],
)
def test_bad_fields_name_their_field(shop, change, field):
    with pytest.raises(ValidationError) as err:
        submit(shop["owner"], **change)
    assert err.value.field == field


def test_a_car_registered_today_in_shanghai_is_not_from_the_future(shop, clock):
    """At 01:00 on 4 December in Shanghai it is 3 December in UTC (the store's day counts)."""
    from datetime import UTC, datetime

    clock.now = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
    req = submit(shop["owner"], model_year=2026, first_registered_on=date(2026, 12, 4))
    assert req.first_registered_on == date(2026, 12, 4)
    with pytest.raises(ValidationError) as err:
        submit(shop["owner"], model_year=2026, first_registered_on=date(2026, 12, 5))
    assert err.value.field == "first_registered_on"


# ---------------------------------------------------------------- workflow

MOVES = {
    (SUBMITTED, UNDER_REVIEW),
    (SUBMITTED, WITHDRAWN),
    (UNDER_REVIEW, CHANGES_REQUESTED),
    (UNDER_REVIEW, REJECTED),
    (UNDER_REVIEW, APPROVED),
    (UNDER_REVIEW, WITHDRAWN),
    (CHANGES_REQUESTED, UNDER_REVIEW),
    (CHANGES_REQUESTED, WITHDRAWN),
    (APPROVED, LISTED),
    (APPROVED, WITHDRAWN),
    (LISTED, SOLD),
    (LISTED, WITHDRAWN),
}


def do_move(s, req, to):
    adv, owner = s["advisor"], s["owner"]
    if to == UNDER_REVIEW and req.status == CHANGES_REQUESTED:
        return svc.edit_and_resubmit(
            owner,
            req,
            mileage_km=43_000,
            first_registered_on=req.first_registered_on,
            asking_price_fen=req.asking_price_fen,
            condition="新照片",
            accident_history="无",
        )
    return {
        UNDER_REVIEW: lambda: svc.start_review(adv, req, adv),
        CHANGES_REQUESTED: lambda: svc.request_changes(adv, req, "补充照片"),
        REJECTED: lambda: svc.reject(adv, req, "里程不符"),
        APPROVED: lambda: svc.approve(adv, req, **REPORT),
        LISTED: lambda: svc.list_car(adv, req),
        SOLD: lambda: svc.mark_sold(adv, req),
        WITHDRAWN: lambda: svc.withdraw(owner, req),
        SUBMITTED: lambda: svc._move(req, SUBMITTED, owner, ""),
    }[to]()


def test_the_move_table_is_the_one_the_service_allows():
    assert {(a, b) for a, tos in svc.ALLOWED.items() for b in tos} == MOVES


@pytest.mark.parametrize(("start", "to"), sorted(MOVES))
def test_every_allowed_move(shop, db, start, to):
    req = bring_to(start, shop)
    do_move(shop, req, to)
    db.session.commit()
    assert req.status == to
    last = req.transitions[-1]
    assert (last.from_status, last.to_status) == (start, to)
    assert req.events[0].kind == to  # the owner is told


FORBIDDEN = [(a, b) for a in STATUSES for b in STATUSES if (a, b) not in MOVES and a != b]


@pytest.mark.parametrize(("start", "to"), FORBIDDEN)
def test_every_forbidden_move_is_refused_clearly(shop, db, start, to):
    req = bring_to(start, shop)
    if to == UNDER_REVIEW and start != SUBMITTED:
        call = lambda: svc.start_review(shop["advisor"], req, shop["advisor"])  # noqa: E731
    else:
        call = lambda: do_move(shop, req, to)  # noqa: E731
    with pytest.raises((NotAllowed, ValidationError)) as err:
        call()
    assert "cannot" in err.value.message or "only when" in err.value.message
    db.session.rollback()
    assert db.session.get(UsedCarRequest, req.id).status == start


def test_reasons_are_required_and_recorded(shop, db):
    req = bring_to(UNDER_REVIEW, shop)
    with pytest.raises(ValidationError):
        svc.reject(shop["advisor"], req, "  ")
    svc.reject(shop["advisor"], req, "事故车未申报")
    db.session.commit()
    t = req.transitions[-1]
    assert (t.actor_id, t.reason) == (shop["advisor"].id, "事故车未申报")
    assert req.events[0].reason == "事故车未申报"


def test_only_the_expert_or_a_manager_decides(shop, db):
    req = bring_to(UNDER_REVIEW, shop)
    with pytest.raises(NotAllowed):
        svc.approve(shop["advisor2"], req, **REPORT)
    with pytest.raises(NotFound):
        svc.approve(shop["other_advisor"], req, **REPORT)
    svc.approve(shop["manager"], req, **REPORT)
    assert req.status == APPROVED


def test_advisors_take_requests_only_themselves(shop, db):
    req = bring_to(SUBMITTED, shop)
    with pytest.raises(NotAllowed):
        svc.start_review(shop["advisor"], req, shop["advisor2"])
    svc.start_review(shop["manager"], req, shop["advisor2"])
    assert req.expert_id == shop["advisor2"].id


def test_approval_needs_a_complete_report(shop, db):
    req = bring_to(UNDER_REVIEW, shop)
    for bad, field in [
        ({"grade": "E"}, "grade"),
        ({"checked_items": []}, "checked_items"),
        ({"valuation_low_fen": None}, "valuation_low"),
        ({"valuation_high_fen": 100}, "valuation_high"),
    ]:
        with pytest.raises(ValidationError) as err:
            svc.approve(shop["advisor"], req, **{**REPORT, **bad})
        assert err.value.field == field


def test_a_stale_status_loses(shop, db):
    """The conditional UPDATE: a caller holding an old status gets a Conflict, nothing moves."""
    from sqlalchemy import update

    req = bring_to(UNDER_REVIEW, shop)
    assert req.open_flags == []
    # Someone else rejects it meanwhile; this session still believes it is under review.
    db.session.execute(
        update(UsedCarRequest)
        .where(UsedCarRequest.id == req.id)
        .values(status=REJECTED)
        .execution_options(synchronize_session=False)
    )
    assert req.status == UNDER_REVIEW
    with pytest.raises(Conflict, match="Someone else changed"):
        svc.approve(shop["advisor"], req, **REPORT)
    assert db.session.get(UsedCarRequest, req.id).status == REJECTED


def test_two_staff_acting_at_once_give_one_winner(app, shop, db):
    req = bring_to(SUBMITTED, shop)
    barrier = threading.Barrier(2)
    results = []

    url = f"/admin/usedcar_review/{req.id}/act"
    staff = [(shop[k].login, shop[k].id) for k in ("advisor", "advisor2")]
    db.session.commit()  # the threads' requests must not wait for the test's transaction

    def take(login, user_id):
        client = app.test_client()
        client.post("/login", data={"login": login, "password": factories.PASSWORD})
        barrier.wait()
        r = client.post(url, data={"verb": "take", "expert": user_id})
        results.append(r.status_code)

    threads = [threading.Thread(target=take, args=who) for who in staff]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [303, 303]
    db.session.expire_all()
    takes = db.session.scalars(
        select(UsedCarTransition).where(
            UsedCarTransition.request_id == req.id, UsedCarTransition.to_status == UNDER_REVIEW
        )
    ).all()
    assert len(takes) == 1
    assert db.session.get(UsedCarRequest, req.id).expert_id == takes[0].actor_id


# ---------------------------------------------------------------- plausibility flags


def test_vin_active_elsewhere_is_flagged_and_blocks_approval(shop, f, db):
    first = bring_to(LISTED, shop)
    other = f.owner(shop["store"])
    req = submit(other, vin=first.vin)
    svc.start_review(shop["advisor"], req, shop["advisor"])
    db.session.commit()
    assert [fl.kind for fl in req.open_flags] == ["vin_active"]
    with pytest.raises(NotAllowed, match="Resolve the flags"):
        svc.approve(shop["advisor"], req, **REPORT)
    with pytest.raises(ValidationError):
        svc.resolve_flag(shop["advisor"], req.open_flags[0], "")
    svc.resolve_flag(shop["advisor"], req.open_flags[0], "核实：前一辆已售出")
    svc.approve(shop["advisor"], req, **REPORT)
    with pytest.raises(Conflict, match="already listed"):
        svc.list_car(shop["advisor"], req)  # the database keeps one listing per VIN


def test_mileage_below_the_store_records_is_flagged(shop, f, db):
    v = f.vehicle(shop["owner"], current_km=20_000)
    db.session.add(MileageReading(vehicle_id=v.id, km=61_000, source="service"))
    db.session.commit()
    req = submit(shop["owner"], vehicle=v, mileage_km=55_000)
    flags = {fl.kind: fl for fl in req.open_flags}
    assert set(flags) == {"mileage_low"} and flags["mileage_low"].detail["recorded_km"] == 61_000


def test_vin_of_another_owner_is_flagged(shop, f, db):
    v = f.vehicle(f.owner(shop["store"]), current_km=0)
    req = submit(shop["owner"], vin=v.vin)
    assert [fl.kind for fl in req.open_flags] == ["vin_other_owner"]


def test_a_plausible_car_has_no_flag(shop, f, db):
    v = f.vehicle(shop["owner"], current_km=30_000)
    assert submit(shop["owner"], vehicle=v, mileage_km=31_000).open_flags == []


# ---------------------------------------------------------------- photos' visibility


def test_photos_are_private_until_listed(app, shop, db, auth):
    req = bring_to(APPROVED, shop)
    with app.test_request_context():
        url = url_for("media.image_thumb", image_id=req.photos[0].image_id)
    anon = app.test_client()
    assert anon.get(url).status_code == 404
    other = app.test_client()
    other_owner = factories.owner(shop["store"])
    other.post("/login", data={"login": other_owner.login, "password": factories.PASSWORD})
    assert other.get(url).status_code == 404
    auth.login(shop["owner"])
    assert auth.client.get(url).status_code == 200
    svc.list_car(shop["advisor"], req)
    db.session.commit()
    assert anon.get(url).status_code == 200
    svc.mark_sold(shop["advisor"], req)
    db.session.commit()
    assert anon.get(url).status_code == 404


# ---------------------------------------------------------------- owner views


def form_data(**kw):
    data = {
        "vehicle": "0",
        "vin": factories.vin(),
        "brand": "本田",
        "series": "雅阁",
        "model_year": "2019",
        "mileage_km": "60000",
        "first_registered_on": "2019-08-01",
        "asking_price": "98,500.50",
        "condition": "车况良好",
        "accident_history": "无",
    }
    data.update(kw)
    return data


def test_owner_submits_through_the_form_with_photos(shop, client, auth, db):
    auth.login(shop["owner"])
    data = form_data(photos=[(io.BytesIO(png()), "a.png"), (io.BytesIO(png()), "b.png")])
    r = client.post("/used-cars/new", data=data, content_type="multipart/form-data")
    assert r.status_code == 303
    req = db.session.scalar(select(UsedCarRequest))
    assert req.asking_price_fen == 9_850_050 and len(req.photos) == 2
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Submitted" in page and "Your request was received." in page


def test_bad_form_input_shows_next_to_the_field(shop, client, auth, db):
    auth.login(shop["owner"])
    r = client.post("/used-cars/new", data=form_data(asking_price="12.345"))
    assert r.status_code == 422 and "at most two decimals" in r.get_data(as_text=True)
    r = client.post("/used-cars/new", data=form_data(asking_price="1e100"))
    assert r.status_code == 422 and "Enter an amount in yuan" in r.get_data(as_text=True)
    r = client.post(
        "/used-cars/new",
        data=form_data(photos=[(io.BytesIO(b"nope"), "x.png")]),
        content_type="multipart/form-data",
    )
    assert r.status_code == 422 and "not a valid image" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(UsedCarRequest.id))) == 0


def test_owner_edits_and_resubmits(shop, client, auth, db):
    req = bring_to(CHANGES_REQUESTED, shop)
    keep, old_image = req.photos[0].id, req.photos[0].image_id
    auth.login(shop["owner"])
    page = client.get(f"/used-cars/{req.id}/edit").get_data(as_text=True)
    assert "128000.00" in page and "更多照片" in page
    r = client.post(
        f"/used-cars/{req.id}/edit",
        data={
            "mileage_km": "42100",
            "first_registered_on": "2020-06-01",
            "asking_price": "120000",
            "remove_photo": str(keep),
            "photos": [(io.BytesIO(png((1, 2, 3))), "n.png")],
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 303
    db.session.expire_all()
    req = db.session.get(UsedCarRequest, req.id)
    assert req.status == UNDER_REVIEW and req.asking_price_fen == 12_000_000
    assert len(req.photos) == 1 and req.photos[0].image_id != old_image


def test_status_fragment_for_htmx(shop, client, auth):
    req = bring_to(UNDER_REVIEW, shop)
    auth.login(shop["owner"])
    r = client.get(f"/used-cars/{req.id}", headers={"HX-Request": "true"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in body and "Under review" in body


# ---------------------------------------------------------------- public list and leads


def test_public_list_shows_only_listed_cars_and_filters(shop, client, db):
    listed = bring_to(LISTED, shop)
    approved = bring_to(APPROVED, shop)
    body = client.get("/market/").get_data(as_text=True)
    assert f'id="car-{listed.id}"' in body and f'id="car-{approved.id}"' not in body
    assert client.get(f"/market/{approved.id}").status_code == 404
    detail = client.get(f"/market/{listed.id}").get_data(as_text=True)
    assert "Expert's report" in detail and "¥110,000.00" in detail
    for query, shown in [
        ("brand=丰田", True),
        ("brand=本田", False),
        ("price_max=100000", False),
        ("price_min=100000&price_max=130000", True),
        ("year_min=2021", False),
        ("km_max=40000", False),
        ("km_max=50000", True),
    ]:
        r = client.get(f"/market/?{query}", headers={"HX-Request": "true"})
        page = r.get_data(as_text=True)
        assert "<html" not in page
        assert (f'id="car-{listed.id}"' in page) is shown, query


def test_a_bad_inquiry_gets_a_clear_message_and_records_nothing(shop, client, db):
    from crm.models import Lead

    req = bring_to(LISTED, shop)
    r = client.post(
        f"/market/{req.id}/inquiry",
        data={"name": "x", "phone": "123"},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 422 and "<html" not in r.get_data(as_text=True)
    assert "11-digit" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Lead.id))) == 0
    assert (
        db.session.scalar(select(func.count(UsedCarEvent.id)).where(UsedCarEvent.kind == "lead"))
        == 0
    )
    approved = bring_to(APPROVED, shop)
    r = client.post(f"/market/{approved.id}/inquiry", data={"name": "买家", "phone": "13912345678"})
    assert r.status_code == 404  # not for sale: nothing to ask about


def test_inquiries_are_rate_limited_per_ip(make_app, shop):
    req = bring_to(LISTED, shop)
    limited = make_app(RATELIMIT_ENABLED=True, USEDCAR_INQUIRY_LIMIT_IP="2 per hour")
    client = limited.test_client()
    codes = [
        client.post(
            f"/market/{req.id}/inquiry", data={"name": "买家", "phone": "13912345678"}
        ).status_code
        for _ in range(3)
    ]
    assert codes == [303, 303, 429]
