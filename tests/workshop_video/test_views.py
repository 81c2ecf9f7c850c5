"""The owner's watch page, its JSON helpers, the report endpoint and the back office."""

from __future__ import annotations

from workshop_video import services as svc
from workshop_video.models import VideoSession
from workshop_video.tokens import read_token, sign_report

SECRET = "test-secret-key-" + "x" * 32


def test_booking_page_offers_watch_only_in_progress(job, auth, client, f):
    store, owner, advisor, booking, camera = job
    auth.login(owner)
    page = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert 'id="watch-link"' in page
    waiting = f.booking(owner, store, days=3)
    assert 'id="watch-link"' not in client.get(f"/bookings/{waiting.id}").get_data(as_text=True)


def test_watch_flow_and_csp(job, auth, client, db, app):
    store, owner, advisor, booking, camera = job
    auth.login(owner)
    response = client.post(f"/bookings/{booking.id}/video")
    assert response.status_code == 303
    session = db.session.scalars(db.select(VideoSession)).one()
    page = client.get(f"/bookings/{booking.id}/video")
    csp = page.headers["Content-Security-Policy"]
    assert "connect-src 'self' http://127.0.0.1:8081;" in csp
    assert "<script>" not in page.get_data(as_text=True)
    assert "127.0.0.1:8081" not in client.get("/bookings").headers["Content-Security-Policy"]
    state = client.get(f"/video/{session.id}/state").get_json()
    assert state == {
        "session": session.id,
        "status": "assigned",
        "end_reason": None,
        "booking_status": "in_progress",
        "playable": True,
    }
    grant = client.post(f"/video/{session.id}/token").get_json()
    assert read_token(SECRET, grant["token"]).session_id == session.id
    assert client.post(f"/video/{session.id}/stop").status_code == 303
    db.session.refresh(session)
    assert session.end_reason == "stopped"
    assert client.post(f"/video/{session.id}/token").status_code == 409


def test_another_owner_cannot_see_or_use_the_session(job, auth, client, f):
    store, owner, advisor, booking, camera = job
    session = svc.request_video(owner, booking)
    auth.login(f.owner(store))
    assert client.get(f"/bookings/{booking.id}/video").status_code == 404
    assert client.get(f"/video/{session.id}/state").status_code == 404
    assert client.post(f"/video/{session.id}/token").status_code == 404


def test_report_endpoint_checks_the_signature(job, client, db):
    store, owner, advisor, booking, camera = job
    session = svc.request_video(owner, booking)
    db.session.commit()
    forged = sign_report("another-secret-" + "y" * 32, {"alive": [session.id]})
    assert client.post("/video/internal/report", data=forged).status_code == 403
    body = sign_report(SECRET, {"events": [{"session": session.id, "state": "connected"}]})
    answer = client.post("/video/internal/report", data=body)
    assert answer.status_code == 200 and answer.get_json() == {"stop": []}
    db.session.refresh(session)
    assert session.status == "live"


def test_advisor_assigns_a_camera_from_the_queue(job, auth, client, db):
    store, owner, advisor, booking, camera = job
    camera.bay = 3
    db.session.commit()
    session = svc.request_video(owner, booking)
    db.session.commit()
    auth.login(advisor)
    page = client.get("/admin/video_queue/").get_data(as_text=True)
    assert f'id="video-request-{session.id}"' in page
    fragment = client.get("/admin/video_queue/items", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True)
    answer = client.post(f"/admin/video_queue/{session.id}/assign", data={"camera": camera.id})
    assert answer.status_code == 303
    db.session.refresh(session)
    assert session.status == "assigned" and session.assigned_by_id == advisor.id


def test_records_and_trust_analytics(job, auth, client, db, f, clock):
    store, owner, advisor, booking, camera = job
    for _ in range(3):
        s = svc.request_video(owner, booking)
        svc.apply_report({"events": [{"session": s.id, "state": "connected"}]})
        clock.advance(minutes=15)
        svc.stop_session(owner, s)
    db.session.commit()
    auth.login(f.manager(store))
    records = client.get("/admin/video_sessions/").get_data(as_text=True)
    assert records.count("900") == 3  # three sessions of 15 minutes
    page = client.get("/admin/video_trust/?min_sessions=3&min_minutes=999")
    html = page.get_data(as_text=True)
    assert html.count("<svg") == 5 and "<script>" not in html
    assert owner.name in html
    fewer = client.get("/admin/video_trust/?min_sessions=4&min_minutes=999")
    assert owner.name not in fewer.get_data(as_text=True)
