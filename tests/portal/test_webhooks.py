"""Outbound webhooks: a real local receiver checks the signatures, each event arrives once
(after a 500 and with two workers), replays keep the event id, bad URLs are refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time

import pytest
from sqlalchemy import func, select, text

from portal import webhook_signature
from portal.errors import NotFound, ValidationError
from portal.models import OutboxMessage, WebhookDelivery, WebhookEndpoint, WebhookEvent
from portal.services import bookings, webhooks
from portal.worker.delivery import deliver_due
from tests.channel_fakes import FakeServer
from tests.factories import PASSWORD

HOOKS = [webhooks.CHANNEL]


class Receiver:
    """A dealer's system: checks M4S-Signature with its own HMAC code (written from the
    documentation, not imported), answers 500 to the first ``fail_first`` requests and
    records the event ids it accepted."""

    def __init__(self, secret: str = "", fail_first: int = 0):
        self.secret = secret
        self.fail_first = fail_first
        self.requests = 0
        self.accepted: list[dict] = []
        self.refused: list[str] = []
        self.lock = threading.Lock()
        self.server = FakeServer(self.handle).start()

    @property
    def url(self) -> str:
        return self.server.url + "hooks"

    def _valid(self, header: str, body: bytes) -> bool:
        fields = dict(part.split("=", 1) for part in header.split(","))
        if abs(time.time() - int(fields["t"])) > 300:
            return False
        mac = hmac.new(self.secret.encode(), f"{fields['t']}.".encode() + body, hashlib.sha256)
        return hmac.compare_digest(mac.hexdigest(), fields["v1"])

    def handle(self, req):
        with self.lock:
            self.requests += 1
            if self.requests <= self.fail_first:
                return 500, {}, b"busy"
            if not self._valid(req.headers.get("m4s-signature", "t=0,v1=x"), req.body):
                self.refused.append(req.headers.get("m4s-event-id", ""))
                return 400, {}, b"bad signature"
            self.accepted.append(json.loads(req.body))
        return 200, {}, b"ok"

    def ids(self) -> list[str]:
        return [e["id"] for e in self.accepted]


@pytest.fixture
def private_ok(app, monkeypatch):
    """Tests receive on 127.0.0.1, which production refuses."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    monkeypatch.setitem(app.config, "OUTBOX_BACKOFF_SECONDS", 1)


@pytest.fixture
def shop_a(f, db):
    store = f.store("A")
    return store, f.manager(store), f.advisor(store), f.owner(store)


def _endpoint(manager, store, receiver, events):
    endpoint, secret = webhooks.create_endpoint(manager, store.id, receiver.url, events)
    receiver.secret = secret
    return endpoint


def _sent_count(db) -> int:
    sent = (OutboxMessage.status == "sent") & (OutboxMessage.channel == webhooks.CHANNEL)
    return db.session.scalar(select(func.count()).select_from(OutboxMessage).where(sent))


def _hook_messages(db) -> list[OutboxMessage]:
    return db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.channel == webhooks.CHANNEL)
    ).all()


def test_booking_events_arrive_signed_once_even_after_a_500(private_ok, f, db, clock, shop_a):
    store, manager, advisor, owner = shop_a
    receiver = Receiver(fail_first=1)
    _endpoint(manager, store, receiver, ["booking.created", "booking.decided"])
    db.session.commit()
    booking = f.booking(owner, store)
    bookings.accept(advisor, booking, bay=1)
    db.session.commit()

    first = deliver_due(channels=HOOKS)
    assert first["sent"] == 1 and first["retry"] == 1  # the 500 is retried, not lost
    clock.advance(minutes=5)
    assert deliver_due(channels=HOOKS)["sent"] == 1
    assert deliver_due(channels=HOOKS) == {"sent": 0, "retry": 0, "dead": 0, "lost": 0}

    assert receiver.refused == []
    assert sorted(e["type"] for e in receiver.accepted) == ["booking.created", "booking.decided"]
    assert len(set(receiver.ids())) == 2  # each event once
    created = next(e for e in receiver.accepted if e["type"] == "booking.created")
    assert created["id"].startswith("evt_") and isinstance(created["created"], int)
    assert created["store"] == {"id": store.id, "name": store.name}
    assert created["data"]["booking"]["id"] == booking.id
    decided = next(e for e in receiver.accepted if e["type"] == "booking.decided")
    assert decided["data"]["booking"]["decision"] == "accepted"
    assert decided["data"]["booking"]["bay"] == 1

    log = db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
    assert [(d.status_code, d.ok) for d in log] == [(500, False), (200, True), (200, True)]
    retried = [d for d in log if d.event_id == log[0].event_id]
    assert [d.attempt for d in retried] == [1, 2]
    assert log[0].error == "HTTP 500" and all(d.latency_ms is not None for d in log)


