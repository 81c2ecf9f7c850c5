"""Device verbs: workshop areas and bays of a store, and camera checks (status, test frame)."""

from __future__ import annotations

from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal import access
from portal.errors import ValidationError
from portal.extensions import db
from portal.models import Store, User
from portal.timeutil import now
from workshop_video import probe
from workshop_video.models import OFFLINE, ONLINE, Camera, WorkshopArea, WorkshopBay
from workshop_video.sources import allowed_target, parse_networks


def store_camera(staff: User, camera_id: int) -> Camera:
    """Return a camera of the staff member's store, or raise NotFound."""
    return access.store_record(staff, Camera, camera_id, _("Camera not found."))


def store_area(staff: User, area_id: int) -> WorkshopArea:
    """Return a workshop area of the staff member's store, or raise NotFound."""
    return access.store_record(staff, WorkshopArea, area_id, _("Area not found."))


def _add(row, message: str, field: str):
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError as exc:  # the UNIQUE constraint decides races too
        raise ValidationError(message, field=field) from exc
    return row


def add_area(staff: User, name: str) -> WorkshopArea:
    """Add a workshop area to the staff member's store."""
    name = (name or "").strip()
    if staff.store_id is None:
        raise ValidationError(_("Only store staff can add areas."), field="name")
    if not name or len(name) > 40:
        raise ValidationError(_("Give the area a name of up to 40 characters."), field="name")
    area = WorkshopArea(store_id=staff.store_id, name=name)
    return _add(area, _("This store already has an area of that name."), "name")


def add_bay(staff: User, area: WorkshopArea, number: int | None) -> WorkshopBay:
    """Put bay `number` of the area's store into the area."""
    access.require_store(staff, area.store_id, _("Area not found."))
    store = db.session.get(Store, area.store_id)
    if number is None or not 1 <= number <= max(store.bays, 1):
        raise ValidationError(_("This store has bays 1 to %(n)d.", n=store.bays), field="number")
    bay = WorkshopBay(store_id=area.store_id, area_id=area.id, number=number)
    return _add(bay, _("Bay %(n)d is already in an area.", n=number), "number")


def store_layout(store_id: int) -> tuple[list[WorkshopArea], dict[int, Camera], list[Camera]]:
    """Return the store's areas, its cameras by bay number, and cameras in no area."""
    areas = list(
        db.session.scalars(
            select(WorkshopArea).where(WorkshopArea.store_id == store_id).order_by(WorkshopArea.id)
        )
    )
    cameras = list(
        db.session.scalars(
            select(Camera).where(Camera.store_id == store_id).order_by(Camera.bay, Camera.name)
        )
    )
    placed = {b.number for a in areas for b in a.bays}
    by_bay = {c.bay: c for c in cameras if c.bay is not None}
    loose = [c for c in cameras if c.bay not in placed]
    return areas, by_bay, loose


def error_text(code: str) -> str:
    """Return the words for a failed check; every other cause reads as no answer."""
    if code == probe.NOT_ALLOWED:
        return _("this address is not on the camera networks")
    return _("the camera did not answer")


def clip_dir() -> Path:
    """Return the folder whose clips may serve as camera sources (the demo camera's)."""
    configured = current_app.config["CAMERA_CLIP_DIR"]
    return Path(configured) if configured else Path(current_app.instance_path) / "video"


def check_camera(camera: Camera, *, frame: bool = False) -> probe.Probe:
    """Try to open the camera (and grab one frame); record online/offline and when."""
    networks = parse_networks(current_app.config["CAMERA_ALLOWED_NETWORKS"])
    target = allowed_target(camera.source, networks, clip_dir())
    if target is None:
        result = probe.Probe(False, probe.NOT_ALLOWED)
    else:
        result = probe.check(target, current_app.config["VIDEO_PROBE_SECONDS"], frame=frame)
    at = now()
    camera.status = ONLINE if result.ok else OFFLINE
    camera.checked_at = at
    camera.last_error = result.error
    if result.ok:
        camera.last_ok_at = at
    db.session.flush()
    return result


def check_all(store_id: int | None = None) -> list[tuple[Camera, probe.Probe]]:
    """Check every enabled camera (of one store, or all); return each with its result."""
    stmt = select(Camera).where(Camera.is_active.is_(True)).order_by(Camera.id)
    if store_id is not None:
        stmt = stmt.where(Camera.store_id == store_id)
    return [(camera, check_camera(camera)) for camera in db.session.scalars(stmt).all()]
