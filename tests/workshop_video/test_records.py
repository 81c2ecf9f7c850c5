"""Viewing records (filters, charts, translated words) and trust follow-ups."""

from __future__ import annotations

import re
from datetime import timedelta

from portal.models import AuditEvent
from workshop_video import services as svc
from workshop_video.models import TrustFollowUp, VideoSession


def _filter(app, name: str, operation: str) -> str:
    """Return the URL parameter of one filter of the viewing records."""
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "video_sessions")
    for key, (_idx, flt) in view._filter_args.items():
        if str(flt.name) == name and str(flt.operation()) == operation:
            return f"flt0_{key}"
    raise AssertionError(f"no filter {name} {operation}")


def _cells(page: str, column: str) -> list[str]:
    return [c.strip() for c in re.findall(rf'<td class="col-{column}">(.*?)</td>', page, re.S)]


def _watch(owner, booking, clock, minutes: int, *, stop: bool = True):
    s = svc.request_video(owner, booking)
    svc.apply_report({"events": [{"session": s.id, "state": "connected"}]})
    clock.advance(minutes=minutes)
    if stop:
        svc.stop_session(owner, s)
    else:
        svc.apply_report({"events": [{"session": s.id, "state": "failed"}]})
    return s


def test_records_filter_chart_and_words(app, job, auth, client, db, f, clock):
    store, owner, advisor, booking, camera = job
    # Start at 10:00 in the store's zone (UTC+8), so that the sessions of "today" do not
    # cross local midnight whatever the hour the suite runs.
    start = (clock.now + timedelta(days=1)).replace(hour=2, minute=0, second=0, microsecond=0)
    clock.advance(seconds=(start - clock.now).total_seconds())
    _watch(owner, booking, clock, 10)
    clock.advance(days=1)
    _watch(owner, booking, clock, 20, stop=False)
    other = f.owner(store)
    other_booking = f.booking(other, store)
    other_booking.status, other_booking.bay = "in_progress", 1
    _watch(other, other_booking, clock, 30)
    db.session.commit()
    auth.login(f.manager(store))
    page = client.get("/admin/video_sessions/").get_data(as_text=True)
    assert 'id="video-per-day"' in page and 'id="video-avg-minutes"' in page
    assert sorted(_cells(page, "end_reason")) == [
        "connection failed",
        "stopped by the owner",
        "stopped by the owner",
    ]
    assert _cells(page, "status") == ["ended"] * 3
    reason = _filter(app, "End reason", "equals")
    failed = client.get(f"/admin/video_sessions/?{reason}=failed").get_data(as_text=True)
    assert _cells(failed, "end_reason") == ["connection failed"]
    assert _cells(failed, "duration_s") == ["1200"]
    phone = _filter(app, "Owner phone", "equals")
    mine = client.get(f"/admin/video_sessions/?{phone}={other.phone}").get_data(as_text=True)
    assert _cells(mine, "duration_s") == ["1800"]
    by_camera = client.get(f"/admin/video_sessions/?{_filter(app, 'Camera', 'equals')}=Nope")
    assert _cells(by_camera.get_data(as_text=True), "duration_s") == []
    # The charts follow the filter: one day, one session, 30 minutes on average.
    assert re.search(r'id="video-avg-minutes-d">\d\d-\d\d: 30<', mine)
    local_day = (clock.now + timedelta(hours=8)).strftime("%Y-%m-%d")
    since = _filter(app, "Requested", "from")
    today = client.get(f"/admin/video_sessions/?{since}={local_day}").get_data(as_text=True)
    assert sorted(_cells(today, "duration_s")) == ["1200", "1800"]
    until = _filter(app, "Requested", "until")
    day_before = (clock.now + timedelta(hours=8) - timedelta(days=1)).strftime("%Y-%m-%d")
    early = client.get(f"/admin/video_sessions/?{until}={day_before}").get_data(as_text=True)
    assert _cells(early, "duration_s") == ["600"]


def test_trust_follow_up_beside_history(job, auth, client, db, f, clock):
    store, owner, advisor, booking, camera = job
    for _ in range(3):
        _watch(owner, booking, clock, 15)
    db.session.commit()
    manager = f.manager(store)
    auth.login(manager)
    url = "/admin/video_trust/?min_sessions=3&min_minutes=999"
    page = client.get(url).get_data(as_text=True)
    assert f'id="trust-owner-{owner.id}"' in page
    assert f"/admin/reviewed/details/?id={booking.id}" in page
    action = f"/admin/video_trust/owners/{owner.id}/follow-up?min_sessions=3&min_minutes=999"
    empty = client.post(action, data={"note": "  "})
    assert empty.status_code == 422
    assert "Write what you did or agreed." in empty.get_data(as_text=True)
    assert db.session.scalar(db.select(TrustFollowUp.id)) is None
    done = client.post(action, data={"note": "电话沟通，车主放心了"})
    assert done.status_code == 303 and done.headers["Location"].endswith(url)
    note = db.session.scalars(db.select(TrustFollowUp)).one()
    assert (note.owner_id, note.staff_id, note.store_id) == (owner.id, manager.id, store.id)
    audit = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "video_trust_follow_up")
    ).one()
    assert audit.actor_id == manager.id and audit.detail["owner"] == owner.id
    page = client.get(url).get_data(as_text=True)
    assert "电话沟通，车主放心了" in page and manager.name in page
    # An owner who never watched this store's video is no business of its staff.
    stranger = f.owner(f.store())
    assert client.post(f"/admin/video_trust/owners/{stranger.id}/follow-up").status_code == 404
    assert (
        db.session.scalar(db.select(VideoSession.id).where(VideoSession.viewer_id == stranger.id))
        is None
    )


def test_trust_history_counts_shop_orders(job, auth, client, db, f, clock):
    from shop import cart as carts
    from shop import orders
    from shop.models import Category, Product

    store, owner, advisor, booking, camera = job
    for _ in range(3):
        _watch(owner, booking, clock, 15)
    product = Product(sku="V-1", name="Mat", category=Category(name="Mats"), price_fen=100)
    db.session.add(product)
    db.session.flush()
    f.stock(product, 5, store)
    cart = carts.open_cart(owner)
    carts.set_quantity(cart, product, 1)
    order = orders.place_order(owner, cart, delivery="pickup", store=store)
    db.session.commit()
    auth.login(f.manager(store))
    page = client.get("/admin/video_trust/?min_sessions=3&min_minutes=999").get_data(as_text=True)
    assert f"/admin/shop_orders/{order.id}" in page and order.number in page


def test_the_stores_viewing_figures_count_the_last_90_days(job, db, f, clock):
    from workshop_video import analytics

    store, owner, advisor, booking, camera = job
    old = _watch(owner, booking, clock, 30)
    _watch(owner, booking, clock, 6)
    _watch(owner, booking, clock, 4)
    old.requested_at = clock.now - timedelta(days=analytics.PER_STORE_DAYS + 1)
    db.session.commit()
    ((name, views, minutes, _share),) = analytics.per_store(f.manager(store))
    assert name == store.name and views == 2.0 and round(minutes) == 10