def test_each_event_arrives_once_with_two_workers_claiming_at_once(app, private_ok, db, shop_a):
    store, manager, _advisor, _owner = shop_a
    receiver = Receiver()
    _endpoint(manager, store, receiver, ["lead.created"])
    for i in range(40):
        webhooks.emit("lead.created", store.id, {"lead": {"id": i}})
    db.session.commit()
    # Two real workers: SKIP LOCKED on PostgreSQL, the single write lock on SQLite. (The
    # deliverer keeps no transaction open while it settles, or SQLite would lock them up.)
    workers = 2
    barrier = threading.Barrier(workers)
    errors = []

    def work():
        from portal.extensions import db as tdb

        with app.app_context():
            try:
                barrier.wait()
                deliver_due(channels=HOOKS)
            except Exception as exc:  # reported below, not swallowed
                errors.append(exc)
            finally:
                tdb.session.remove()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ids = receiver.ids()
    assert len(ids) == 40 and len(set(ids)) == 40
    assert _sent_count(db) == 40
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 40


def test_only_the_stores_active_subscribed_endpoints_get_an_event(private_ok, f, db, shop_a):
    store, manager, _advisor, owner = shop_a
    other = f.store("B")
    receiver = Receiver()
    wants = _endpoint(manager, store, receiver, ["rescue.created"])
    webhooks.create_endpoint(manager, store.id, receiver.url, ["lead.created"])
    webhooks.create_endpoint(f.manager(other), other.id, receiver.url, ["rescue.created"])
    switched_off = _endpoint(manager, store, Receiver(), ["rescue.created"])
    webhooks.set_active(manager, switched_off.id, False)
    db.session.commit()
    rescue = f.rescue(owner)
    queued = _hook_messages(db)
    assert [m.recipient for m in queued] == [str(wants.id)]
    db.session.expire_all()  # the worker's claim reads the rows afresh
    assert deliver_due(channels=HOOKS)["sent"] == 1
    (event,) = receiver.accepted
    assert event["type"] == "rescue.created" and event["data"]["rescue"]["id"] == rescue.id
    assert "callback_phone" not in event["data"]["rescue"]  # ids, not personal data


def test_nothing_is_written_when_no_endpoint_wants_the_event(f, db, shop_a):
    store, _manager, _advisor, owner = shop_a
    f.booking(owner, store)
    assert webhooks.emit("lead.created", store.id, {}) is None
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 0
    assert _hook_messages(db) == []


def test_a_new_lead_is_sent(private_ok, db, shop_a):
    from crm import leads

    store, manager, _advisor, _owner = shop_a
    receiver = Receiver()
    _endpoint(manager, store, receiver, ["lead.created"])
    captured = leads.capture(
        leads.Inquiry(name="王先生", phone="13655550009", store=store, source="phone")
    )
    db.session.commit()
    deliver_due(channels=HOOKS)
    (event,) = receiver.accepted
    assert event["data"]["lead"]["id"] == captured.lead.id
    assert event["data"]["lead"]["source"] == "phone"


