"""Video services: requests, assignment, tokens and viewing records (with a controlled clock)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.errors import Conflict, NotFound, ValidationError
from portal.services import bookings as booking_svc
from workshop_video import services as svc
from workshop_video.models import ASSIGNED, ENDED, LIVE, REQUESTED, Camera
from workshop_video.tokens import BadToken, make_token, read_report, read_token, sign_report

SECRET = "test-secret-key-" + "x" * 32


def test_request_assigns_the_bay_camera_at_once(job, db):
    store, owner, advisor, booking, camera = job
    session = svc.request_video(owner, booking)
    db.session.commit()
    assert (session.status, session.camera_id) == (ASSIGNED, camera.id)
    assert svc.request_video(owner, booking).id == session.id  # a second tap: the same request


def test_request_waits_for_an_advisor_without_a_bay_camera(job, db, f):
    store, owner, advisor, booking, camera = job
    camera.bay = 2
    db.session.commit()
    session = svc.request_video(owner, booking)
    db.session.commit()
    assert session.status == REQUESTED and session.camera_id is None
    with pytest.raises(NotFound):
        svc.assign_camera(f.advisor(f.store()), session, camera)
    svc.assign_camera(advisor, session, camera)
    db.session.commit()
    assert (session.status, session.camera_id, session.assigned_by_id) == (
        ASSIGNED,
        camera.id,
        advisor.id,
    )
    with pytest.raises(Conflict):
        svc.assign_camera(advisor, session, camera)


def test_assign_refuses_a_camera_of_another_store(job, db, f):
    store, owner, advisor, booking, camera = job
    camera.bay = 2
    other = Camera(store_id=f.store().id, bay=1, name="elsewhere", source="file:/dev/null")
    db.session.add(other)
    db.session.commit()
    session = svc.request_video(owner, booking)
    with pytest.raises(ValidationError):
        svc.assign_camera(advisor, session, other)


def test_only_the_owner_of_a_job_in_progress_may_ask(job, db, f):
    store, owner, advisor, booking, camera = job
    with pytest.raises(NotFound):
        svc.request_video(f.owner(store), booking)
    waiting = f.booking(owner, store, days=2)
    with pytest.raises(ValidationError):
        svc.request_video(owner, waiting)


def test_token_carries_the_grant_and_expires(job, db, app, clock):
    store, owner, advisor, booking, camera = job
    session = svc.request_video(owner, booking)
    token = svc.issue_token(owner, session)
    grant = read_token(SECRET, token, now=clock.now.timestamp())
    assert (grant.session_id, grant.camera_id, grant.viewer_id, grant.booking_id) == (
        session.id,
        camera.id,
        owner.id,
        booking.id,
    )
    assert grant.source == camera.source and camera.source not in token  # encrypted inside
    later = clock.now.timestamp() + app.config["VIDEO_TOKEN_SECONDS"] + 1
    with pytest.raises(BadToken):
        read_token(SECRET, token, now=later)
    with pytest.raises(BadToken):
        read_token("another-secret-" + "y" * 32, token)
    with pytest.raises(BadToken):
        read_token(SECRET, token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1])


def test_no_token_unless_in_progress_assigned_and_own(job, db, f):
    store, owner, advisor, booking, camera = job
    session = svc.request_video(owner, booking)
    with pytest.raises(NotFound):
        svc.issue_token(f.owner(store), session)
    booking_svc.mark_ready(advisor, booking)
    with pytest.raises(ValidationError):
        svc.issue_token(owner, session)


def test_reports_are_signed(app):
    body = sign_report(SECRET, {"alive": [1]})
    assert read_report(SECRET, body) == {"alive": [1]}
    with pytest.raises(BadToken):
        read_report("another-secret-" + "y" * 32, body)
    token = make_token(
        SECRET, session_id=1, camera_id=1, viewer_id=1, booking_id=1, source="x", ttl=60
    )
    with pytest.raises(BadToken):
        read_report(SECRET, token)  # a viewing token is not a report


def _play(owner, booking, clock):
    session = svc.request_video(owner, booking)
    svc.apply_report({"events": [{"session": session.id, "state": "connected"}], "alive": []})
    assert session.status == LIVE and session.started_at == clock.now
    return session


def test_duration_from_connected_to_closed(job, db, clock):
    store, owner, advisor, booking, camera = job
    session = _play(owner, booking, clock)
    for _ in range(18):
        clock.advance(seconds=5)
        assert svc.apply_report({"events": [], "alive": [session.id]}) == []
    clock.advance(seconds=2)
    svc.apply_report({"events": [{"session": session.id, "state": "closed"}], "alive": []})
    db.session.refresh(session)
    assert (session.status, session.end_reason, session.duration_s) == (ENDED, "closed", 92)


def test_a_vanished_viewer_ends_when_last_seen(job, db, clock, app):
    store, owner, advisor, booking, camera = job
    session = _play(owner, booking, clock)
    start = clock.now
    for _ in range(6):
        clock.advance(seconds=5)
        svc.apply_report({"events": [], "alive": [session.id]})
    # The media server (or its network) goes away: no more reports, no goodbye.
    clock.advance(seconds=app.config["VIDEO_STALE_SECONDS"] - 1)
    assert svc.close_stale() == 0
    clock.advance(seconds=2)
    assert svc.close_stale() == 1
    db.session.refresh(session)
    assert session.end_reason == "timeout"
    assert session.ended_at == start + timedelta(seconds=30)
    assert session.duration_s == 30


def test_stop_and_job_done_tell_the_media_server_to_cut(job, db, clock, f):
    store, owner, advisor, booking, camera = job
    session = _play(owner, booking, clock)
    clock.advance(seconds=40)
    svc.stop_session(owner, session)
    assert svc.apply_report({"events": [], "alive": [session.id]}) == [session.id]
    db.session.refresh(session)
    assert (session.end_reason, session.duration_s) == ("stopped", 40)

    again = _play(owner, booking, clock)
    assert again.id != session.id
    clock.advance(seconds=10)
    booking_svc.mark_ready(advisor, booking)
    assert svc.apply_report({"events": [], "alive": [again.id]}) == [again.id]
    db.session.refresh(again)
    assert (again.end_reason, again.duration_s) == ("job_done", 10)


def test_an_assigned_request_never_played_expires(job, db, clock, app):
    store, owner, advisor, booking, camera = job
    session = svc.request_video(owner, booking)
    cfg = app.config
    clock.advance(seconds=cfg["VIDEO_TOKEN_SECONDS"] + cfg["VIDEO_STALE_SECONDS"] + 1)
    assert svc.close_stale() == 1
    db.session.refresh(session)
    assert (session.end_reason, session.duration_s) == ("expired", 0)


def test_one_open_session_per_viewer_and_booking_in_the_database(job, db):
    from sqlalchemy.exc import IntegrityError

    from workshop_video.models import VideoSession

    store, owner, advisor, booking, camera = job
    svc.request_video(owner, booking)
    db.session.commit()
    db.session.add(VideoSession(booking_id=booking.id, viewer_id=owner.id, store_id=store.id))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_camera_source_credentials_are_masked():
    cam = Camera(source="rtsp://admin:s3cret@10.0.0.5:554/Streaming/Channels/101")
    assert cam.source_display == "rtsp://admin:***@10.0.0.5:554/Streaming/Channels/101"
    assert Camera(source="file:/tmp/a.ts").source_display == "file:/tmp/a.ts"
