"""`flask m4s media` and the demo camera, attached to the portal's CLI and demo loader."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import select

from portal.cli import m4s
from portal.demo import DEMO_LOGINS
from portal.extensions import db


@m4s.command("media")
def media() -> None:
    """Run the media server (WebRTC) with this app's secret and settings."""
    from workshop_video.media import Settings, origin_of, serve

    cfg = current_app.config
    serve(
        Settings(
            secret=cfg["SECRET_KEY"],
            media_url=cfg["MEDIA_URL"],
            origin=cfg["MEDIA_ORIGIN"] or origin_of(cfg["BASE_URL"]),
            portal_url=cfg["BASE_URL"],
            report_every=cfg["VIDEO_REPORT_SECONDS"],
            grace=cfg["VIDEO_GRACE_SECONDS"],
            ice_hosts=cfg["MEDIA_ICE_HOSTS"],
        )
    )


@m4s.command("video-sweep")
def video_sweep() -> None:
    """End viewing sessions the media server stopped reporting (run from cron if you like)."""
    from workshop_video.services import close_stale

    n = close_stale()
    db.session.commit()
    click.echo(f"{n} viewing sessions closed.")


@m4s.command("camera-check")
@click.option("--store", "store_id", type=int, default=None, help="Only this store's cameras.")
def camera_check(store_id: int | None) -> None:
    """Try to open every enabled camera; record online/offline and the last good check."""
    from workshop_video.devices import check_all, error_text

    results = check_all(store_id)
    db.session.commit()
    for camera, result in results:
        # source_display: the password never reaches a terminal or a log file
        line = f"{camera.id}\t{camera.status}\t{camera.name}\t{camera.source_display}"
        click.echo(line + (f"\t{error_text(result.error)}" if result.error else ""))
    click.echo(f"{sum(r.ok for _c, r in results)}/{len(results)} cameras online.")


DEMO_AREAS = (("机电区", (1, 2, 3)), ("钣喷区", (4, 5, 6)))


def _demo_areas(store) -> None:
    from workshop_video.models import WorkshopArea, WorkshopBay

    if db.session.scalar(select(WorkshopArea.id).where(WorkshopArea.store_id == store.id)):
        return
    for name, bays in DEMO_AREAS:
        area = WorkshopArea(store_id=store.id, name=name)
        db.session.add(area)
        db.session.flush()
        for n in bays:
            if n <= store.bays:
                db.session.add(WorkshopBay(store_id=store.id, area_id=area.id, number=n))


def demo_clip_path() -> Path:
    return Path(current_app.instance_path) / "video" / "demo-bay.ts"


def load_video_demo(stores=None) -> None:
    """Give the first store a camera over bay 1 (the demo clip) and the demo owner a job in
    progress in that bay, so that `make run` shows live video at once."""
    from portal.models import Booking, BookingEvent, Store, User
    from portal.models.bookings import IN_PROGRESS
    from portal.services import brands
    from portal.timeutil import now
    from workshop_video.clip import make_clip
    from workshop_video.devices import check_camera
    from workshop_video.models import Camera

    store = stores[0] if stores else db.session.scalar(select(Store).order_by(Store.id))
    if store is None:
        return
    clip = make_clip(demo_clip_path())
    camera = db.session.scalar(select(Camera).where(Camera.store_id == store.id, Camera.bay == 1))
    if camera is None:
        camera = Camera(store_id=store.id, bay=1, name="工位 1", source=f"file:{clip}")
        db.session.add(camera)
    else:
        camera.source = f"file:{clip}"  # the instance folder may have moved
    _demo_areas(store)
    check_camera(camera)  # a local file opens at once: the demo camera shows online
    owner = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS["owner"]))
    if owner is None or not owner.vehicles:
        return
    busy = db.session.scalar(
        select(Booking.id).where(Booking.owner_id == owner.id, Booking.status == IN_PROGRESS)
    )
    if busy:
        return
    advisor = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS["advisor"]))
    start = now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    booking = Booking(
        owner_id=owner.id,
        vehicle_id=owner.vehicles[0].id,
        store_id=store.id,
        brand_id=brands.brand_of(owner.vehicles[0].brand),
        slot_start=start,
        status=IN_PROGRESS,
        service_types=["maintenance"],
        description="常规保养（演示）",
        bay=1,
        advisor_id=advisor.id if advisor else None,
        decided_at=start,
    )
    db.session.add(booking)
    db.session.flush()
    db.session.add(BookingEvent(booking_id=booking.id, kind=IN_PROGRESS, to_status=IN_PROGRESS))
