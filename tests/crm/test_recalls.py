"""Recall notices: a VIN list checked line by line (refused whole, each bad line named), its
owners at the store counted, and the notice sent to every affected owner the store can reach,
whatever their marketing consent, with no holdout and without using the marketing cap."""

from __future__ import annotations

import io
from collections import Counter

from sqlalchemy import func, select

from crm import campaign_sending, campaigns, recalls
from crm.campaign_models import Campaign, CampaignSend, RecallList, RecallVin
from portal.models import Notification, OutboxMessage
from portal.services import consent
from tests.crm.campaign_data import campaign, set_cap
from tests.crm.test_campaigns import DAYTIME


def csv_of(*lines: str) -> dict:
    return {"file": (io.BytesIO("\n".join(lines).encode()), "recall.csv")}


def test_a_recall_reaches_every_affected_owner_whatever_their_marketing_choice(
    f, db, auth, client, clock, app, monkeypatch
):
    monkeypatch.setitem(app.config, "SMS_PROVIDER", "gateway")
    clock.now = DAYTIME
    store, other = f.store(), f.store()
    manager = f.manager(store)
    agreed, refused, unaffected = f.owner(store), f.owner(store), f.owner(store)
    elsewhere = f.owner(other)
    consent.set_consent(agreed.id, "sms", True)
    consent.set_consent(refused.id, "sms", False)  # said no to marketing: still told
    cars = [f.vehicle(o) for o in (agreed, refused, unaffected, elsewhere)]
    db.session.commit()
    affected = [cars[0].vin, cars[1].vin.lower(), cars[3].vin, f.vin()]  # one car not ours
    auth.login(manager)
    page = client.post(
        "/admin/recalls/upload",
        data={"name": "S-2026-118", "store": str(store.id), **csv_of("车架号", *affected)},
    )
    assert page.status_code == 303
    recall = db.session.scalar(select(RecallList))
    assert recall.vins == 4 and recalls.affected(recall) == 2  # the other store's owner is not
    shown = client.get(f"/admin/recalls/{recall.id}").get_data(as_text=True)
    assert 'id="recall-owners">2<' in shown
    sent = client.post(
        f"/admin/recalls/{recall.id}/send", data={**recalls.NOTICE, "body_zh": "{name}您好，召回"}
    )
    assert sent.status_code == 303
    campaign = db.session.scalar(select(Campaign))
    assert campaign.builtin == "recall" and campaign.holdout == 0 and campaign.audience == 2
    campaign_sending.queue_due()
    notes = set(db.session.scalars(select(Notification.user_id)))
    assert notes == {agreed.id, refused.id}
    texts = db.session.scalars(
        select(OutboxMessage.recipient).where(OutboxMessage.channel == "sms")
    ).all()
    assert sorted(texts) == sorted([agreed.phone, refused.phone])
    assert (
        db.session.scalar(
            select(func.count(CampaignSend.id)).where(CampaignSend.status == "skipped")
        )
        == 0
    )


def test_a_file_with_a_bad_vin_is_refused_whole_with_the_line_named(f, db, auth, client):
    store = f.store()
    manager = f.manager(store)
    good = f.vin()
    auth.login(manager)
    page = client.post(
        "/admin/recalls/upload",
        data={"name": "S-1", "store": str(store.id), **csv_of("VIN", good, "LSVAB1234IO000000")},
    )
    body = page.get_data(as_text=True)
    assert page.status_code == 422 and 'id="recall-bad-lines"' in body
    assert "<td>3</td>" in body and "I, O or Q" in body  # line 3 of the file, and why
    assert db.session.scalar(select(func.count(RecallList.id))) == 0
    assert db.session.scalar(select(func.count(RecallVin.vin))) == 0
    empty = client.post("/admin/recalls/upload", data={"name": "S-1", "store": str(store.id)})
    assert empty.status_code == 422 and "Choose the file" in empty.get_data(as_text=True)
    nameless = client.post(
        "/admin/recalls/upload", data={"name": " ", "store": str(store.id), **csv_of(good)}
    )
    assert nameless.status_code == 422
    assert db.session.scalar(select(func.count(RecallList.id))) == 0


def test_a_colleague_store_cannot_open_or_send_anothers_recall(f, db, auth, client):
    store, other = f.store(), f.store()
    owner = f.owner(store)
    car = f.vehicle(owner)
    recall = recalls.save_list(f.manager(store), store, "S-9", recalls.check_table([[car.vin]]))
    db.session.commit()
    auth.login(f.manager(other))
    assert client.get(f"/admin/recalls/{recall.id}").status_code == 404
    assert client.post(f"/admin/recalls/{recall.id}/send", data=recalls.NOTICE).status_code == 404
    assert db.session.scalar(select(func.count(Campaign.id))) == 0
    assert "S-9" not in client.get("/admin/recalls/").get_data(as_text=True)


