"""Campaign responders: the per-recipient tracked link (a click counted once, however often it
is opened or replayed), the offer page's "call me" that becomes a routed lead, SMS replies
through the provider's webhook (TD withdraws consent, anything else is a reply and a lead, a
provider's retry counts once), a booking after a click, and the funnel on the campaign page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from crm import campaign_responses, campaign_sending, campaigns
from crm.campaign_models import (
    BOOKING,
    DETAILS,
    REPLY,
    SKIPPED,
    UNSUBSCRIBE,
    CampaignResponse,
    CampaignSend,
)
from crm.models import FIRST_CONTACT, Lead, Task
from portal import signed_links
from portal.models import Notification, OutboxMessage, User
from portal.services import consent
from tests.crm.campaign_data import campaign, consent_to, customers
from tests.crm.test_campaigns import DAYTIME
from tests.threads import at_once

TOKEN = "inbound-secret-token"


@pytest.fixture
def sms_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_PROVIDER", "gateway")
    monkeypatch.setitem(app.config, "SMS_INBOUND_TOKEN", TOKEN)


def _sent(f, db, clock, channels=("inapp", "sms"), n=4):
    clock.now = DAYTIME
    store = f.store()
    manager = f.manager(store)
    advisor = f.advisor(store)
    ids = customers(store, n)
    for channel in channels:
        consent_to(ids, channel)
    c = campaigns.start(manager, campaign(manager, store, channels, holdout=0, name="冬季保养"))
    db.session.commit()
    campaign_sending.queue_due()
    return store, advisor, c, ids


def _send(db, campaign_id, customer_id, channel):
    return db.session.scalar(
        select(CampaignSend).where(
            CampaignSend.campaign_id == campaign_id,
            CampaignSend.customer_id == customer_id,
            CampaignSend.channel == channel,
        )
    )


def _responses(db, kind=None):
    stmt = select(CampaignResponse).order_by(CampaignResponse.id)
    if kind:
        stmt = stmt.where(CampaignResponse.kind == kind)
    return db.session.scalars(stmt).all()


def test_each_message_carries_the_recipients_own_tracked_link(f, db, clock, sms_on):
    _store, _advisor, c, ids = _sent(f, db, clock)
    texts = db.session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == ids[0]))
    (sms,) = [m for m in texts if m.channel == "sms"]
    send = _send(db, c.id, ids[0], "sms")
    # The link is signed with the time it was made: read it back rather than sign it again (a
    # second later the signature differs).
    token = re.search(r"/c/([A-Za-z0-9_.-]+)", sms.body).group(1)
    assert campaign_responses.send_for(token).id == send.id
    assert "/unsubscribe/" in sms.body  # the one-tap unsubscribe stays
    note = db.session.scalar(select(Notification).where(Notification.user_id == ids[1]))
    inapp = _send(db, c.id, ids[1], "inapp")
    assert note.link.startswith("/c/")
    assert campaign_responses.send_for(note.link.removeprefix("/c/")).id == inapp.id


def test_a_click_is_counted_once_however_often_the_link_is_opened(f, db, clock, client):
    _store, _advisor, c, ids = _sent(f, db, clock, channels=("inapp",))
    send = _send(db, c.id, ids[0], "inapp")
    path = campaign_responses.click_path(send.id)
    first = client.get(path)
    assert first.status_code == 303 and first.headers["Location"].endswith(path + "/offer")
    db.session.refresh(send)
    clicked_at = send.clicked_at
    assert clicked_at is not None
    clock.advance(hours=2)
    replay = client.get(path)  # the same link again, later: nothing changes
    assert replay.status_code == 303
    db.session.refresh(send)
    assert send.clicked_at == clicked_at
    progress = campaign_sending.progress(c)
    assert campaign_responses.funnel(c, progress, 0).clicked == 1
    page = client.get(path + "/offer")
    assert page.status_code == 200 and "保养季九折" in page.get_data(as_text=True)


def test_a_forged_or_foreign_token_counts_nothing(f, db, clock, client):
    _store, _advisor, c, ids = _sent(f, db, clock, channels=("inapp",))
    send = _send(db, c.id, ids[0], "inapp")
    forged = campaign_responses.click_token(send.id)[:-3] + "abc"
    other_purpose = signed_links.sign("m4s-inspection-link", "send", send.id)
    assert client.get("/c/" + forged).status_code == 404
    assert client.get("/c/" + other_purpose).status_code == 404
    assert client.get(f"/c/{other_purpose}/offer").status_code == 404
    db.session.refresh(send)
    assert send.clicked_at is None


def test_clicks_racing_on_one_link_are_one_click(app, f, db, clock):
    _store, _advisor, c, ids = _sent(f, db, clock, channels=("inapp",))
    send_id = _send(db, c.id, ids[0], "inapp").id

    def click():
        return campaign_responses.record_click(
            campaign_responses.send_for(campaign_responses.click_token(send_id))
        )

    results = at_once(app, click, 4)
    assert sorted(results) == [False, False, False, True], results


def test_asking_to_be_called_makes_one_routed_lead_with_the_campaign_as_source(
    f, db, clock, client
):
    store, advisor, c, ids = _sent(f, db, clock, channels=("inapp",))
    send = _send(db, c.id, ids[0], "inapp")
    path = campaign_responses.click_path(send.id) + "/offer"
    page = client.get(path)
    assert page.status_code == 200 and 'id="offer-call-me"' in page.get_data(as_text=True)
    assert 'id="offer-unsubscribe"' in page.get_data(as_text=True)
    done = client.post(path, data={"note": "想了解冬季保养套餐"})
    assert done.status_code == 303
    again = client.post(path, data={"note": "再问一次"})  # a second tap: still one request
    assert again.status_code == 200 and 'id="offer-asked"' in again.get_data(as_text=True)
    (response,) = _responses(db, DETAILS)
    lead = db.session.get(Lead, response.lead_id)
    assert (lead.customer_id, lead.store_id, lead.source) == (ids[0], store.id, "campaign")
    assert (lead.utm_medium, lead.utm_campaign) == ("inapp", c.name)
    assert lead.advisor_id == advisor.id  # routed to a named person
    task = db.session.scalar(select(Task).where(Task.lead_id == lead.id))
    assert task.kind == FIRST_CONTACT and task.owner_id == advisor.id
    assert "想了解冬季保养套餐" in lead.note
    too_long = client.post(
        campaign_responses.click_path(_send(db, c.id, ids[1], "inapp").id) + "/offer",
        data={"note": "长" * 501},
    )
    assert too_long.status_code == 400 and len(_responses(db, DETAILS)) == 1


def _aliyun(client, phone, content, seq, token=TOKEN):
    body = [
        {
            "phone_number": phone,
            "send_time": "2026-12-03 10:30:00",
            "content": content,
            "sign_name": "M4S",
            "dest_code": "1",
            "sequence_id": seq,
        }
    ]
    return client.post(f"/crm/sms/inbound/aliyun?token={token}", json=body)


def test_an_sms_reply_is_recorded_once_and_becomes_a_lead(f, db, clock, client, sms_on):
    store, advisor, c, ids = _sent(f, db, clock)
    phone = db.session.get(User, ids[2]).phone
    answer = _aliyun(client, phone, "周六上午可以来保养吗？", 9001)
    assert answer.status_code == 200 and answer.get_json() == {"code": 0, "msg": "成功"}
    assert _aliyun(client, phone, "周六上午可以来保养吗？", 9001).status_code == 200  # retry
    (reply,) = _responses(db, REPLY)
    assert (reply.campaign_id, reply.customer_id) == (c.id, ids[2])
    assert reply.send_id == _send(db, c.id, ids[2], "sms").id
    lead = db.session.get(Lead, reply.lead_id)
    assert (lead.source, lead.utm_medium, lead.advisor_id) == ("campaign", "sms", advisor.id)
    assert db.session.scalar(select(func.count(Lead.id))) == 1
    steps = campaign_responses.funnel(c, campaign_sending.progress(c), 0)
    assert (steps.replied, steps.leads) == (1, 1)


def test_a_td_reply_withdraws_sms_consent_for_the_next_message(f, db, clock, client, sms_on):
    store, _advisor, c, ids = _sent(f, db, clock)
    phone = db.session.get(User, ids[1]).phone
    tencent = {"extend": "", "mobile": phone, "nationcode": "86", "sign": "M4S"}
    answer = client.post(
        "/crm/sms/inbound/tencent",
        json={**tencent, "text": " 退订 ", "time": 1764750000},
        headers={"X-M4S-Token": TOKEN},
    )
    assert answer.status_code == 200 and answer.get_json()["result"] == 0
    assert consent.consents(ids[1])["sms"] is False
    assert consent.consents(ids[1])["inapp"] is True  # only the channel it came on
    (stop,) = _responses(db, UNSUBSCRIBE)
    assert stop.lead_id is None and stop.campaign_id == c.id
    assert db.session.scalar(select(func.count(Lead.id))) == 0
    manager = f.manager(store)
    later = campaigns.start(manager, campaign(manager, store, ("sms",), holdout=0, name="下一次"))
    db.session.commit()
    assert _send(db, later.id, ids[1], "sms") is None  # no longer in the audience on SMS
    consent.set_consent(ids[0], "sms", False, source="unsubscribe")  # after the snapshot
    db.session.commit()
    campaign_sending.queue_due()
    assert _send(db, later.id, ids[0], "sms").status == SKIPPED
    assert campaign_responses.is_stop("td") and campaign_responses.is_stop("TD。")
    assert not campaign_responses.is_stop("TD可以改约吗")


def test_the_webhook_refuses_a_wrong_token_and_bad_bodies(f, db, clock, client, app, sms_on):
    _sent(f, db, clock, channels=("inapp",))
    assert _aliyun(client, "15900000000", "hi", 1, token="wrong").status_code == 403
    bad = client.post(f"/crm/sms/inbound/aliyun?token={TOKEN}", json=[{"phone": "x"}])
    assert bad.status_code == 400
    assert client.post(f"/crm/sms/inbound/aliyun?token={TOKEN}", data="x").status_code == 400
    assert client.post(f"/crm/sms/inbound/nokia?token={TOKEN}", json={}).status_code == 404
    unknown = _aliyun(client, "13900000000", "hello", 2)  # nobody we know: ignored
    assert unknown.status_code == 200 and _responses(db) == []
    staff = f.advisor(f.store())
    assert _aliyun(client, staff.phone, "hello", 4).status_code == 200
    assert _responses(db) == []  # a colleague's number is no customer's reply
    app.config["SMS_INBOUND_TOKEN"] = ""
    assert _aliyun(client, "15900000000", "hi", 3, token="").status_code == 404


def test_a_click_then_a_booking_in_the_window_makes_one_lead(app, f, db, clock, client):
    store, _advisor, c, ids = _sent(f, db, clock, channels=("inapp",))
    send = _send(db, c.id, ids[0], "inapp")
    f.booking(db.session.get(User, ids[1]), store, days=2)  # booked without a click: no lead
    client.get(campaign_responses.click_path(send.id))
    clock.advance(hours=1)
    f.booking(db.session.get(User, ids[0]), store, days=2)
    results = at_once(app, campaign_responses.leads_from_bookings, 3)
    assert sorted(results) == [0, 0, 1], results
    assert campaign_responses.leads_from_bookings() == 0
    (booked,) = _responses(db, BOOKING)
    assert booked.customer_id == ids[0] and booked.lead_id is not None
    assert campaign_responses.funnel(c, campaign_sending.progress(c), 0).bookings == 2


def test_the_campaign_page_draws_the_response_funnel(f, db, clock, client, auth):
    store, _advisor, c, ids = _sent(f, db, clock, channels=("inapp",))
    for customer_id in ids[:2]:
        client.get(campaign_responses.click_path(_send(db, c.id, customer_id, "inapp").id))
    manager = f.manager(store)
    auth.login(manager)
    page = client.get(f"/admin/campaigns/{c.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="campaign-funnel-chart"' in html
    assert 'id="funnel-sent">4<' in html and 'id="funnel-clicked">2<' in html


def test_the_demo_has_a_finished_campaign_with_clicks_replies_and_leads(db, clock):
    from crm.campaign_models import Campaign
    from crm.demo_marketing import WINTER_NAME, load_marketing_demo
    from crm.demo_responses import load_responses_demo
    from portal.demo import load_demo

    clock.now = DAYTIME.replace(hour=15)  # 23:00 in Shanghai: the batches wait for the morning
    load_demo(owners=150)
    db.session.commit()
    load_marketing_demo()
    db.session.commit()
    found = load_responses_demo()
    db.session.commit()
    assert load_responses_demo() == {"responses": 0}  # once
    winter = db.session.scalar(select(Campaign).where(Campaign.name == WINTER_NAME))
    assert winter.status == "done"
    steps = campaign_responses.funnel(winter, campaign_sending.progress(winter), 0)
    assert steps.clicked == found["clicks"] > 0
    assert steps.replied >= 2 and steps.leads == found["leads"] >= 4
    assert _responses(db, UNSUBSCRIBE)  # one replied TD
    leads = db.session.scalars(select(Lead).where(Lead.source == "campaign")).all()
    assert len(leads) == steps.leads and all(lead.advisor_id for lead in leads)


def test_the_customers_timeline_shows_the_campaign_and_the_answers_to_its_store_only(
    f, db, clock, client, auth, sms_on
):
    from crm import leads as lead_svc
    from crm.models import PHONE

    store, advisor, c, ids = _sent(f, db, clock)
    customer = db.session.get(User, ids[1])
    clock.advance(minutes=10)
    client.get(campaign_responses.click_path(_send(db, c.id, customer.id, "inapp").id))
    clock.advance(minutes=10)
    assert _aliyun(client, customer.phone, "下周二想来做保养", 9101).status_code == 200
    other = f.store()  # a store the customer also asked, which did not run the campaign
    lead_svc.capture(
        lead_svc.Inquiry(name=customer.name, phone=customer.phone, store=other, source=PHONE)
    )
    db.session.commit()

    auth.login(f.manager(store))
    page = client.get(f"/admin/crm_customers/{customer.id}").get_data(as_text=True)
    timeline = page.split('id="customer-timeline"')[1]
    for words in (
        "冬季保养",
        "Sent by SMS",
        "Sent in the app",
        "Opened the offer",
        "Replied by SMS",
        "下周二想来做保养",
    ):
        assert words in timeline, words
    reply = _responses(db, REPLY)[0]
    assert f"/admin/leads/{reply.lead_id}" in timeline  # the reply's lead is one tap away
    assert timeline.index("Replied by SMS") < timeline.index("Sent by SMS")  # newest first
    auth.logout()

    auth.login(f.manager(other))  # sees the customer through its own lead, not the campaign
    page = client.get(f"/admin/crm_customers/{customer.id}")
    timeline = page.get_data(as_text=True).split('id="customer-timeline"')[1]
    assert page.status_code == 200
    assert "冬季保养" not in timeline and "下周二想来做保养" not in timeline
