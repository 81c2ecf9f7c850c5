"""Uploads: decompression bombs refused from their header, request caps, and photos decoded
outside the write transaction."""

from __future__ import annotations

import io
import sqlite3

import pytest
from PIL import Image as PILImage
from sqlalchemy import func, select

from portal.errors import ValidationError
from portal.models import Booking, Image, UsedCarRequest
from portal.services import media
from tests.conftest import Auth
from tests.factories import slot
from tests.portal.test_booking_views import form as booking_form
from tests.portal.test_usedcars import form_data, png

MB = 1024 * 1024


def bomb(side: int = 8900) -> bytes:
    """Return a PNG of a few kB that declares side x side pixels (8900: 79 Mpx, 9.7 kB)."""
    out = io.BytesIO()
    PILImage.new("1", (side, side)).save(out, format="PNG")
    return out.getvalue()


def peak_rss_growth(action) -> int:
    """Run action and return how far it raised this process's peak resident memory, bytes."""

    def peak() -> int:
        with open("/proc/self/status") as status:
            line = next(x for x in status if x.startswith("VmHWM:"))
        return int(line.split()[1]) * 1024

    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # reset the peak to the current resident size
    before = peak()
    action()
    return peak() - before


@pytest.fixture
def owner(f):
    store = f.store(bays=2)
    return f.owner(store)


def test_the_audits_bomb_is_refused_from_its_header_with_flat_memory(db):
    data = bomb()
    assert len(data) < 12_000

    def process():
        with pytest.raises(ValidationError, match="too large: at most 24 megapixels") as err:
            media.process_image(data, field="photos")
        assert err.value.field == "photos"

    # Decoding it would take 79 MB as bits and 237 MB as RGB; the header check reads neither.
    assert peak_rss_growth(process) < 50 * MB


@pytest.mark.parametrize(
    ("size", "ok"),
    [((4898, 4898), True), ((4900, 4900), False), ((10_001, 1), False), ((10_000, 2), True)],
    ids=["24-mpx", "over-24-mpx", "side-too-long", "long-side-at-limit"],
)
def test_pixel_and_side_limits(db, size, ok):
    out = io.BytesIO()
    PILImage.new("1", size).save(out, format="PNG")
    if ok:
        assert media.process_image(out.getvalue()).width <= media.MAX_SIDE
    else:
        with pytest.raises(ValidationError, match="too large"):
            media.process_image(out.getvalue())


def test_the_pixel_limit_is_a_setting(make_app):
    small = make_app(IMAGE_MAX_PIXELS=2_000_000, IMAGE_MAX_SIDE=3000)
    with small.app_context():
        for size in [(2001, 1000), (3001, 10)]:
            with pytest.raises(ValidationError, match="at most 2 megapixels and 3000 pixels"):
                media.process_image(png(size=size))
        assert media.process_image(png(size=(2000, 1000))).width == media.MAX_SIDE


def test_pillows_own_backstop_is_a_clear_error_too(db, monkeypatch):
    # Beyond our check, Pillow's warning (an error in this suite) and error are answered alike.
    monkeypatch.setattr(PILImage, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ValidationError, match="too large"):
        media.process_image(png(size=(40, 40)))
    with pytest.raises(ValidationError, match="too large"):
        media.process_image(png(size=(60, 40)))


def test_twelve_bombs_in_one_used_car_form_get_one_clear_message(owner, client, auth, db):
    auth.login(owner)
    bombs = [bomb() for _ in range(12)]
    responses = []

    def post():
        data = form_data(photos=[(io.BytesIO(b), f"{i}.png") for i, b in enumerate(bombs)])
        responses.append(
            client.post("/used-cars/new", data=data, content_type="multipart/form-data")
        )

    assert peak_rss_growth(post) < 50 * MB
    page = responses[0].get_data(as_text=True)
    assert responses[0].status_code == 422
    assert page.count("The image is too large") == 1
    assert db.session.scalar(select(func.count(UsedCarRequest.id))) == 0
    assert db.session.scalar(select(func.count(Image.id))) == 0


def test_a_bomb_among_booking_photos_books_nothing(owner, client, auth, db, f):
    car = f.vehicle(owner)
    auth.login(owner)
    data = booking_form(owner.store, car, slot(owner.store, 2, 9))
    data["photos"] = [(io.BytesIO(png()), "ok.png"), (io.BytesIO(bomb()), "bomb.png")]
    r = client.post("/bookings/new", data=data, content_type="multipart/form-data")
    assert r.status_code == 422 and "The image is too large" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Booking.id))) == 0
    assert db.session.scalar(select(func.count(Image.id))) == 0


def test_too_many_files_are_refused_before_any_is_decoded(owner, client, auth, db, f, monkeypatch):
    car = f.vehicle(owner)
    auth.login(owner)
    decoded = []
    real = media.process_image
    monkeypatch.setattr(media, "process_image", lambda *a, **k: decoded.append(1) or real(*a, **k))
    data = booking_form(owner.store, car, slot(owner.store, 2, 9))
    data["photos"] = [(io.BytesIO(png()), f"{i}.png") for i in range(7)]
    r = client.post("/bookings/new", data=data, content_type="multipart/form-data")
    assert r.status_code == 422 and "Attach at most 6 photos" in r.get_data(as_text=True)
    assert decoded == [] and db.session.scalar(select(func.count(Booking.id))) == 0


def test_photos_are_decoded_outside_the_write_transaction(owner, client, auth, db, monkeypatch):
    """On SQLite the decoding must not hold the write lock other requests wait for."""
    seen = []
    real = media.process_image
    url = db.engine.url

    def watching(data, **kw):
        from portal.extensions import db as request_db  # the request's session, not the test's

        free = None
        if url.get_backend_name() == "sqlite":
            other = sqlite3.connect(url.database, timeout=0, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")  # fails at once if anyone holds the lock
                other.execute("ROLLBACK")
                free = True
            except sqlite3.OperationalError:
                free = False
            finally:
                other.close()
        seen.append((request_db.session().in_transaction(), free))
        return real(data, **kw)

    monkeypatch.setattr(media, "process_image", watching)
    auth.login(owner)
    data = form_data(photos=[(io.BytesIO(png()), "a.png"), (io.BytesIO(png()), "b.png")])
    r = client.post("/used-cars/new", data=data, content_type="multipart/form-data")
    assert r.status_code == 303
    sqlite = url.get_backend_name() == "sqlite"
    assert seen == [(False, True if sqlite else None)] * 2
    req = db.session.scalar(select(UsedCarRequest))
    assert len(req.photos) == 2


def test_a_request_over_the_size_cap_gets_a_clear_413_page(owner, make_app, db):
    capped = make_app(UPLOAD_MAX_MB=1)
    assert capped.config["MAX_CONTENT_LENGTH"] == MB
    client = capped.test_client()
    Auth(client).login(owner)
    # A raw body: the test client would spool an encoded one to a file it never closes.
    body = b"\0" * (2 * MB)
    r = client.post("/used-cars/new", data=body, content_type="multipart/form-data; boundary=x")
    assert r.status_code == 413 and "The upload is too large." in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(UsedCarRequest.id))) == 0


def test_a_request_with_too_many_parts_gets_a_413_page(owner, make_app, db):
    capped = make_app(UPLOAD_MAX_PARTS=30)
    client = capped.test_client()
    Auth(client).login(owner)
    data = form_data(remove_photo=[str(i) for i in range(25)])
    r = client.post("/used-cars/new", data=data, content_type="multipart/form-data")
    assert r.status_code == 413 and "The upload is too large." in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(UsedCarRequest.id))) == 0
