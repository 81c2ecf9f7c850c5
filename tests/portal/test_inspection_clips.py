"""An inspection item's short video clip: refused at once when it plainly cannot be one,
transcoded by the worker (once, however many workers), played with Range requests by the
store's staff and the owner's link, and carrying nothing of the upload's metadata."""

from __future__ import annotations

import io

import av
import pytest
from PIL import Image as PILImage
from sqlalchemy import func, select

from portal.models import InspectionClip, InspectionItem
from portal.services import clip_media
from portal.services import inspections as svc
from portal.services.inspections import clips
from portal.worker.jobs import JOBS, run_job
from tests.portal.test_inspections import checked_in_booking, make_template
from tests.threads import at_once

HX = {"HX-Request": "true"}
LOCATION = "+31.2304+121.4737/"


def make_clip(seconds=2.0, fps=25, size=(1280, 720), tags=None, audio=False, video=True):
    """Encode a small MP4 as a phone would send it: H.264 frames, maybe AAC sound and tags."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        out.metadata.update(tags or {})
        picture = sound = None  # both streams before the first packet: the header has them
        if video:
            picture = out.add_stream("libx264", rate=fps)
            picture.width, picture.height = size
            picture.pix_fmt = "yuv420p"
        if audio:
            sound = out.add_stream("aac", rate=16000)
            sound.layout = "mono"
        if picture is not None:
            for n in range(int(seconds * fps)):
                frame = av.VideoFrame.from_image(PILImage.new("RGB", size, (n * 7 % 256, 90, 40)))
                frame.pts = n
                out.mux(picture.encode(frame))
            out.mux(picture.encode(None))
        if sound is not None:
            samples = 1024
            for n in range(int(seconds * 16000 / samples)):
                frame = av.AudioFrame(format="fltp", layout="mono", samples=samples)
                frame.planes[0].update(bytes(samples * 4))
                frame.sample_rate, frame.pts = 16000, n * samples
                out.mux(sound.encode(frame))
            out.mux(sound.encode(None))
    return buf.getvalue()


@pytest.fixture
def draft(f, db):
    """A draft inspection of store A's checked-in car, its advisor, and its first item."""
    store = f.store()
    advisor = f.advisor(store)
    booking = checked_in_booking(f, db, store, advisor)
    inspection = svc.start(advisor, booking, make_template(db, store).id)
    db.session.commit()
    return inspection, advisor, inspection.items[0]


def _upload(client, inspection, item, data, name="clip.mp4", **form):
    return client.post(
        f"/admin/inspections/{inspection.id}/items/{item.id}",
        data={
            "severity": "red",
            "note": "异响",
            "price": "100.00",
            "clip": (io.BytesIO(data), name),
            **form,
        },
        headers=HX,
        content_type="multipart/form-data",
    )


def _clip_of(db, item_id) -> InspectionClip | None:
    db.session.expire_all()
    return db.session.scalar(select(InspectionClip).where(InspectionClip.item_id == item_id))


def _clip_job():
    return next(j for j in JOBS if j.name == "inspection-clips")