def test_signature_tolerance_window_and_tampering():
    body = b'{"id":"evt_1"}'
    header = webhook_signature.sign("whsec_k", body, timestamp=1_000_000)
    assert header.startswith("t=1000000,v1=")
    verify = webhook_signature.verify
    assert verify("whsec_k", body, header, now=1_000_000 + 299)
    assert verify("whsec_k", body, header, now=1_000_000 - 299)
    assert not verify("whsec_k", body, header, now=1_000_000 + 301)
    assert verify("whsec_k", body, header, tolerance=600, now=1_000_000 + 301)
    assert not verify("whsec_k", body + b" ", header, now=1_000_000)
    assert not verify("whsec_other", body, header, now=1_000_000)
    assert not verify("whsec_k", body, "v1=" + header.split("v1=")[1], now=1_000_000)
    assert not verify("whsec_k", body, "garbage", now=1_000_000)
    two = f"{header},v1={'0' * 64}"  # a second digest (another secret) is allowed
    assert verify("whsec_k", body, two, now=1_000_000)


def test_replay_resends_the_same_event_id(private_ok, f, db, client, auth, shop_a):
    store, manager, _advisor, owner = shop_a
    receiver = Receiver()
    endpoint = _endpoint(manager, store, receiver, ["booking.created"])
    db.session.commit()
    f.booking(owner, store)
    deliver_due(channels=HOOKS)
    (first,) = receiver.ids()
    auth.login(manager)
    url = f"/admin/webhooks/{endpoint.id}/replay/{first}"
    response = client.post(url)
    assert response.status_code == 303
    assert deliver_due(channels=HOOKS)["sent"] == 1
    assert receiver.ids() == [first, first]  # same id: the receiver can drop the copy
    log = db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
    assert [d.replay for d in log] == [False, True]
    page = client.get(f"/admin/webhooks/{endpoint.id}/").get_data(as_text=True)
    assert first in page and "sent again by hand" in page

    response = client.post(f"/admin/webhooks/{endpoint.id}/replay/evt_{'0' * 32}")
    assert response.status_code == 303
    assert "never sent that event" in client.get(response.location).get_data(as_text=True)
    assert len(_hook_messages(db)) == 2


@pytest.mark.parametrize(
    "url, says",
    [
        ("ftp://erp.example.com/hooks", "must start with http:// or https://"),
        ("erp.example.com/hooks", "must start with http:// or https://"),
        ("https://", "must start with http:// or https://"),
        ("http://127.0.0.1:8000/hooks", "private network"),
        ("http://169.254.169.254/latest/meta-data", "private network"),
        ("http://10.1.2.3/hooks", "private network"),
        ("http://[::1]/hooks", "private network"),
        ("http://localhost/hooks", "private network"),
        ("https://ops:pw@erp.example.com/hooks", "user name and password"),
        ("https://erp.example.com:99999/", "not a valid web address"),
        ("https://erp.example.com/" + "a" * 480, "longer than 500 characters"),
    ],
)
def test_bad_urls_are_refused_with_a_clear_message(f, db, client, auth, url, says):
    store = f.store("A")
    auth.login(f.manager(store))
    response = client.post(
        "/admin/webhooks/new", data={"url": url, "events": ["booking.created"], "store": store.id}
    )
    assert response.status_code == 422
    assert says in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0


def test_no_event_chosen_is_refused(f, db, client, auth):
    store = f.store("A")
    auth.login(f.manager(store))
    response = client.post(
        "/admin/webhooks/new", data={"url": "https://erp.example.com/h", "store": store.id}
    )
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0


def test_a_private_target_is_not_delivered_without_the_setting(app, f, db, monkeypatch, shop_a):
    store, manager, _advisor, _owner = shop_a
    receiver = Receiver()
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    _endpoint(manager, store, receiver, ["lead.created"])
    webhooks.emit("lead.created", store.id, {"lead": {"id": 1}})
    db.session.commit()
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", False)
    assert deliver_due(channels=HOOKS)["dead"] == 1
    assert receiver.requests == 0
    (log,) = db.session.scalars(select(WebhookDelivery)).all()
    assert "private address" in log.error and log.status_code is None


