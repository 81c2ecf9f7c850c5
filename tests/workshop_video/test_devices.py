"""Device management: areas and bays, camera checks and test frames, masked credentials."""

from __future__ import annotations

import io
import logging

import pytest
from PIL import Image

from portal.errors import NotFound, ValidationError
from portal.models import AuditEvent
from workshop_video import devices, probe
from workshop_video.models import Camera, WorkshopArea
from workshop_video.sources import mask_source, merge_source

SECRET_URL = "rtsp://admin:Pa55word@127.0.0.1:9/Streaming/Channels/101"  # refused at once


def test_mask_and_merge_keep_the_password_out_of_sight():
    assert mask_source(SECRET_URL) == "rtsp://admin:***@127.0.0.1:9/Streaming/Channels/101"
    assert mask_source("file:/srv/bay.ts") == "file:/srv/bay.ts"
    masked = mask_source(SECRET_URL)
    assert merge_source(SECRET_URL, masked) == SECRET_URL
    assert merge_source(SECRET_URL, "") == SECRET_URL
    assert merge_source(SECRET_URL, masked.replace("/101", "/102")) == SECRET_URL.replace(
        "/101", "/102"
    )
    assert merge_source(SECRET_URL, "rtsp://ops:new@h/1") == "rtsp://ops:new@h/1"
    assert merge_source("rtsp://h/1", "rtsp://a:***@h/1") == "rtsp://a@h/1"


def test_probe_opens_the_demo_clip_and_grabs_a_jpeg(clip):
    assert probe.check(f"file:{clip}", 2).ok
    result = probe.check(f"file:{clip}", 2, frame=True)
    with Image.open(io.BytesIO(result.jpeg)) as img:
        assert (img.format, img.size) == ("JPEG", (640, 360))


def test_probe_failure_is_masked():
    result = probe.check(SECRET_URL, 1, frame=True)
    assert not result.ok and result.jpeg is None
    assert result.error and "Pa55word" not in result.error


def test_check_camera_records_status_and_last_good_check(job, db, clock):
    store, owner, advisor, booking, camera = job
    assert camera.status == "unknown"
    assert devices.check_camera(camera).ok
    assert (camera.status, camera.last_ok_at, camera.last_error) == ("online", clock.now, "")
    good = camera.last_ok_at
    clock.advance(minutes=5)
    camera.source = SECRET_URL
    assert not devices.check_camera(camera).ok
    assert (camera.status, camera.checked_at, camera.last_ok_at) == ("offline", clock.now, good)
    assert "Pa55word" not in camera.last_error


def test_areas_and_bays(f, db):
    store = f.store()
    manager = f.manager(store)
    area = devices.add_area(manager, " 机电区 ")
    assert area.name == "机电区"
    with pytest.raises(ValidationError):
        devices.add_area(manager, "机电区")
    with pytest.raises(ValidationError):
        devices.add_area(f.admin(), "钣喷区")  # an admin belongs to no store
    devices.add_bay(manager, area, 2)
    with pytest.raises(ValidationError):
        devices.add_bay(manager, area, 2)
    with pytest.raises(ValidationError):
        devices.add_bay(manager, area, store.bays + 1)
    with pytest.raises(NotFound):
        devices.store_area(f.manager(f.store()), area.id)
    db.session.add(Camera(store_id=store.id, bay=2, name="C2", source="file:/x.ts"))
    db.session.add(Camera(store_id=store.id, bay=5, name="C5", source="file:/y.ts"))
    db.session.flush()
    areas, by_bay, loose = devices.store_layout(store.id)
    assert [a.name for a in areas] == ["机电区"]
    assert by_bay[2].name == "C2" and [c.name for c in loose] == ["C5"]


def test_camera_check_command_masks_sources(app, job, db):
    store, owner, advisor, booking, camera = job
    db.session.add(Camera(store_id=store.id, bay=2, name="Gate", source=SECRET_URL))
    db.session.commit()
    out = app.test_cli_runner().invoke(args=["m4s", "camera-check"]).output
    assert "online\tBay 1" in out and "offline\tGate" in out
    assert "admin:***@" in out and "Pa55word" not in out
    assert "1/2 cameras online." in out


def test_devices_page_check_and_test_buttons(job, auth, client, db, f):
    store, owner, advisor, booking, camera = job
    manager = f.manager(store)
    secret = Camera(store_id=store.id, bay=2, name="Gate", source=SECRET_URL)
    db.session.add(secret)
    db.session.commit()
    auth.login(manager)
    response = client.post("/admin/video_devices/areas", data={"name": "机电区"})
    assert response.status_code == 303
    area = db.session.scalars(db.select(WorkshopArea)).one()
    response = client.post(f"/admin/video_devices/areas/{area.id}/bays", data={"number": "99"})
    assert response.status_code == 422
    assert "This store has bays 1 to" in response.get_data(as_text=True)
    client.post(f"/admin/video_devices/areas/{area.id}/bays", data={"number": "1"})
    page = client.get("/admin/video_devices/").get_data(as_text=True)
    assert "机电区" in page and "admin:***@127.0.0.1:9" in page and "Pa55word" not in page
    assert client.post(f"/admin/video_devices/cameras/{camera.id}/check").status_code == 303
    db.session.refresh(camera)
    assert camera.status == "online" and camera.last_ok_at is not None
    page = client.get("/admin/video_devices/").get_data(as_text=True)
    assert 'data-status="online"' in page and "Last OK" in page
    test = client.post(f"/admin/video_devices/cameras/{camera.id}/test")
    assert test.headers["Cache-Control"] == "no-store, private"
    assert 'id="camera-frame" src="data:image/jpeg;base64,' in test.get_data(as_text=True)
    failed = client.post(f"/admin/video_devices/cameras/{secret.id}/test").get_data(as_text=True)
    assert 'id="camera-frame-error"' in failed and "Pa55word" not in failed
    other = Camera(store_id=f.store().id, bay=1, name="Elsewhere", source="file:/z.ts")
    db.session.add(other)
    db.session.commit()
    assert client.post(f"/admin/video_devices/cameras/{other.id}/check").status_code == 404


def test_camera_edit_keeps_the_masked_password(job, auth, client, db, f, caplog):
    store, owner, advisor, booking, camera = job
    cam = Camera(store_id=store.id, bay=2, name="Gate", source=SECRET_URL)
    db.session.add(cam)
    db.session.commit()
    auth.login(f.manager(store))
    listing = client.get("/admin/cameras/").get_data(as_text=True)
    assert "admin:***@" in listing and "Pa55word" not in listing
    form = client.get(f"/admin/cameras/edit/?id={cam.id}").get_data(as_text=True)
    assert "admin:***@" in form and "Pa55word" not in form
    data = {"name": "Gate 2", "bay": "2", "source": mask_source(SECRET_URL), "is_active": "y"}
    assert client.post(f"/admin/cameras/edit/?id={cam.id}", data=data).status_code == 302
    db.session.refresh(cam)
    assert (cam.name, cam.source) == ("Gate 2", SECRET_URL)
    # A clash with bay 1's camera: the database error (which quotes the URL) stays hidden.
    caplog.set_level(logging.DEBUG)
    clash = {**data, "name": "Bay 1"}
    page = client.post(f"/admin/cameras/edit/?id={cam.id}", data=clash, follow_redirects=True)
    assert "another camera of this store" in page.get_data(as_text=True)
    assert "Pa55word" not in page.get_data(as_text=True) and "Pa55word" not in caplog.text
    assert db.session.scalar(db.select(AuditEvent.id).where(AuditEvent.action.like("%cameras")))
