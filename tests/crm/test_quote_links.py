"""A quote sent to the customer as a signed, expiring link: it goes through the outbox on the
customer's channels, the page shows the whole offer (trade-in and finance too) without a
login, and the customer's one answer ("I accept" / "Call me") lands on the lead's timeline and
with its advisor. A tampered, expired, replaced or foreign link gets a clear page, never 500."""

from __future__ import annotations

import base64
import json
import re
import time
from datetime import UTC, datetime
from datetime import time as dtime

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from crm import leads as svc
from crm import quote_links
from crm import quotes as quote_svc
from crm.models import PHONE, LeadEvent
from crm.pipeline_models import Quote
from portal import signed_links
from portal.errors import Gone, NotFound, ValidationError
from portal.extensions import db as ext_db
from portal.models import Notification, OutboxMessage
from tests.threads import at_once

CAR = quote_svc.Draft(
    brand="比亚迪",
    series="汉EV",
    vehicle_fen=200_000_00,
    discount_fen=3_000_00,
    trade_in_fen=50_000_00,
    trade_in_car="大众 朗逸 2016",
    finance_months=36,
    finance_down_fen=40_000_00,
    finance_monthly_fen=3_210_50,
)


def _lead(store, advisor, phone):
    lead = svc.capture(svc.Inquiry(name="冯女士", phone=phone, store=store, source=PHONE)).lead
    lead.advisor_id = advisor.id
    return lead


@pytest.fixture(autouse=True)
def sms(app, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_PROVIDER", "gateway")


@pytest.fixture(autouse=True)
def store_open(clock):
    """Inquiries come in while the store is open (10:00 in Shanghai today), whatever the hour
    the suite runs: after hours a lead's customer is also sent an acknowledgement."""
    today = clock.now.astimezone(UTC).date()
    clock.now = datetime.combine(today, dtime(2, 0), tzinfo=UTC)


@pytest.fixture
def sale(f, db):
    store = f.store("A")
    advisor = f.advisor(store)
    lead = _lead(store, advisor, "13812340000")
    other_lead = _lead(store, advisor, "13812340001")
    db.session.flush()
    quote = quote_svc.make_quote(advisor, lead, CAR)
    other = quote_svc.make_quote(
        advisor, other_lead, quote_svc.Draft(brand="丰田", series="凯美瑞", vehicle_fen=180_000_00)
    )
    db.session.commit()
    return advisor, quote, other


def _token(path: str) -> str:
    return path.rsplit("/", 1)[1]


def test_sending_queues_the_link_on_the_customers_channels(sale, db):
    advisor, quote, _other = sale
    path = quote_links.send_link(advisor, quote)
    db.session.commit()
    assert path.startswith("/q/")
    messages = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.user_id == quote.lead.customer_id)
    ).all()
    assert "sms" in {m.channel for m in messages}
    assert all(path in m.data["link"] for m in messages)
    assert any("¥147,000.00" in m.body for m in messages)  # what the customer pays
    assert quote.sent_at is not None
    kinds = db.session.scalars(select(LeadEvent.kind).where(LeadEvent.lead_id == quote.lead_id))
    assert "quote_sent" in list(kinds)


def test_a_customer_we_cannot_reach_gets_no_link(app, sale, db, monkeypatch):
    advisor, quote, _other = sale
    monkeypatch.setitem(app.config, "SMS_PROVIDER", "")  # a phone only, and no SMS
    with pytest.raises(ValidationError, match="print the quote"):
        quote_links.send_link(advisor, quote)


def test_a_quote_awaiting_its_discount_is_not_sent(f, db):
    store = f.store("A")
    advisor = f.advisor(store)
    lead = _lead(store, advisor, "13812340009")
    big = quote_svc.Draft(
        brand="丰田", series="凯美瑞", vehicle_fen=200_000_00, discount_fen=90_000_00
    )
    quote = quote_svc.make_quote(advisor, lead, big)
    assert quote.status == "awaiting_approval"
    with pytest.raises(ValidationError):
        quote_links.send_link(advisor, quote)
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0


