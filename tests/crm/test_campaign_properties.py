"""Property tests over random audiences: nobody without consent gets a message, nobody goes
over the monthly cap, the holdout gets nothing and is the hashed, stable, ~right-sized part."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from crm import campaign_variants, campaigns
from crm.campaign_models import CampaignMember, CampaignSend
from portal.models import MarketingConsent
from portal.timeutil import now
from tests import factories
from tests.crm.campaign_data import campaign, customers, set_cap

CHANNELS = ("inapp", "email")

audience = st.fixed_dictionaries(
    {
        "people": st.lists(
            st.fixed_dictionaries(
                {
                    "consents": st.sets(st.sampled_from(CHANNELS)),
                    "withdrawn": st.sets(st.sampled_from(CHANNELS)),
                    # earlier marketing sends: (days ago, skipped?)
                    "history": st.lists(st.tuples(st.integers(0, 60), st.booleans()), max_size=4),
                }
            ),
            min_size=1,
            max_size=40,
        ),
        "cap": st.integers(0, 4),
        "holdout": st.integers(0, 50),
        "channels": st.sets(st.sampled_from(CHANNELS), min_size=1),
    }
)


@settings(
    max_examples=int(__import__("os").environ.get("M4S_PROPERTY_CASES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=audience)
def test_consent_cap_and_holdout_hold_for_any_audience(db, clock, case):
    from tests.crm.test_campaigns import DAYTIME

    clock.now = DAYTIME
    store = factories.store()
    manager = factories.manager(store)
    people = case["people"]
    ids = customers(store, len(people))
    consents = {}
    rows = []
    for i, person in zip(ids, people, strict=True):
        on = person["consents"] - person["withdrawn"]
        consents[i] = on
        for ch in person["consents"]:
            withdrawn = now() if ch in person["withdrawn"] else None
            rows.append(
                {"user_id": i, "channel": ch, "granted_at": now(), "withdrawn_at": withdrawn}
            )
    if rows:
        db.session.execute(insert(MarketingConsent), rows)
    recent = _history(db, manager, store, ids, people)
    set_cap(case["cap"])
    c = campaigns.start(
        manager, campaign(manager, store, tuple(sorted(case["channels"])), holdout=case["holdout"])
    )
    db.session.commit()
    members = dict(
        db.session.execute(
            select(CampaignMember.customer_id, CampaignMember.holdout).where(
                CampaignMember.campaign_id == c.id
            )
        ).all()
    )
    sent = Counter()
    for customer, channel in db.session.execute(
        select(CampaignSend.customer_id, CampaignSend.channel).where(
            CampaignSend.campaign_id == c.id
        )
    ):
        assert channel in consents[customer], "a message without consent on its channel"
        assert members[customer] is False, "a message to the holdout"
        sent[customer] += 1
    for customer in ids:
        wanted = consents[customer] & case["channels"]
        assert (customer in members) == bool(wanted)
        if customer in members:
            assert members[customer] == (
                campaign_variants.holdout_bucket(c.id, customer) < case["holdout"]
            )
        room = max(0, case["cap"] - recent[customer])
        expected = 0 if members.get(customer, True) else min(len(wanted), room)
        assert sent[customer] == expected, "over the cap, or left out with room under it"
        assert recent[customer] + sent[customer] <= max(case["cap"], recent[customer])


def _history(db, manager, store, ids, people) -> Counter:
    """Earlier campaigns' sends; return each customer's count within the cap's 30 days."""
    earlier = [campaign(manager, store, ("inapp",), name=f"早{k}").id for k in range(4)]
    rows, recent = [], Counter()
    for i, person in zip(ids, people, strict=True):
        for k, (days, skipped) in enumerate(person["history"]):
            rows.append(
                {
                    "campaign_id": earlier[k],
                    "customer_id": i,
                    "channel": "inapp",
                    "status": "skipped" if skipped else "queued",
                    "created_at": now() - timedelta(days=days, hours=1),
                }
            )
            if days < 30 and not skipped:
                recent[i] += 1
    if rows:
        db.session.execute(insert(CampaignSend), rows)
    db.session.commit()
    return recent


def test_the_holdout_is_stable_uniform_and_the_right_size():
    customers_ = range(1, 20_001)
    for campaign_id in (1, 2, 77, 2**31 - 1):
        buckets = Counter(campaign_variants.holdout_bucket(campaign_id, i) for i in customers_)
        assert set(buckets) == set(range(100))
        assert max(buckets.values()) < 1.25 * 200 and min(buckets.values()) > 0.75 * 200
        share = sum(buckets[b] for b in range(10)) / 20_000
        assert 0.09 < share < 0.11
        again = [campaign_variants.holdout_bucket(campaign_id, i) for i in (5, 500, 5000)]
        assert again == [campaign_variants.holdout_bucket(campaign_id, i) for i in (5, 500, 5000)]
    one = {i for i in customers_ if campaign_variants.holdout_bucket(1, i) < 10}
    two = {i for i in customers_ if campaign_variants.holdout_bucket(2, i) < 10}
    assert len(one & two) < 0.2 * len(one)  # each campaign draws its own holdout


def test_the_database_and_python_agree_on_every_bucket(f, db, clock):
    from tests.crm.test_campaigns import DAYTIME

    clock.now = DAYTIME
    store = f.store()
    manager = f.manager(store)
    ids = customers(store, 300)
    db.session.execute(
        insert(MarketingConsent),
        [{"user_id": i, "channel": "inapp", "granted_at": now()} for i in ids],
    )
    c = campaigns.start(manager, campaign(manager, store, ("inapp",), holdout=30))
    held = set(
        db.session.scalars(
            select(CampaignMember.customer_id).where(
                CampaignMember.campaign_id == c.id, CampaignMember.holdout.is_(True)
            )
        )
    )
    assert held == {i for i in ids if campaign_variants.holdout_bucket(c.id, i) < 30}
    assert 0.2 < len(held) / 300 < 0.4