def test_secret_is_shown_once_and_rotation_replaces_it(private_ok, f, db, client, auth, shop_a):
    store, manager, _advisor, owner = shop_a
    receiver = Receiver()
    auth.login(manager)
    page = client.post(
        "/admin/webhooks/new",
        data={"url": receiver.url, "events": ["booking.created"], "store": store.id},
    ).get_data(as_text=True)
    endpoint = db.session.scalars(select(WebhookEndpoint)).one()
    secret = page.split('id="new-secret-value">')[1].split("<")[0]
    assert secret.startswith("whsec_") and endpoint.secret_sealed == secret
    # At rest it is a Fernet token under M4S_DATA_KEYS, never the secret itself.
    raw = db.session.execute(
        text("SELECT secret_sealed FROM webhook_endpoints WHERE id = :id"), {"id": endpoint.id}
    ).scalar_one()
    assert raw.startswith("gAAAAA") and secret not in raw
    listing = client.get("/admin/webhooks/").get_data(as_text=True)
    assert secret not in listing and store.name in listing and receiver.url in listing

    page = client.post(f"/admin/webhooks/{endpoint.id}/rotate").get_data(as_text=True)
    new_secret = page.split('id="new-secret-value">')[1].split("<")[0]
    assert new_secret != secret
    receiver.secret = secret  # a receiver still on the old secret refuses the new signatures
    f.booking(owner, store)
    deliver_due(channels=HOOKS)
    assert receiver.accepted == [] and len(receiver.refused) == 1


def test_managers_see_only_their_stores_endpoints(f, db, shop_a):
    store, manager, advisor, _owner = shop_a
    other_manager = f.manager(f.store("B"))
    endpoint, _secret = webhooks.create_endpoint(
        manager, store.id, "https://erp.example.com/h", ["order.paid"]
    )
    with pytest.raises(NotFound):
        webhooks.endpoint_of(other_manager, endpoint.id)
    with pytest.raises(NotFound):
        webhooks.create_endpoint(other_manager, store.id, "https://x.example.com/", ["order.paid"])
    with pytest.raises(Exception, match="Only managers"):
        webhooks.endpoint_of(advisor, endpoint.id)
    assert webhooks.endpoint_of(f.admin(), endpoint.id) is endpoint
    with pytest.raises(ValidationError):
        webhooks.create_endpoint(manager, store.id, "https://erp.example.com/h", ["nope"])


def test_demo_endpoint_loads_once_with_a_delivery_log(f, db, client, auth):
    from portal.demo import DEMO_LOGINS, DEMO_PASSWORD, load_demo
    from portal.demo.webhooks import load_webhook_demo
    from portal.models import User
    from portal.models.accounts import MANAGER

    load_demo(owners=12)
    first = load_webhook_demo()
    db.session.commit()
    assert first["endpoints"] == 1 and first["events"] > 0
    assert load_webhook_demo() == {"endpoints": 0}
    endpoint = db.session.scalars(select(WebhookEndpoint)).one()
    log = db.session.scalars(select(WebhookDelivery)).all()
    assert any(d.ok for d in log) and any(not d.ok for d in log)
    manager = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[MANAGER]))
    auth.login(manager, password=DEMO_PASSWORD[MANAGER])
    page = client.get(f"/admin/webhooks/{endpoint.id}/")
    assert page.status_code == 200 and "HTTP 502" in page.get_data(as_text=True)
    first_try = min(log, key=lambda d: d.at)
    assert first_try.event.type == "ping" and first_try.ok  # tested when it was set up
    assert 'id="send-ping"' in page.get_data(as_text=True)