def test_the_page_shows_the_offer_without_a_login(client, sale, db):
    advisor, quote, _other = sale
    token = quote_links.link_token(quote)
    page = client.get(f"/q/{token}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    for text in (
        "比亚迪 汉EV",
        "¥200,000.00",  # the car
        "−¥3,000.00",  # the discount
        "¥197,000.00",  # the total
        "大众 朗逸 2016",
        "−¥50,000.00",  # the trade-in
        "¥147,000.00",  # what the customer pays
        "Down payment ¥40,000.00, then 36 monthly instalments of ¥3,210.50.",
        quote.lead.store.name,
        advisor.name,
        'id="quote-accept"',
        'id="quote-call"',
    ):
        assert text in page, text
    zh = client.get(f"/q/{token}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "您的报价" in zh and "我接受" in zh


def test_i_accept_is_recorded_once_on_the_timeline_and_the_advisor_is_told(client, sale, db):
    advisor, quote, _other = sale
    token = quote_links.link_token(quote)
    r = client.post(f"/q/{token}", data={"answer": "accept", "note": "周六来签"})
    assert r.status_code == 303
    again = client.post(f"/q/{token}", data={"answer": "call"})
    assert again.status_code == 409
    assert "already answered" in again.get_data(as_text=True)
    db.session.expire_all()
    quote = db.session.get(Quote, quote.id)
    assert (quote.answer, quote.answer_note, quote.status) == ("accept", "周六来签", "draft")
    events = db.session.scalars(
        select(LeadEvent).where(LeadEvent.lead_id == quote.lead_id, LeadEvent.kind == "quote_yes")
    ).all()
    assert len(events) == 1 and "周六来签" in events[0].note
    (note,) = db.session.scalars(
        select(Notification).where(
            Notification.user_id == advisor.id, Notification.text.contains("quote v1")
        )
    )
    assert "accepts quote v1" in note.text and note.link == f"/admin/quotes/{quote.id}"
    page = client.get(f"/q/{token}").get_data(as_text=True)
    assert 'id="quote-answered"' in page and 'id="quote-answer"' not in page


def test_call_me_is_recorded(client, sale, db):
    _advisor, quote, _other = sale
    r = client.post(f"/q/{quote_links.link_token(quote)}", data={"answer": "call"})
    assert r.status_code == 303
    kinds = db.session.scalars(select(LeadEvent.kind).where(LeadEvent.lead_id == quote.lead_id))
    assert "quote_call_me" in list(kinds)


def test_a_bad_answer_changes_nothing(client, sale, db):
    _advisor, quote, _other = sale
    token = quote_links.link_token(quote)
    r = client.post(f"/q/{token}", data={"answer": "maybe"})
    assert r.status_code == 400 and 'id="quote-error"' in r.get_data(as_text=True)
    r = client.post(f"/q/{token}", data={"answer": "accept", "note": "x" * 501})
    assert r.status_code == 400
    assert db.session.get(Quote, quote.id).answer is None


def _forged(token: str, quote_id: int) -> str:
    """Return the token with its payload's id changed and its signature kept."""
    payload, *rest = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["q"] = quote_id
    changed = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return ".".join([changed, *rest])


def test_a_tampered_or_foreign_link_gets_a_clear_page(client, sale, db, app):
    _advisor, quote, other = sale
    token = quote_links.link_token(quote)
    with app.test_request_context():
        inspection_style = signed_links.sign("m4s.inspection.link", "q", other.id)
    for bad in (
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # a changed signature
        _forged(token, other.id),  # another customer's quote id in this customer's link
        inspection_style,  # signed by us, for another purpose
        "nonsense",
    ):
        for r in (client.get(f"/q/{bad}"), client.post(f"/q/{bad}", data={"answer": "accept"})):
            page = r.get_data(as_text=True)
            assert r.status_code == 404, bad
            assert "This quote link is not valid" in page
            assert "凯美瑞" not in page and "汉EV" not in page
    assert db.session.scalar(select(func.count()).where(Quote.answer.is_not(None))) == 0


def test_an_expired_link_says_so(client, sale, db, app):
    _advisor, quote, _other = sale
    days = app.config["QUOTE_LINK_DAYS"]

    class SignedLongAgo(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - days * 86400 - 5

    old = URLSafeTimedSerializer(
        app.config["SECRET_KEY"], salt=quote_links.SALT, signer=SignedLongAgo
    )
    token = old.dumps({"q": quote.id})
    with pytest.raises(Gone):
        quote_links.quote_from_link(token)
    r = client.get(f"/q/{token}")
    assert r.status_code == 410 and "expired" in r.get_data(as_text=True)
    r = client.post(f"/q/{token}", data={"answer": "accept"})
    assert r.status_code == 410
    assert db.session.get(Quote, quote.id).answer is None


def test_a_quote_past_its_validity_can_no_longer_be_answered(client, sale, db, clock):
    _advisor, quote, _other = sale
    token = quote_links.link_token(quote)
    clock.advance(days=quote_svc.VALID_DAYS + 2)
    page = client.get(f"/q/{token}").get_data(as_text=True)
    assert 'id="quote-closed"' in page and 'id="quote-answer"' not in page
    r = client.post(f"/q/{token}", data={"answer": "accept"})
    assert r.status_code == 410 and "can no longer be answered" in r.get_data(as_text=True)
    assert db.session.get(Quote, quote.id).answer is None


def test_a_replaced_quote_points_to_the_advisor(client, sale, db):
    advisor, quote, _other = sale
    token = quote_links.link_token(quote)
    quote_svc.make_quote(advisor, quote.lead, CAR)
    db.session.commit()
    r = client.get(f"/q/{token}")
    assert r.status_code == 410 and "A newer quote replaced this one" in r.get_data(as_text=True)


def test_two_answers_at_once_record_one(app, sale, db):
    advisor, quote, _other = sale
    quote_id = quote.id

    def answer():
        quote_links.answer(ext_db.session.get(Quote, quote_id), "accept")
        return "ok"

    results = at_once(app, answer, 3)
    assert results.count("ok") == 1, results
    assert (
        db.session.scalar(select(func.count(LeadEvent.id)).where(LeadEvent.kind == "quote_yes"))
        == 1
    )
    assert (
        db.session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == advisor.id, Notification.text.contains("quote v1")
            )
        )
        == 1
    )


