"""Campaign A/B tests: the snapshot splits the reached audience stably (the SQL and variant_of
agree), each member gets their variant's text (variant A where B has none on a channel), the
offer page shows the member's variant, an incomplete test is refused whole, the comparison has
the known answer, and the manager writes, sends and reads one in the back office."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from crm import campaign_sending, campaign_variants, campaigns, returns
from crm.campaign_models import (
    DELIVERED,
    DONE,
    Campaign,
    CampaignMember,
    CampaignMessage,
    CampaignSend,
)
from crm.returns import Comparison, Group
from portal.errors import ValidationError
from portal.models import Notification, OutboxMessage
from portal.timeutil import now
from tests.crm.campaign_data import EVERYONE, TEXT, consent_to, customers
from tests.crm.test_campaigns import DAYTIME
from tests.crm.test_returns import order

TEXT_B = {"body_zh": "{name}您好，本周到店保养送洗车。", "body_en": "Hello {name}, a free wash."}


def ab_campaign(manager, store, channels=("inapp",), b_channels=("inapp",), b_pct=50, holdout=10):
    segment = campaigns.save_segment(manager, store, "A/B 人群", EVERYONE)
    draft = campaigns.Draft(
        name="保养季 A/B",
        segment=segment,
        texts={c: dict(TEXT) for c in channels},
        texts_b={c: dict(TEXT_B) for c in b_channels},
        variant_b_pct=b_pct,
        unit_costs={c: 5 for c in channels},
        holdout_pct=holdout,
    )
    return campaigns.create_campaign(manager, draft)


def test_the_snapshot_splits_the_reached_stably_and_each_gets_its_variants_text(f, db, clock):
    clock.now = DAYTIME
    store = f.store()
    manager = f.manager(store)
    ids = customers(store, 400)
    consent_to(ids, "inapp")
    consent_to(ids, "email")
    c = ab_campaign(manager, store, channels=("inapp", "email"), b_channels=("inapp",))
    db.session.commit()
    assert {(m.channel, m.variant) for m in c.messages} == {
        ("inapp", "a"),
        ("inapp", "b"),
        ("email", "a"),
    }
    campaigns.start(manager, c)
    db.session.commit()
    members = db.session.execute(
        select(CampaignMember.customer_id, CampaignMember.holdout, CampaignMember.variant).where(
            CampaignMember.campaign_id == c.id
        )
    ).all()
    assert len(members) == 400
    for customer_id, holdout, variant in members:  # the SQL and the Python agree, member by member
        assert variant == campaign_variants.variant_of(c, customer_id)
        assert (variant is None) == holdout
    reached = [v for _id, h, v in members if not h]
    assert abs(reached.count("b") - len(reached) / 2) <= len(reached) * 0.1
    assert campaign_sending.queue_due() == 2 * len(reached)  # two channels, no holdout sends
    variant = {i: v for i, _h, v in members}
    notes = db.session.execute(select(Notification.user_id, Notification.text)).all()
    assert len(notes) == len(reached)
    for user_id, text in notes:
        wanted = "送洗车" if variant[user_id] == "b" else "保养季九折"
        assert wanted in text, (variant[user_id], text)
    mails = db.session.execute(
        select(OutboxMessage.user_id, OutboxMessage.body).where(OutboxMessage.channel == "email")
    ).all()
    assert {variant[u] for u, _b in mails} == {"a", "b"}
    assert all("保养季九折" in body for _u, body in mails)  # email has no B text: A for everyone


def test_the_offer_page_shows_the_members_own_variant(f, db, clock, client):
    from crm import campaign_responses

    clock.now = DAYTIME
    store = f.store()
    manager = f.manager(store)
    ids = customers(store, 60)
    consent_to(ids, "inapp")
    c = ab_campaign(manager, store, holdout=0)
    db.session.commit()
    campaigns.start(manager, c)
    db.session.commit()
    campaign_sending.queue_due()
    pages = {}
    for variant in ("a", "b"):
        member = db.session.scalar(
            select(CampaignMember.customer_id).where(
                CampaignMember.campaign_id == c.id, CampaignMember.variant == variant
            )
        )
        send = db.session.scalar(select(CampaignSend).where(CampaignSend.customer_id == member))
        opened = client.get(campaign_responses.click_path(send.id), follow_redirects=True)
        pages[variant] = opened.get_data(as_text=True)
    assert "保养季九折" in pages["a"] and "送洗车" not in pages["a"]
    assert "送洗车" in pages["b"] and "保养季九折" not in pages["b"]


@pytest.mark.parametrize(
    ("b_channels", "b_pct", "field"),
    [
        (("inapp",), 0, "variant_b_pct"),  # B written, nobody to get it
        ((), 30, "body_b"),  # a share, no B text
        (("sms",), 30, "body_b"),  # B on a channel A does not use
        (("inapp",), 95, "variant_b_pct"),  # more than 90 %
    ],
)
def test_an_incomplete_ab_test_is_refused_and_writes_nothing(f, db, b_channels, b_pct, field):
    store = f.store()
    manager = f.manager(store)
    with pytest.raises(ValidationError) as refused:
        ab_campaign(manager, store, b_channels=b_channels, b_pct=b_pct)
    assert refused.value.field == field
    db.session.rollback()
    assert db.session.scalar(select(func.count(Campaign.id))) == 0
    assert db.session.scalar(select(func.count(CampaignMessage.id))) == 0


def test_the_comparison_has_the_known_answer():
    clear = Comparison(Group(100, 10, 0), Group(100, 25, 0))
    assert clear.diff_points == pytest.approx(15.0)
    # pooled 17.5 %: se = sqrt(.175 * .825 * (1/100 + 1/100)) = 0.053735; z = 2.7915
    assert clear.p_value == pytest.approx(0.005247, abs=2e-5)
    assert clear.winner == "b"
    assert Comparison(Group(100, 25, 0), Group(100, 10, 0)).winner == "a"
    small = Comparison(Group(20, 2, 0), Group(20, 4, 0))  # twice the rate, but 20 each
    assert small.p_value > 0.05 and small.winner is None
    assert Comparison(Group(50, 0, 0), Group(50, 0, 0)).p_value is None  # nobody converted
    assert Comparison(Group(0, 0, 0), Group(10, 1, 0)).winner is None


def test_the_measured_return_splits_the_reached_group_by_variant(f, db):
    store = f.store()
    manager = f.manager(store)
    ids = customers(store, 50)
    c = ab_campaign(manager, store)
    sent = now() - timedelta(days=2)
    c.status, c.sent_at, c.window_days = DONE, sent, 14
    holdout, a, b = ids[:10], ids[10:30], ids[30:]
    rows = [{"customer_id": i, "holdout": True, "variant": None} for i in holdout]
    rows += [{"customer_id": i, "holdout": False, "variant": "a"} for i in a]
    rows += [{"customer_id": i, "holdout": False, "variant": "b"} for i in b]
    db.session.execute(insert(CampaignMember), [{"campaign_id": c.id, **r} for r in rows])
    db.session.execute(
        insert(CampaignSend),
        [
            {"campaign_id": c.id, "customer_id": i, "channel": "inapp", "status": DELIVERED}
            for i in a + b
        ],
    )
    for i in holdout[:1] + a[:3] + b[:9]:
        order(db, i, store, sent + timedelta(days=1))
    db.session.commit()
    result = returns.measure(c)
    assert (result.reached.size, result.reached.converted) == (40, 12)  # A and B together
    ab = result.comparison
    assert (ab.a.size, ab.a.converted, ab.b.size, ab.b.converted) == (20, 3, 20, 9)
    assert ab.a.revenue_fen == 30_000 and ab.b.revenue_fen == 90_000
    assert ab.diff_points == pytest.approx(30.0) and ab.winner == "b"
    assert result.channel_costs == {"inapp": (40, 200)}  # one unit cost, not one per variant


def test_the_manager_writes_sends_and_reads_an_ab_test(f, db, auth, client, clock):
    clock.now = DAYTIME
    store = f.store()
    manager = f.manager(store)
    ids = customers(store, 30)
    consent_to(ids, "inapp")
    segment = campaigns.save_segment(manager, store, "同意站内信", EVERYONE)
    db.session.commit()
    auth.login(manager)
    assert 'id="campaign-ab"' in client.get("/admin/campaigns/new").get_data(as_text=True)
    form = {
        "name": "冬季保养 A/B",
        "segment": str(segment.id),
        "holdout_pct": "10",
        "window_days": "14",
        "cost": "0",
        "inapp-body_zh": "{name}您好，冬季保养九折。",
        "inapp-b-body_zh": "{name}您好，冬季保养送洗车。",
        "variant_b_pct": "abc",
    }
    refused = client.post("/admin/campaigns/new", data=form)
    assert refused.status_code == 422 and "0 to 90" in refused.get_data(as_text=True)
    assert 'value="abc"' in refused.get_data(as_text=True)  # what was typed stays
    assert db.session.scalar(select(func.count(Campaign.id))) == 0
    made = client.post("/admin/campaigns/new", data={**form, "variant_b_pct": "40"})
    assert made.status_code == 303
    c = db.session.scalar(select(Campaign))
    assert c.variant_b_pct == 40 and len(c.messages) == 2
    client.post(f"/admin/campaigns/{c.id}/act", data={"verb": "send"})
    campaign_sending.queue_due()
    page = client.get(f"/admin/campaigns/{c.id}").get_data(as_text=True)
    assert 'id="campaign-ab-verdict"' in page and "No winner yet" in page  # nobody converted
    assert page.count('class="campaign-variant"') == 2 and "Variant B" in page
    assert "40% get variant B" in page
