"""Sign-in with an SMS code: one use, five minutes, limited tries, no enumeration."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import func, select

from portal.channels.base import DeliveryError
from portal.models import OutboxMessage, SmsLoginCode
from portal.services import sms_login
from portal.services.outbox import load_deliverers
from tests import channel_fakes


@pytest.fixture
def gateway(app, monkeypatch):
    """A real local SMS gateway receiving what the sms deliverer sends."""
    fake = channel_fakes.receiver()
    monkeypatch.setitem(app.config, "SMS_PROVIDER", "gateway")
    monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", fake.url + "sms")
    monkeypatch.setitem(
        app.config, "SMS_GATEWAY_BODY", '{"to": $phone, "text": $text, "code": $param_code}'
    )
    yield fake
    fake.stop()


def deliver_all(db) -> int:
    deliverers = load_deliverers()
    rows = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending")))
    for row in rows:
        deliverers[row.channel](row)
    return len(rows)


def received_code(gateway, phone: str) -> str:
    sent = [json.loads(r.body) for r in gateway.received]
    mine = [s for s in sent if s["to"] == phone]
    assert mine, sent
    assert mine[-1]["code"] in mine[-1]["text"]
    return mine[-1]["code"]


def ask(client, phone):
    return client.post("/login/sms", data={"phone": phone})


def test_owner_signs_in_with_the_code_from_the_sms(f, client, db, gateway):
    owner = f.owner(f.store())
    r = ask(client, owner.phone)
    assert r.status_code == 303 and r.headers["Location"].endswith("/login/sms/code")
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.channel == "sms"))
    assert row.kind == "login_code" and row.recipient == owner.phone
    assert deliver_all(db) == 1
    code = received_code(gateway, owner.phone)
    assert code not in json.dumps(row.data) and code not in row.body  # sealed in the table
    stored = db.session.scalar(select(SmsLoginCode))
    assert code not in stored.code_hash
    r = client.post("/login/sms/code", data={"code": code})
    assert r.status_code == 303 and r.headers["Location"].endswith("/")
    assert owner.name in client.get("/").get_data(as_text=True)


def test_unknown_numbers_get_the_same_answer_and_no_sms(f, client, db, gateway, make_app):
    owner = f.owner(f.store())
    stranger = make_app().test_client()
    known, unknown = ask(client, owner.phone), ask(stranger, "13912345678")
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"]
    pages = [c.get("/login/sms/code").get_data(as_text=True) for c in (client, stranger)]
    notice = "If this number belongs to an M4S account, a code is on its way by SMS."
    assert all(notice in page for page in pages)
    assert pages[0].replace(owner.phone, "N").count("<") == pages[1].replace(
        "13912345678", "N"
    ).count("<")
    assert db.session.scalars(select(OutboxMessage.recipient)).all() == [owner.phone]
    assert db.session.scalar(select(func.count(SmsLoginCode.id))) == 2
    assert sms_login.verify_code("13912345678", "000000") is None


def test_codes_of_staff_are_never_sent(f, client, db, gateway):
    advisor = f.advisor(f.store())
    assert ask(client, advisor.phone).status_code == 303
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0


def test_a_code_works_once(f, client, db, gateway):
    owner = f.owner(f.store())
    ask(client, owner.phone)
    deliver_all(db)
    code = received_code(gateway, owner.phone)
    assert client.post("/login/sms/code", data={"code": code}).status_code == 303
    client.post("/logout")
    other = client  # a new login attempt from the same browser
    other.post("/login/sms", data={"phone": owner.phone})
    db.session.rollback()
    assert sms_login.verify_code(owner.phone, code) is None


def test_a_code_expires_after_five_minutes(f, db, gateway, clock):
    owner = f.owner(f.store())
    sms_login.request_code(owner.phone)
    db.session.commit()
    deliver_all(db)
    code = received_code(gateway, owner.phone)
    clock.advance(minutes=5, seconds=1)
    assert sms_login.verify_code(owner.phone, code) is None


def test_wrong_guesses_kill_the_code(f, client, db, gateway):
    owner = f.owner(f.store())
    ask(client, owner.phone)
    deliver_all(db)
    code = received_code(gateway, owner.phone)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        r = client.post("/login/sms/code", data={"code": wrong})
        assert r.status_code == 200
        assert "This code is wrong or no longer valid" in r.get_data(as_text=True)
    assert client.post("/login/sms/code", data={"code": code}).status_code == 200
    assert db.session.scalar(select(SmsLoginCode.attempts)) == 5


def test_a_new_code_retires_the_old_one(f, db, gateway):
    owner = f.owner(f.store())
    sms_login.request_code(owner.phone)
    db.session.commit()
    deliver_all(db)
    first = received_code(gateway, owner.phone)
    sms_login.request_code(owner.phone)
    db.session.commit()
    assert sms_login.verify_code(owner.phone, first) is None


def test_bad_numbers_get_a_clear_message_and_change_nothing(client, db):
    r = ask(client, "12345")
    assert r.status_code == 200
    assert "Enter an 11-digit mainland mobile number." in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(SmsLoginCode.id))) == 0
    assert client.post("/login/sms/code", data={"code": "1"}).status_code == 302  # no number yet


def test_the_code_page_rejects_junk_without_a_500(f, client, db):
    owner = f.owner(f.store())
    ask(client, owner.phone)
    for junk in ("abcdef", "1234567", "", "１２３４５６"):
        assert client.post("/login/sms/code", data={"code": junk}).status_code == 200


def test_requests_are_limited_per_number_and_per_ip(f, make_app, db):
    owner = f.owner(f.store())
    app = make_app(
        RATELIMIT_ENABLED=True, SMS_CODE_LIMIT_NUMBER="2 per hour", SMS_CODE_LIMIT_IP="4 per hour"
    )
    client = app.test_client()
    same_number = [ask(client, owner.phone).status_code for _ in range(3)]
    assert same_number == [303, 303, 429]
    # The +86 spelling is the same number.
    assert ask(client, "+86 " + owner.phone).status_code == 429
    others = [ask(client, f"1391111000{i}").status_code for i in range(3)]
    assert others == [303, 303, 429]  # the IP's fourth request passed, its fifth did not


def test_verification_is_limited_per_ip(f, make_app, db):
    owner = f.owner(f.store())
    app = make_app(RATELIMIT_ENABLED=True, SMS_VERIFY_LIMIT_IP="3 per hour")
    client = app.test_client()
    ask(client, owner.phone)
    codes = [client.post("/login/sms/code", data={"code": "000000"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_two_browsers_racing_with_one_code_log_in_once(f, app, db, gateway):
    owner = f.owner(f.store())
    sms_login.request_code(owner.phone)
    db.session.commit()
    deliver_all(db)
    code = received_code(gateway, owner.phone)
    barrier, results = threading.Barrier(4), []

    def attempt():
        with app.app_context():
            barrier.wait()
            user = sms_login.verify_code(owner.phone, code)
            from portal.extensions import db as _db

            _db.session.commit()
            results.append(user is not None)
            _db.session.remove()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]


def test_a_sealed_code_is_not_sent_late_or_altered(f, db, gateway):
    owner = f.owner(f.store())
    sms_login.request_code(owner.phone)
    db.session.commit()
    row = db.session.scalar(select(OutboxMessage))
    deliver = load_deliverers()["sms"]
    row.data = {**row.data, "ttl": -1}
    with pytest.raises(DeliveryError) as err:
        deliver(row)
    assert err.value.retryable is False
    row.data = {**row.data, "ttl": 300, "sealed": row.data["sealed"][:-4] + "AAAA"}
    with pytest.raises(DeliveryError):
        deliver(row)
    assert gateway.received == []


def test_production_without_a_provider_offers_no_sms_sign_in(make_app):
    client = make_app(ENV="production").test_client()
    assert 'id="sms-login"' not in client.get("/login").get_data(as_text=True)
    assert client.get("/login/sms").status_code == 404
    shown = make_app(ENV="production", SMS_PROVIDER="gateway").test_client()
    assert 'id="sms-login"' in shown.get("/login").get_data(as_text=True)