def test_trade_in_and_finance_are_checked(sale, db):
    advisor, quote, _other = sale
    lead = quote.lead
    base = {"brand": "丰田", "series": "凯美瑞", "vehicle_fen": 100_000_00}
    for bad in (
        {"trade_in_fen": 100_000_01, "trade_in_car": "旧车"},  # more than the total
        {"trade_in_fen": 10_000_00},  # which car?
        {"finance_months": 36, "finance_down_fen": 10_000_00},  # no instalment
        {"finance_months": 7, "finance_monthly_fen": 100_00},  # not a term we offer
        {"finance_down_fen": 10_000_00, "finance_monthly_fen": 100_00},  # no term
        {"finance_months": 12, "finance_down_fen": 100_000_01, "finance_monthly_fen": 1},
    ):
        with pytest.raises(ValidationError):
            quote_svc.make_quote(advisor, lead, quote_svc.Draft(**base, **bad))


def test_the_advisor_sends_it_from_the_quote_page(client, auth, sale, db):
    advisor, quote, _other = sale
    auth.login(advisor)
    page = client.get(f"/admin/quotes/{quote.id}").get_data(as_text=True)
    assert 'id="send-quote"' in page and "¥147,000.00" in page
    r = client.post(f"/admin/quotes/{quote.id}/send")
    assert r.status_code == 303
    assert db.session.scalar(select(func.count(OutboxMessage.id))) >= 1
    page = client.get(f"/admin/quotes/{quote.id}").get_data(as_text=True)
    assert 'id="quote-sent"' in page
    data = db.session.scalar(select(OutboxMessage.data).limit(1))
    link = re.search(r"/q/[\w.-]+", data["link"])
    assert link and client.get(link.group(0)).status_code == 200


def test_the_quote_form_takes_trade_in_and_finance(client, auth, sale, db):
    advisor, quote, _other = sale
    auth.login(advisor)
    r = client.post(
        f"/admin/quotes/new/{quote.lead_id}",
        data={
            "brand": "比亚迪", "series": "汉EV", "vehicle_price": "200000",
            "trade_in_car": "大众 朗逸", "trade_in": "50000",
            "finance_months": "24", "finance_down": "30000", "finance_monthly": "5000.5",
        },
    )  # fmt: skip
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    made = db.session.scalar(select(Quote).order_by(Quote.id.desc()).limit(1))
    assert (made.trade_in_fen, made.trade_in_car, made.due_fen) == (
        50_000_00,
        "大众 朗逸",
        150_000_00,
    )
    assert (made.finance_months, made.finance_down_fen, made.finance_monthly_fen) == (
        24, 30_000_00, 5_000_50,
    )  # fmt: skip


def test_not_found_is_raised_for_a_deleted_quote(app, sale, db):
    with app.test_request_context():
        token = signed_links.sign(quote_links.SALT, "q", 999_999)
    with pytest.raises(NotFound):
        quote_links.quote_from_link(token)
