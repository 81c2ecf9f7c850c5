"""Erasing an owner's account deletes every picture and clip of them and their cars: booking
photos, inspection photos and clips, used-car photos; others' stay (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import (
    AdvisorProfile,
    AuditEvent,
    Base,
    Booking,
    BookingPhoto,
    Image,
    InspectionClip,
    InspectionItem,
    User,
)
from portal.models.usedcars import UsedCarPhoto
from portal.services import audit, erasure
from portal.services import inspections as svc
from portal.services.media import store_image
from tests.portal.test_bookings import jpeg
from tests.portal.test_inspections import checked_in_booking, make_template
from tests.portal.test_usedcars import submit


def _clip(item: InspectionItem, status: str = "ready") -> None:
    video = b"\x00\x00\x00\x18ftypmp42" + bytes(100)
    ready = status == "ready"
    db.session.add(
        InspectionClip(
            item_id=item.id,
            status=status,
            original=None if ready else video,  # a clip still waiting for the worker
            video=video if ready else None,
            poster=jpeg(exif=False) if ready else None,
            content_type="video/mp4" if ready else None,
            video_bytes=len(video) if ready else None,
            sha256=hashlib.sha256(video).hexdigest() if ready else None,
        )
    )


def _owner_with_pictures(f, store, advisor, template, name: str) -> dict:
    """An owner with a booking photo, an inspection of their car (two photos, a ready clip and
    one waiting for the worker) and a used car offered with its photo."""
    owner = f.owner(store, name=name)
    booking = checked_in_booking(f, db, store, advisor, owner=owner)
    booking.photos.append(BookingPhoto(image_id=store_image(jpeg(), owner=owner).id))
    inspection = svc.start(advisor, booking, template.id)
    first, second = inspection.items[0], inspection.items[1]
    for item in (first, second):
        svc.record_item(
            advisor, inspection, item.id, severity="red", note="磨损", price_fen=100, photo=jpeg()
        )
    _clip(first)
    _clip(second, status="pending")
    request = submit(owner)
    db.session.commit()
    return {
        "owner": owner,
        "booking": booking,
        "items": [first.id, second.id],
        "images": _image_ids(owner, booking),
        "used_car_photos": [p.id for p in request.photos],
    }


def _image_ids(owner: User, booking: Booking) -> set[int]:
    ids = set(db.session.scalars(select(Image.id).where(Image.owner_id == owner.id)))
    ids |= set(
        db.session.scalars(
            select(BookingPhoto.image_id).where(BookingPhoto.booking_id == booking.id)
        )
    )
    return ids


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def scene(f):
    store = f.store()
    advisor = f.advisor(store)
    template = make_template(db, store)
    portrait = store_image(jpeg())  # a public asset: the advisor's portrait
    profile = db.session.get(AdvisorProfile, advisor.id)
    profile.photo_id = portrait.id
    db.session.commit()
    gone = _owner_with_pictures(f, store, advisor, template, "王芳")
    kept = _owner_with_pictures(f, store, advisor, template, "赵强")
    return {"gone": gone, "kept": kept, "portrait": portrait.id, "advisor": advisor}


def _erase(owner: User, clock) -> int:
    db.session.execute(
        User.__table__.update().where(User.id == owner.id).values(erasure_requested_at=clock.now)
    )
    db.session.commit()
    clock.advance(days=8)
    return erasure.erase_due()


def test_erasure_deletes_the_owners_photos_and_clips(scene, clock):
    gone, kept = scene["gone"], scene["kept"]
    assert len(gone["images"]) == 4  # booking photo, two inspection photos, used-car photo
    assert _erase(gone["owner"], clock) == 1
    db.session.expire_all()
    assert _count(Image, Image.id.in_(gone["images"])) == 0
    assert _count(InspectionClip, InspectionClip.item_id.in_(gone["items"])) == 0
    assert _count(BookingPhoto, BookingPhoto.booking_id == gone["booking"].id) == 0
    assert _count(UsedCarPhoto, UsedCarPhoto.id.in_(gone["used_car_photos"])) == 0
    # The inspection stays for the workshop's figures, without the pictures.
    items = db.session.scalars(select(InspectionItem).where(InspectionItem.id.in_(gone["items"])))
    assert [(i.image_id, i.severity, i.clip) for i in items] == [(None, "red", None)] * 2
    # Nobody else's pictures, nor the store's own, are touched.
    assert _count(Image, Image.id.in_(kept["images"])) == 4
    assert _count(InspectionClip, InspectionClip.item_id.in_(kept["items"])) == 2
    assert _count(UsedCarPhoto, UsedCarPhoto.id.in_(kept["used_car_photos"])) == 1
    assert db.session.get(AdvisorProfile, scene["advisor"].id).photo_id == scene["portrait"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account_erased"))
    assert (event.detail["images"], event.detail["clips"]) == (4, 2)


def test_an_erased_owners_photo_is_gone_from_its_address(scene, clock, client, auth):
    gone = scene["gone"]
    auth.login(scene["advisor"])
    page = client.get(f"/admin/inspections/{gone['booking'].inspection.id}")
    thumbs = [
        part.split('"')[0]
        for part in page.get_data(as_text=True).split('src="')[1:]
        if part.startswith("/media/")
    ]
    assert thumbs and all(client.get(t).status_code == 200 for t in thumbs)
    _erase(gone["owner"], clock)
    auth.logout()  # eight days later the session is over: sign in again
    auth.login(scene["advisor"])
    assert [client.get(t).status_code for t in thumbs] == [404] * len(thumbs), thumbs


def test_an_erasure_that_fails_keeps_every_picture_with_its_rows(scene, clock, monkeypatch):
    gone = scene["gone"]
    before = {
        image_id: db.session.scalar(select(Image.data).where(Image.id == image_id))
        for image_id in gone["images"]
    }

    def fail(action, **kw):
        if action == "account_erased":
            raise RuntimeError("the database went away")
        return original(action, **kw)

    original = audit.record
    monkeypatch.setattr(audit, "record", fail)
    with pytest.raises(RuntimeError):
        _erase(gone["owner"], clock)
    db.session.rollback()
    db.session.expire_all()
    # Everything is there, and every row still points at a picture that is there.
    for image_id, data in before.items():
        assert db.session.scalar(select(Image.data).where(Image.id == image_id)) == data
    items = db.session.scalars(select(InspectionItem).where(InspectionItem.id.in_(gone["items"])))
    assert all(i.image_id in before and i.clip is not None for i in items)
    assert _count(BookingPhoto, BookingPhoto.booking_id == gone["booking"].id) == 1
    assert db.session.get(User, gone["owner"].id).is_active


def test_every_column_pointing_at_images_says_what_erasure_does_to_it(app):
    pointing = {
        (table.name, fk.parent.name)
        for table in Base.metadata.tables.values()
        for fk in table.foreign_keys
        if fk.column.table.name == "images"
    }
    assert pointing == set(erasure.IMAGE_REFERENCES)
