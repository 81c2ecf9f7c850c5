"""Video fixtures: a job in progress in bay 1 under a camera playing a small generated clip."""

from __future__ import annotations

import pytest

from portal.extensions import db as _db
from workshop_video.clip import make_clip
from workshop_video.models import Camera


@pytest.fixture(scope="session")
def clip(app, tmp_path_factory):
    """A 2-second 640x360 H.264 clip at 25 fps, keyframe every second, in the folder whose
    clips may serve as camera sources."""
    folder = tmp_path_factory.mktemp("video")
    app.config["CAMERA_CLIP_DIR"] = str(folder)
    return make_clip(folder / "bay.ts", seconds=2, width=640, height=360)


@pytest.fixture
def job(f, db, clip):
    """Return (store, owner, advisor, booking in progress in bay 1, camera over bay 1)."""
    from portal.services import bookings as svc

    store = f.store()
    owner, advisor = f.owner(store), f.advisor(store)
    booking = f.booking(owner, store)
    svc.accept(advisor, booking, bay=1)
    svc.check_in(advisor, booking, 12000)
    svc.start_work(advisor, booking)
    camera = Camera(store_id=store.id, bay=1, name="Bay 1", source=f"file:{clip}")
    _db.session.add(camera)
    _db.session.commit()
    return store, owner, advisor, booking, camera