def test_a_booking_through_its_life_and_a_rescue_send_their_events(private_ok, f, db, shop_a):
    from portal.services import rescue as rescue_svc

    store, manager, advisor, owner = shop_a
    receiver = Receiver()
    every = list(webhooks.EVENT_TYPES)
    _endpoint(manager, store, receiver, every)
    db.session.commit()
    job = f.booking(owner, store, days=1)
    bookings.accept(advisor, job)
    bookings.check_in(advisor, job, 12_000)
    bookings.start_work(advisor, job)
    record = bookings.complete(
        advisor,
        job,
        [{"kind": "part", "description": "机油滤芯", "quantity": 1, "unit_price_fen": 8_800}],
        fault_category="engine",
    )
    declined = f.booking(owner, store, days=2)
    bookings.reject(advisor, declined, "no_capacity")
    cancelled = f.booking(owner, store, days=3)
    bookings.cancel_booking(owner, cancelled)
    rescue = f.rescue(owner)
    rescue_svc.claim(advisor, rescue)
    rescue_svc.resolve(advisor, rescue, "补胎完成")
    db.session.commit()
    deliver_due(channels=HOOKS)
    by_type = {}
    for event in receiver.accepted:
        by_type.setdefault(event["type"], []).append(event["data"])
    done = by_type["service.completed"][0]["service_record"]
    assert done["id"] == record.id and done["total_fen"] == 8_800
    assert done["items"][0]["part_no"] == "" and done["mileage_km"] == 12_000
    decisions = {d["booking"]["id"]: d["booking"]["decision"] for d in by_type["booking.decided"]}
    assert decisions == {job.id: "accepted", declined.id: "rejected"}
    assert by_type["booking.cancelled"][0]["booking"]["previous_status"] == "submitted"
    assert len(by_type["booking.created"]) == 3
    assert by_type["rescue.resolved"][0]["rescue"]["resolved_at"]
    assert len(receiver.accepted) == len(set(receiver.ids())) == 9


def test_webhook_forms_need_a_csrf_token(make_app, f, db):
    app = make_app(WTF_CSRF_ENABLED=True)
    store = f.store("A")
    manager = f.manager(store)
    endpoint, _secret = webhooks.create_endpoint(
        manager, store.id, "https://erp.example.com/h", ["order.paid"]
    )
    db.session.commit()
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login).group(1)
    logged_in = client.post(
        "/login", data={"login": manager.login, "password": PASSWORD, "csrf_token": token}
    )
    assert logged_in.status_code == 303
    assert client.get("/admin/webhooks/").status_code == 200
    for url in (
        "/admin/webhooks/new",
        f"/admin/webhooks/{endpoint.id}/rotate",
        f"/admin/webhooks/{endpoint.id}/active",
    ):
        assert client.post(url, data={"url": "https://x.example.com/"}).status_code == 400
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, endpoint.id).active
    assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 1


def test_a_test_ping_reaches_that_endpoint_only_signed_and_is_logged(
    private_ok, f, db, client, auth, shop_a
):
    store, manager, _advisor, _owner = shop_a
    pinged, other = Receiver(), Receiver()
    endpoint = _endpoint(manager, store, pinged, ["booking.created"])
    _endpoint(manager, store, other, ["booking.created"])
    db.session.commit()
    auth.login(manager)
    response = client.post(f"/admin/webhooks/{endpoint.id}/ping")
    assert response.status_code == 303
    assert "test ping is queued" in client.get(response.location).get_data(as_text=True)
    assert deliver_due(channels=HOOKS)["sent"] == 1
    (event,) = pinged.accepted
    assert pinged.refused == [] and event["type"] == "ping"
    assert event["data"]["ping"]["endpoint_id"] == endpoint.id
    assert other.requests == 0  # the store's other endpoint hears nothing
    (log,) = db.session.scalars(select(WebhookDelivery)).all()
    assert log.endpoint_id == endpoint.id and log.ok and log.event_id == event["id"]
    page = client.get(f"/admin/webhooks/{endpoint.id}/").get_data(as_text=True)
    assert event["id"] in page and f'id="delivery-{log.id}"' in page


def test_a_ping_to_a_switched_off_or_foreign_endpoint_is_refused(private_ok, f, db, client, auth):
    store, other = f.store("A"), f.store("B")
    manager = f.manager(store)
    receiver = Receiver()
    endpoint = _endpoint(manager, store, receiver, ["lead.created"])
    webhooks.set_active(manager, endpoint.id, False)
    db.session.commit()
    auth.login(manager)
    response = client.post(f"/admin/webhooks/{endpoint.id}/ping")
    assert "Switch the endpoint on" in client.get(response.location).get_data(as_text=True)
    auth.logout()
    auth.login(f.manager(other))
    response = client.post(f"/admin/webhooks/{endpoint.id}/ping")
    assert response.status_code == 303
    assert "Webhook not found" in client.get(response.location).get_data(as_text=True)
    assert _hook_messages(db) == [] and receiver.requests == 0
    with pytest.raises(NotFound):
        webhooks.ping(f.manager(other), endpoint.id)