def test_a_clip_is_transcoded_by_the_worker_and_played_with_ranges(client, auth, f, db, draft):
    inspection, advisor, item = draft
    auth.login(advisor)
    r = _upload(client, inspection, item, make_clip(audio=True, tags={"location": LOCATION}))
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in body
    assert "clip-processing" in body and "/clip/state" in body  # polls while it waits
    clip = _clip_of(db, item.id)
    assert (clip.status, clip.uploaded_by_id, clip.original is not None) == (
        "pending",
        advisor.id,
        True,
    )

    run = run_job(_clip_job())
    assert run.status == "ok" and "ready=1" in run.result
    clip = _clip_of(db, item.id)
    assert (clip.status, clip.original, clip.content_type) == ("ready", None, "video/mp4")
    assert (clip.width, clip.height) == (720, 404) and 1800 <= clip.duration_ms <= 2000
    with av.open(io.BytesIO(clip.video)) as out:
        assert [s.type for s in out.streams] == ["video"]  # the sound is dropped
        assert out.streams.video[0].codec_context.name == "h264"
        assert "location" not in out.metadata and LOCATION.encode() not in clip.video
    with PILImage.open(io.BytesIO(clip.poster)) as poster:
        assert poster.format == "JPEG" and poster.size == (720, 404)

    state = client.get(f"/admin/inspections/{inspection.id}/items/{item.id}/clip/state")
    assert 'controls playsinline preload="none"' in state.get_data(as_text=True)
    assert "hx-trigger" not in state.get_data(as_text=True)  # ready: the polling stops
    staff_url = f"/admin/inspections/{inspection.id}/items/{item.id}/clip"
    part = client.get(staff_url, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.data == clip.video[:100]
    assert part.headers["Content-Range"] == f"bytes 0-99/{clip.video_bytes}"
    whole = client.get(staff_url)
    assert whole.status_code == 200 and whole.data == clip.video
    assert whole.headers["Accept-Ranges"] == "bytes"
    tail = client.get(staff_url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.data == clip.video[-10:]
    beyond = client.get(staff_url, headers={"Range": f"bytes={clip.video_bytes}-"})
    assert beyond.status_code == 416
    poster = client.get(staff_url + "/poster")
    assert poster.status_code == 200 and poster.mimetype == "image/jpeg"

    svc.send(advisor, db.session.get(type(inspection), inspection.id))
    db.session.commit()
    link = svc.link_token(inspection)
    auth.logout()
    page = client.get(f"/inspection/{link}").get_data(as_text=True)
    assert '<video class="dvi-clip" controls playsinline preload="none"' in page
    owner_url = f"/inspection/{link}/items/{item.id}/clip"
    assert f'poster="{owner_url}/poster"' in page and f'src="{owner_url}"' in page
    part = client.get(owner_url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.data == clip.video[100:200]
    assert client.get(owner_url + "/poster").status_code == 200
    assert client.get(f"/inspection/not-a-link/items/{item.id}/clip").status_code == 404

    auth.login(f.advisor(f.store()))  # another store's staff: the clip does not exist
    assert client.get(staff_url, headers={"Range": "bytes=0-99"}).status_code == 404
    assert client.get(staff_url + "/poster").status_code == 404


def test_the_output_carries_no_metadata_of_the_upload():
    upload = make_clip(tags={"location": LOCATION, "title": "客户张三的车", "artist": "iPhone"})
    with av.open(io.BytesIO(upload)) as source:
        assert source.metadata["location"] == LOCATION  # the tag is there to lose
    out = clip_media.transcode(upload, 30, 720)
    with av.open(io.BytesIO(out.video)) as video:
        tags = dict(video.metadata)
        for stream in video.streams:
            tags.update(stream.metadata)
    assert not {"location", "location-eng", "title", "artist"} & set(tags)
    for value in (LOCATION, "客户张三的车", "iPhone"):
        assert value.encode() not in out.video


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (lambda: make_clip(seconds=45, fps=4, size=(64, 48)), "at most 30 seconds"),
        (lambda: b"this is a note, not a video\n" * 50, "not a video clip we can read"),
        (lambda: make_clip(audio=True, video=False), "no picture"),
        (lambda: b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500, "not a video clip we can read"),
    ],
    ids=["45-seconds", "text-named-mp4", "sound-only", "mp4-header-only"],
)
def test_a_clip_that_cannot_be_one_is_refused_at_once(client, auth, db, draft, data, message):
    inspection, advisor, item = draft
    auth.login(advisor)
    r = _upload(client, inspection, item, data(), name="clip.mp4")
    assert r.status_code == 422
    assert message in r.get_data(as_text=True) or _zh(message) in r.get_data(as_text=True)
    assert _clip_of(db, item.id) is None
    assert db.session.get(InspectionItem, item.id).note == ""  # nothing changed


def _zh(message: str) -> str:
    return {
        "at most 30 seconds": "最长 30 秒",
        "not a video clip we can read": "不是可读取的视频",
        "no picture": "没有画面",
    }[message]


def test_an_oversize_clip_is_refused_before_it_is_read(app, client, auth, db, draft, monkeypatch):
    inspection, advisor, item = draft
    upload = make_clip()
    # A limit of a few kilobytes: the test client spools bodies over 500 KB to a file it
    # never closes, and the limit is the same code at any size.
    monkeypatch.setitem(app.config, "CLIP_MAX_MB", 0.005)
    assert len(upload) > 0.005 * 1024 * 1024
    auth.login(advisor)
    r = _upload(client, inspection, item, upload)  # a real clip, only too large
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    assert "at most 0.005 MB" in body or "最大 0.005 MB" in body
    assert _clip_of(db, item.id) is None
    monkeypatch.setitem(app.config, "CLIP_MAX_MB", 1)
    assert _upload(client, inspection, item, upload).status_code == 200  # within it


def test_a_clip_the_worker_refuses_says_why_and_loses_its_upload(
    app, client, auth, db, draft, monkeypatch
):
    inspection, advisor, item = draft
    auth.login(advisor)
    upload = make_clip(seconds=3, size=(320, 240))
    assert _upload(client, inspection, item, upload).status_code == 200
    # A recording whose header hides its length is only found too long when decoded.
    monkeypatch.setitem(app.config, "CLIP_MAX_SECONDS", 1)
    assert run_job(_clip_job()).result == "refused=1"
    clip = _clip_of(db, item.id)
    assert (clip.status, clip.reason) == ("refused", "too_long")
    assert (clip.original, clip.video) == (None, None)  # the upload is deleted either way
    state = client.get(f"/admin/inspections/{inspection.id}/items/{item.id}/clip/state")
    text = state.get_data(as_text=True)
    assert "clip-refused" in text and "hx-trigger" not in text
    assert client.get(f"/admin/inspections/{inspection.id}/items/{item.id}/clip").status_code == 404
    r = _upload(client, inspection, item, b"", remove_clip="1")  # the remove button
    assert r.status_code == 200 and _clip_of(db, item.id) is None


def test_a_clip_removed_while_the_worker_converts_it_stays_removed(db, draft):
    inspection, advisor, item = draft
    svc.record_item(
        advisor, inspection, item.id, severity="amber", note="", price_fen=0, clip=make_clip()
    )
    db.session.commit()
    clip_id = clips.claim_next()
    assert clip_id is not None and clips.claim_next() is None  # claimed: nobody else takes it
    svc.record_item(
        advisor, inspection, item.id, severity="amber", note="", price_fen=0, remove_clip=True
    )
    db.session.commit()
    assert clips.transcode_clip(clip_id) == "gone"
    assert _clip_of(db, item.id) is None


def test_two_workers_racing_for_one_clip_transcode_it_once(app, db, draft):
    inspection, advisor, item = draft
    svc.record_item(
        advisor, inspection, item.id, severity="red", note="", price_fen=0, clip=make_clip()
    )
    db.session.commit()
    results = at_once(app, clips.transcode_pending, 4)
    assert sorted(map(str, results)) == sorted(
        [str({"ready": 1})] + [str({"transcoded": 0})] * 3
    ), results
    clip = _clip_of(db, item.id)
    assert (clip.status, clip.attempts) == ("ready", 1)
    assert db.session.scalar(select(func.count(InspectionClip.id))) == 1