def test_duplicates_and_spacing_are_forgiven_and_a_header_is_optional():
    from portal.validation import vin_check_digit

    base = "LSVAB12340N000001"
    vin = base[:8] + vin_check_digit(base) + base[9:]
    checked = recalls.check_table([[vin], [f" {vin[:4]}-{vin[4:].lower()} "], [vin]])
    assert checked.vins == [vin] and checked.duplicates == 2 and checked.errors == []
    headed = recalls.check_table([["plate", "车架号"], ["粤B12345", vin]])
    assert headed.vins == [vin]


def test_two_taps_on_send_make_one_notice_and_a_day_later_it_may_go_again(app, f, db, clock):
    from tests.threads import at_once

    clock.now = DAYTIME
    store = f.store()
    manager = f.manager(store)
    owner = f.owner(store)
    car = f.vehicle(owner)
    recall = recalls.save_list(manager, store, "S-7", recalls.check_table([[car.vin]]))
    db.session.commit()
    recall_id, manager_id = recall.id, manager.id

    def tap():
        me = db.session.get(type(manager), manager_id)
        return recalls.send_notice(me, db.session.get(RecallList, recall_id), recalls.NOTICE).id

    results = at_once(app, tap, 3)
    assert sum(isinstance(r, int) for r in results) == 1, results
    assert sum("less than a day ago" in str(r) for r in results) == 2, results
    assert db.session.scalar(select(func.count(Campaign.id))) == 1
    clock.advance(days=1, minutes=1)
    again = recalls.send_notice(manager, db.session.get(RecallList, recall_id), recalls.NOTICE)
    db.session.commit()
    assert again.audience == 1 and db.session.scalar(select(func.count(Campaign.id))) == 2


def _recall_owners(f, db, store, manager, n):
    """n owners of the store who consent to marketing in-app and by email, each with a car in
    one recall list."""
    owners = [f.owner(store) for _ in range(n)]
    cars = [f.vehicle(o) for o in owners]
    for o in owners:
        consent.set_consent(o.id, "inapp", True)
        consent.set_consent(o.id, "email", True)
    recall = recalls.save_list(manager, store, "S-9", recalls.check_table([[c.vin] for c in cars]))
    db.session.commit()
    return owners, recall


def _marketing_sends(db, owner_ids, campaign_id):
    return Counter(
        db.session.scalars(
            select(CampaignSend.customer_id).where(
                CampaignSend.campaign_id == campaign_id, CampaignSend.customer_id.in_(owner_ids)
            )
        )
    )


def test_a_recall_notice_takes_no_place_under_the_marketing_cap(f, db, clock):
    clock.now = DAYTIME
    store = f.store()
    manager = f.manager(store)
    owners, recall = _recall_owners(f, db, store, manager, 3)
    ids = [o.id for o in owners]
    set_cap(2)
    notice = recalls.send_notice(manager, recall, recalls.NOTICE)
    db.session.commit()
    assert _marketing_sends(db, ids, notice.id) == dict.fromkeys(ids, 2)  # in-app and email
    # The cap of two marketing messages is whole: the first and the second still go out.
    reached = []
    for name in ("一", "二", "三"):
        clock.advance(minutes=1)
        sent = campaigns.start(manager, campaign(manager, store, ("inapp",), holdout=0, name=name))
        db.session.commit()
        reached.append(_marketing_sends(db, ids, sent.id))
    assert reached == [dict.fromkeys(ids, 1), dict.fromkeys(ids, 1), {}]


def test_a_recall_notice_goes_out_to_owners_whose_marketing_cap_is_used_up(f, db, clock):
    clock.now = DAYTIME
    store = f.store()
    manager = f.manager(store)
    owners, recall = _recall_owners(f, db, store, manager, 2)
    ids = [o.id for o in owners]
    set_cap(1)
    first = campaigns.start(manager, campaign(manager, store, ("inapp",), holdout=0, name="一"))
    db.session.commit()
    assert _marketing_sends(db, ids, first.id) == dict.fromkeys(ids, 1)  # the cap is used up
    clock.advance(minutes=1)
    notice = recalls.send_notice(manager, recall, recalls.NOTICE)
    db.session.commit()
    assert _marketing_sends(db, ids, notice.id) == dict.fromkeys(ids, 2)
    clock.advance(minutes=1)
    after = campaigns.start(manager, campaign(manager, store, ("inapp",), holdout=0, name="二"))
    db.session.commit()
    assert _marketing_sends(db, ids, after.id) == {}  # marketing still stops at the cap
